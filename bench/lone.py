"""CPU of one update alone in its transaction, through the core and the real handlers.

Paced residents mostly arrive alone: each update is a transaction of its own, and that
transaction's fixed cost decides how busy the process is at 200 updates/s (see load.py's
paced run). This measures it without the HTTP around it: `Core.handle` awaited update after
update (menu browsing and the legal library, in Vietnamese and English) on a fresh database,
with an outbox that keeps the rows instead of sending them.

    python bench/lone.py                       # SQLite in a temp dir
    python bench/lone.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Progress goes to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: What residents type, round after round (the numbers pick from the previous answer's menu).
SCRIPT = ("/start", "1", "/menu", "2", "1", "/menu", "3", "/help")


def log(message: str) -> None:
    print(f"[lone-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class KeptOutbox:
    """The outbox rows are written by the core as ever; nothing is sent."""

    rows = 0

    def send_soon(self, rows: list[Any]) -> None:
        self.rows += len(rows)


async def _pg_database(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def measure(url: str, residents: int, updates: int) -> dict[str, Any]:
    import handlers
    from bot.channels.telegram._sender import CAPABILITIES
    from bot.core.dispatch import Core
    from bot.core.types import Inbound
    from bot.db import Database
    from bot.migrate import upgrade_async
    from bot.settings import Settings
    from bot.tips.relay import generate_key
    from content import locality
    from content.store import LiveLibrary

    db = Database(url)
    await upgrade_async(db.url)
    settings = Settings(_env_file=None, database_url=url, tip_relay_keys=generate_key())  # type: ignore[call-arg]
    library = LiveLibrary(db)
    await library.start()
    locality.warm(settings.province_code)  # as `Runtime.start` does
    outbox = KeptOutbox()
    core = Core(
        db,
        settings,
        handlers.handle,
        outbox,  # type: ignore[arg-type]
        {"telegram": CAPABILITIES},
        on_error=handlers.apologise,
    )

    async def run(first: int, count: int) -> None:
        for number in range(first, first + count):
            chat, turn = number % residents, number // residents
            text = SCRIPT[turn % len(SCRIPT)]
            inbound = Inbound("telegram", str(chat), str(number), "text", text=text)
            await core.handle(inbound)
            if (number - first + 1) % 1000 == 0:
                log(f"{number - first + 1} of {count} updates")

    try:
        await run(0, residents)  # every resident exists, the code paths are warm
        cpu, wall = time.process_time(), time.perf_counter()
        await run(residents, updates)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await db.dispose()
    return {
        "cpu_ms_per_update": round(1000 * cpu / updates, 3),
        "wall_ms_per_update": round(1000 * wall / updates, 3),
        "outbox_rows": outbox.rows,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"bench": "lone", "updates": args.updates, "residents": args.residents}
    with tempfile.TemporaryDirectory(prefix="antq-lone-") as tmp:
        log("SQLite")
        sqlite = await measure(
            f"sqlite:///{Path(tmp) / 'antq.sqlite3'}", args.residents, args.updates
        )
        out.update({f"sqlite_{k}": v for k, v in sqlite.items()})
        log(f"SQLite: {sqlite['cpu_ms_per_update']} ms of CPU an update")
    if args.postgres:
        from sqlalchemy.engine import make_url

        admin = make_url(args.postgres)
        name = f"antq_lone_{uuid.uuid4().hex[:10]}"
        plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        await _pg_database(plain, f'CREATE DATABASE "{name}"')
        try:
            log("PostgreSQL")
            url = admin.set(drivername="postgresql", database=name)
            pg = await measure(
                url.render_as_string(hide_password=False), args.residents, args.updates
            )
            out.update({f"postgres_{k}": v for k, v in pg.items()})
            log(f"PostgreSQL: {pg['cpu_ms_per_update']} ms of CPU an update")
        finally:
            await _pg_database(plain, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/lone.py",
        description="CPU of one update alone in its transaction, through the core and the "
        "handlers (no HTTP). Prints one JSON line.",
    )
    parser.add_argument("--updates", type=int, default=3000, help="measured updates (3000)")
    parser.add_argument("--residents", type=int, default=300, help="residents taking turns (300)")
    parser.add_argument("--postgres", metavar="URL", help="also on PostgreSQL (a fresh database)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import uvloop

    args = parse_args(argv)
    out = uvloop.run(main_async(args))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
