"""The statistics pages in a real headless Chromium, for every role, on two months of seeded
activity (`tests/admin/stats_seed.py`): what a person would check on each page (heading,
tabs, KPI cards, charts that really drew, tables with figures), the filters, sorting the
commune table, downloads, the masked small tip count, the 403 page, the annual report in
print, and no console error or CSP violation anywhere. The officer uses a phone: nothing may
stick out sideways except a table in its scroll box.

Headings and tabs are found by what they link to, not by their words, so that translating
the labels does not break the tests; the checked headings accept both languages.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import ConsoleMessage, Page, expect

from tests.admin.conftest import Panel
from tests.admin.panel import PASSWORD, QN, QN_DONG
from tests.admin.stats_seed import Seeded, seed_statistics
from tests.browser import DESKTOP, PHONE, browser_page

STATISTICS = re.compile(r"Statistics|Thống kê")
REPORT = re.compile(r"^\s*(REPORT|BÁO CÁO)\s*$")
FORBIDDEN = re.compile(r"You do not have access|Bạn không có quyền")
WEAPONS = re.compile(r"Vũ khí|Weapons")
#: Pages with KPI cards and charts (the commune table has neither).
CHARTED = ("overview", "content", "campaigns", "tips")
ALL_PAGES = ("overview", "content", "campaigns", "tips", "communes")

#: Every element that reaches past the viewport and is not inside a table's scroll box
#: (`.table-scroll`, or a table that scrolls by itself).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const boxed = el => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (e.matches(".table-scroll")) return true;
      if (e.matches("table, figure.chart") && scrolls(e)) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (boxed(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > width + 1 || r.left < -1) {
      const name = `${el.tagName.toLowerCase()}.${el.className}`;
      out.push(`${name} ${Math.round(r.left)}–${Math.round(r.right)}`);
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, out: out.slice(0, 12)};
}"""
CHARTS_JS = """() => Array.from(document.querySelectorAll("figure.chart img")).map(
  i => ({svg: i.src.startsWith("data:image/svg+xml"), done: i.complete, w: i.naturalWidth}))"""
#: Collects CSP violations in the page (the listener is added by Playwright, outside the CSP).
CSP_LISTENER = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  e => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"""


class Console:
    """What the browser complained about: console errors and warnings, page errors, CSP."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern[str]] = []  # the panel has an icon: no 404 for it
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning", "assert"):
            text = f"{message.type}: {message.text} ({message.location.get('url', '')})"
            if not any(p.search(text) for p in self.allowed):
                self.problems.append(text)

    @contextmanager
    def allowing(self, pattern: str) -> Iterator[None]:
        """An expected complaint (the 403 status of a forbidden page)."""
        compiled = re.compile(pattern)
        self.allowed.append(compiled)
        try:
            yield
        finally:
            self.allowed.remove(compiled)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


async def _watch(page: Page) -> Console:
    console = Console(page)
    await page.add_init_script(CSP_LISTENER)
    return console


