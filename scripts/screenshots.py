"""Screenshots of the statistics pages for the README, taken in headless Chromium.

Starts the product as the tests do (fake Telegram, a fresh SQLite database in a temporary
folder, nothing leaves the machine), fills it with seeded activity
(`tests/admin/stats_seed.py`) for the last complete reporting year and the months since,
logs in as a province administrator and saves PNGs into docs/screenshots/: the overview,
tips and commune pages and the annual report at desktop size (1280 px wide, the top of each
page), and the overview on a phone. A picture over 350 KB is reduced to 256 colours.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--scale 1.0]

Needs Debian's Chromium (`apt-get install chromium`; see tests/browser.py).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.async_api import FloatRect, Page  # noqa: E402

from bot.migrate import upgrade  # noqa: E402
from bot.models import utcnow  # noqa: E402
from tests.admin.panel import PASSWORD, add_staff  # noqa: E402
from tests.admin.stats_seed import seed_statistics  # noqa: E402
from tests.browser import DESKTOP, PHONE, Viewport, browser_page  # noqa: E402
from tests.harness import running_stack  # noqa: E402

#: The period of the statistics pages shown (the report shows its year).
DAYS = 60


async def _login(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/admin/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(base + "/admin/")


async def _shoot(page: Page, url: str, path: Path, max_height: int) -> None:
    await page.goto(url)
    # every chart decoded before the picture is taken
    await page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )
    height = await page.evaluate("document.documentElement.scrollHeight")
    width = await page.evaluate("document.documentElement.clientWidth")
    clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
    png = await page.screenshot(full_page=True, clip=clip)
    size = await asyncio.to_thread(_save_small, png, path)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"{shown}: {width}×{clip['height']} CSS px, {size // 1024} KB")


def _save_small(png: bytes, path: Path, budget: int = 350_000) -> int:
    """The screenshot, recompressed; in 256 colours (plenty for a page of text and flat
    charts) if it is still over `budget` bytes, so that the README stays light."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.save(path, format="PNG", optimize=True)
    if path.stat().st_size > budget:
        small = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        small.save(path, format="PNG", optimize=True)
    return path.stat().st_size


async def shoot_all(url: str, out: Path, scale: float) -> None:
    async with running_stack(url) as stack:
        runtime = stack.runtime
        await add_staff(runtime.db, "admin", "admin")
        today = utcnow().astimezone(ZoneInfo(runtime.settings.timezone)).date()
        # the last complete reporting year (1 October – 30 September), seeded whole
        year = today.year if today.month >= 10 else today.year - 1
        days = (today - date(year - 1, 10, 1)).days + 1
        seeded = await seed_statistics(runtime, days=days, residents=400)
        print(
            f"seeded: {seeded.residents} residents, {seeded.events} events, "
            f"{seeded.tips} tips, {len(seeded.campaigns)} campaigns"
        )
        period = f"from={(today - timedelta(days=DAYS - 1)).isoformat()}&to={today.isoformat()}"
        shots: list[tuple[Viewport, str, str, int]] = [
            # size, page, file, most CSS pixels of its height shown
            (DESKTOP, f"/admin/stats/overview?{period}", "stats-overview.png", 1150),
            (DESKTOP, f"/admin/stats/tips?{period}", "stats-tips.png", 2000),
            (DESKTOP, f"/admin/stats/communes?{period}&sort=tips", "stats-communes.png", 900),
            (DESKTOP, f"/admin/stats/report?year={year}", "stats-report.png", 1700),
            (PHONE, f"/admin/stats/overview?{period}", "stats-overview-phone.png", 1500),
        ]
        for viewport in (DESKTOP, PHONE):
            async with browser_page(viewport=viewport) as page:
                await _login(page, runtime.url, "admin")
                for size, path, name, height in shots:
                    if size is viewport:
                        await _shoot(page, runtime.url + path, out / name, int(height * scale))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="show more (>1) or less (<1) of each page"
    )
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite+aiosqlite:///{Path(folder) / 'screenshots.sqlite3'}"
        upgrade(database)  # runs its own event loop: before ours
        asyncio.run(shoot_all(database, out, args.scale))