async def _login(page: Page, base: str, username: str) -> None:
    await page.goto(base + "/admin/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    # the way in: the header's Statistics link
    await page.locator("header.top a[href='/admin/stats']").click()
    await expect(page).to_have_url(re.compile(r"/admin/stats$"))


async def _no_csp_violation(page: Page) -> None:
    assert await page.evaluate("window.__csp") == [], page.url


async def _no_overflow(page: Page) -> None:
    found = await page.evaluate(OVERFLOW_JS)
    assert found["scroll"] <= found["width"] and not found["out"], (page.url, found)


async def _cells(page: Page, table: str, column: int = 0) -> list[str]:
    cells = page.locator(f"section#{table} table.data tbody tr td:nth-child({column + 1})")
    return [t.strip() for t in await cells.all_inner_texts()]


async def _kpis(page: Page) -> dict[str, str]:
    cards = page.locator("dl.kpis > div")
    out = {}
    for i in range(await cards.count()):
        card = cards.nth(i)
        out[(await card.locator("dt").inner_text()).strip()] = (
            await card.locator("dd").inner_text()
        ).strip()
    return out


async def _check_page(page: Page, name: str, tabs: tuple[str, ...]) -> None:
    """Open `name` by its tab and look at it as a person would."""
    await page.locator(f"nav.tabs a[href^='/admin/stats/{name}']").click()
    await expect(page).to_have_url(re.compile(rf"/admin/stats/{name}(\?|$)"))
    await expect(page.locator("h1")).to_have_text(STATISTICS)
    # the tabs: this one current, the others there, the annual report last
    links = page.locator("nav.tabs a")
    hrefs = [await links.nth(i).get_attribute("href") or "" for i in range(await links.count())]
    assert [h.split("?")[0].rsplit("/", 1)[-1] for h in hrefs] == [*tabs, "report"], hrefs
    current = page.locator("nav.tabs a[aria-current='page']")
    await expect(current).to_have_count(1)
    assert (await current.get_attribute("href") or "").startswith(f"/admin/stats/{name}")
    # the filters and the period they give
    await expect(page.locator("form.filters input[name='from']")).to_be_visible()
    await expect(page.locator("form.filters button[type='submit']")).to_be_visible()
    if name in CHARTED:
        kpis = await _kpis(page)
        assert len(kpis) >= 4, (name, kpis)
        # "*": a total hidden because it would give a masked cell away (the seed's tips fall
        # differently in the range depending on the day the test runs)
        assert all(re.fullmatch(r"[\d.,]+( %)?|<\d+|\*|—", v) for v in kpis.values()), kpis
        assert any(re.search(r"[1-9]", v) for v in kpis.values()), (name, kpis)
        await page.wait_for_function(
            "Array.from(document.querySelectorAll('figure.chart img')).every(i => i.complete)"
        )
        charts = await page.evaluate(CHARTS_JS)
        assert charts and all(c["svg"] for c in charts), (name, charts)
        assert any(c["w"] > 0 for c in charts), (name, charts)
        assert all(c["w"] > 0 for c in charts), (name, "a chart did not draw", charts)
        for img in await page.locator("figure.chart img").all():
            assert (await img.get_attribute("alt") or "").strip(), "a chart without a text"
    # tables with figures, each with its download links
    tables = page.locator("section.stat table.data")
    assert await tables.count() >= 1, name
    figures = await page.locator("section.stat table.data td.num").all_inner_texts()
    assert any(re.search(r"[1-9]", f) for f in figures), (name, figures[:20])
    sections = page.locator("section.stat")
    for i in range(await sections.count()):
        section = sections.nth(i)
        await expect(section.locator("h2")).not_to_be_empty()
        await expect(section.locator("a[href$='.csv'], a[href*='.csv?']")).to_have_count(1)
    await _no_csp_violation(page)


async def _seed(panel: Panel) -> Seeded:
    return await seed_statistics(panel.stack.runtime)


def _today(panel: Panel) -> date:
    return datetime.now(ZoneInfo(panel.stack.settings.timezone)).date()


async def _download(page: Page, link_selector: str, tmp: Path) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.locator(link_selector).first.click()
    download = await info.value
    assert await download.failure() is None
    target = tmp / download.suggested_filename
    await download.save_as(target)
    return download.suggested_filename, target.read_bytes()


async def _check_report(page: Page, console: Console, *, tips: bool) -> None:
    """The annual report: its heading, sections, and on paper nothing but the report."""
    await page.locator("nav.tabs a[href='/admin/stats/report']").click()
    await expect(page).to_have_url(re.compile(r"/admin/stats/report$"))
    await expect(page.locator("article.report h1")).to_have_text(REPORT)
    sections = await page.locator("article.report section h2").all_inner_texts()
    assert any(s.startswith("I.") for s in sections), sections
    assert any(s.startswith("IV.") for s in sections) is tips, sections
    await page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    assert all(c["w"] > 0 for c in await page.evaluate(CHARTS_JS))
    for hidden in ("header.top", "nav.tabs", "form.filters"):
        await expect(page.locator(hidden)).to_be_visible()
    await page.emulate_media(media="print")
    try:
        for hidden in ("header.top", "nav.tabs", "form.filters", ".no-print"):
            await expect(page.locator(hidden).first).to_be_hidden()
        await expect(page.locator("article.report h1")).to_be_visible()
        await expect(page.locator("article.report table.data").first).to_be_visible()
        pdf = await page.pdf(format="A4")
    finally:
        await page.emulate_media(media="screen")
    # Debian's Chromium prints in headless mode: the report as the browser's PDF
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000, len(pdf)
    await _no_csp_violation(page)
    console.assert_clean()


async def test_admin_on_a_desktop(panel: Panel, tmp_path: Path) -> None:
    seeded = await _seed(panel)
    base = panel.url
    today = _today(panel)
    async with browser_page(viewport=DESKTOP) as page:
        console = await _watch(page)
        await _login(page, base, "admin")
        for name in ALL_PAGES:
            await _check_page(page, name, ALL_PAGES)
        console.assert_clean()

        # the filters: one commune, the last two weeks; the address and the figures follow
        await page.locator("nav.tabs a[href^='/admin/stats/overview']").click()
        province = await _kpis(page)
        days_before = len(await _cells(page, "subscribers"))
        assert days_before == 30
        start = today - timedelta(days=13)
        await page.locator("form.filters input[name='from']").fill(start.isoformat())
        await page.locator("form.filters input[name='to']").fill(today.isoformat())
        await page.locator("form.filters select[name='commune']").select_option(str(QN_DONG))
        await page.locator("form.filters button[type='submit']").click()
        await expect(page).to_have_url(re.compile(rf"commune={QN_DONG}"))
        assert f"from={start.isoformat()}" in page.url and f"to={today.isoformat()}" in page.url
        await expect(page.locator("form.filters select[name='commune']")).to_have_value(
            str(QN_DONG)
        )
        commune = await _kpis(page)
        assert len(await _cells(page, "subscribers")) == 14
        first = next(iter(province))
        assert int(commune[first].replace(".", "")) < int(province[first].replace(".", ""))
        # the tabs keep the filters
        await page.locator("nav.tabs a[href^='/admin/stats/content']").click()
        assert f"commune={QN_DONG}" in page.url and f"from={start.isoformat()}" in page.url

        # the commune table, sorted by choosing a heading
        await page.goto(base + "/admin/stats/communes")
        by_subscribers = await _cells(page, "communes")
        assert len(by_subscribers) == 135  # every commune of Gia Lai
        heading = page.locator("section#communes thead a[href*='sort=tips']")
        await heading.click()
        await expect(page).to_have_url(re.compile(r"sort=tips"))
        await expect(page.locator("section#communes thead a[href*='sort=tips']")).to_have_attribute(
            "aria-sort", "descending"
        )
        by_tips = await _cells(page, "communes")
        assert by_tips != by_subscribers
        leader = max(seeded.recent_tips, key=lambda code: seeded.recent_tips[code])
        assert leader == QN_DONG and by_tips[0] == "Phường Quy Nhơn Đông", by_tips[:3]
        assert by_subscribers[0] == "Phường Quy Nhơn", by_subscribers[:3]
        await page.locator("section#communes thead a[href*='sort=name']").click()
        by_name = await _cells(page, "communes")
        assert by_name == sorted(by_name) and by_name != by_tips
        columns = await page.locator("section#communes thead th").count()
        assert columns == 9  # with the tip columns

        # the tips page: the lone weapons tip of the province is "<3"; a CSV of a table
        await page.locator("nav.tabs a[href^='/admin/stats/tips']").click()
        weapons = page.locator("section#categories tbody tr").filter(has_text=WEAPONS)
        await expect(weapons.locator("td").last).to_have_text("<3")
        filename, body = await _download(page, "section#categories a[href*='.csv']", tmp_path)
        assert filename.startswith("antq-categories-") and filename.endswith(".csv")
        assert body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert len(rows) == 10 and any(row[1] == "<3" for row in rows[1:]), rows
        filename, body = await _download(page, "a[href^='/admin/stats/tips/export.xlsx']", tmp_path)
        assert filename.endswith(".xlsx") and body.startswith(b"PK")

        await _check_report(page, console, tips=True)


async def test_officer_on_a_phone(panel: Panel, tmp_path: Path) -> None:
    await _seed(panel)
    base = panel.url
    today = _today(panel)
    async with browser_page(viewport=PHONE) as page:
        console = await _watch(page)
        await _login(page, base, "canbo_dong")
        await _no_overflow(page)
        for name in ALL_PAGES:
            await _check_page(page, name, ALL_PAGES)
            await _no_overflow(page)
        console.assert_clean()

        # only their commune to choose; a date range narrows the figures
        await page.locator("nav.tabs a[href^='/admin/stats/tips']").click()
        options = await page.locator("form.filters select[name='commune'] option").all()
        values = [await o.get_attribute("value") for o in options]
        assert values == ["", str(QN_DONG)], values
        # the lone weapons tip of their commune is "<3", on the page and in the export
        weapons = page.locator("section#categories tbody tr").filter(has_text=WEAPONS)
        await expect(weapons.locator("td").last).to_have_text("<3")
        communes = await _cells(page, "tip_communes")
        assert communes == ["Phường Quy Nhơn Đông"], communes
        default = await _kpis(page)
        start = today - timedelta(days=6)
        await page.locator("form.filters input[name='from']").fill(start.isoformat())
        await page.locator("form.filters input[name='to']").fill(today.isoformat())
        await page.locator("form.filters select[name='commune']").select_option(str(QN_DONG))
        await page.locator("form.filters button[type='submit']").click()
        await expect(page).to_have_url(re.compile(rf"from={start.isoformat()}"))
        assert f"commune={QN_DONG}" in page.url
        week = await _kpis(page)
        # the week narrows the figures; not only the first: a total may be hidden ("*") in
        # both views, when it would give away a masked cell (which depends on the hour)
        assert week != default, (default, week)
        await _no_overflow(page)

        # asking for another commune in the address gives their own figures, not the other's
        await page.goto(base + f"/admin/stats/communes?commune={QN}")
        assert await _cells(page, "communes") == ["Phường Quy Nhơn Đông"]
        _name, body = await _download(page, "section#communes a[href*='.csv']", tmp_path)
        text = body.decode("utf-8-sig")
        assert "Quy Nhơn Đông" in text and "Phường Quy Nhơn," not in text
        await _no_overflow(page)

        await _check_report(page, console, tips=True)
        await _no_overflow(page)
        await expect(page.locator("article.report .report-head")).to_contain_text("Quy Nhơn Đông")


async def test_propaganda_staff_on_a_desktop(panel: Panel, tmp_path: Path) -> None:
    await _seed(panel)
    base = panel.url
    engagement = ("overview", "content", "campaigns", "communes")
    async with browser_page(viewport=DESKTOP) as page:
        console = await _watch(page)
        await _login(page, base, "tuyentruyen")
        await expect(page.locator("nav.tabs a[href^='/admin/stats/tips']")).to_have_count(0)
        for name in engagement:
            await _check_page(page, name, engagement)
        # the commune table without any tip column
        headings = await page.locator("section#communes thead th").all_inner_texts()
        assert len(headings) == 5, headings
        assert not any(re.search(r"Tip|Tin báo|hạn|response", h) for h in headings), headings
        console.assert_clean()

        # the tips page and its exports: the 403 page, nothing else
        with console.allowing(r"status of 403"):
            response = await page.goto(base + "/admin/stats/tips")
            assert response is not None and response.status == 403
            await expect(page.locator("h1")).to_have_text(FORBIDDEN)
            await expect(page.locator("table")).to_have_count(0)
            await expect(page.locator("main a[href='/admin/']")).to_be_visible()
            for path in ("/admin/stats/tips/categories.csv", "/admin/stats/tips/export.xlsx"):
                answer = await page.request.get(base + path, max_redirects=0)
                assert answer.status == 403, path
        console.assert_clean()

        await page.goto(base + "/admin/stats/content")
        _name, body = await _download(page, "section#reads a[href*='.csv']", tmp_path)
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert len(rows) > 5 and all(int(row[2]) > 0 for row in rows[1:]), rows

        await _check_report(page, console, tips=False)


async def test_an_officer_without_a_commune_gets_the_403_page(panel: Panel) -> None:
    """An officer whose account has no commune yet gets the 403 page, not an empty report."""
    from tests.admin.panel import add_staff

    await add_staff(panel.stack.runtime.db, "canbo_moi", "officer", [])
    async with browser_page(viewport=DESKTOP) as page:
        console = await _watch(page)
        await page.goto(panel.url + "/admin/login")
        await page.get_by_label("Tên đăng nhập").fill("canbo_moi")
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()
        with console.allowing(r"status of 403"):
            for path in ("/admin/stats", "/admin/stats/report"):
                response = await page.goto(panel.url + path)
                assert response is not None and response.status == 403, path
                await expect(page.locator("h1")).to_have_text(FORBIDDEN)
        console.assert_clean()
