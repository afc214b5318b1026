"""Statistics dashboard benchmark: every page and export against thirteen months of history.

1. **Data**: a fresh database per backend, made from the migrations, filled in bulk with
   200,000 residents on three channels and the province's communes, 1,000,000 engagement
   events, 100,000 tips, campaigns with about 200,000 deliveries, and the messages counted
   per day (`bench/_dashboard_data.py`, the same on every backend).
2. **Rollup**: `bot.stats.rollup.rebuild` over every day (the one-off cost after an upgrade),
   then one `refresh` (what the runtime redoes every 5 minutes).
3. **Pages**: the runtime started with its staff panel; logged in as an administrator, each
   statistics page, the annual report, each page's Excel export, a CSV of one table per page
   and the report's Excel, with the default filters, a 12-month range and a 12-month range
   for one commune: warm-up requests, then `--requests` timed ones, one at a time; p50, p95
   and max per URL. As an officer with two communes: the engagement and tips pages. The
   first warm-up request of each URL is reported too (`first`): the panel keeps the charts it
   drew by their figures, so the timed requests reuse them and the first one draws them.

The bar (issue 6): p95 ≤ 300 ms for every page and export, on SQLite and on PostgreSQL.

    python bench/dashboard.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Progress goes to stderr; the last line on stdout is one JSON object with the figures. The
exit status is 0 even when the bar is missed (the figures are the point); stderr then names
the URLs over it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench._dashboard_data import OFFICER_COMMUNES, Plan, World, generate
from bot.db import Database
from bot.migrate import upgrade
from bot.models import StatDaily, StatPeriod
from bot.runtime import Runtime
from bot.settings import Settings
from bot.stats.rollup import rebuild, refresh
from bot.tips.relay import generate_key

BAR_MS = 300.0
PASSWORD = "mật-khẩu-đủ-dài-2026"
PAGES = ("overview", "content", "campaigns", "tips", "communes")
#: The CSV measured per page when the page offers it (its largest table); otherwise the last
#: table the page links to. The tables are read off the pages, so renamed ones are found.
CSV = {
    "overview": "subscribers",
    "content": "paths",
    "campaigns": "reach",
    "tips": "tip_communes",
    "communes": "communes",
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fresh_database(kind: str, pg: str | None, workdir: Path, keep: bool) -> tuple[str, Any]:
    """A migrated empty database; returns (async URL, cleanup)."""
    if kind == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:6]}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)

        def remove() -> None:
            if keep:
                log(f"kept {path}")
                return
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        return url, remove
    assert pg is not None
    name = f"antq_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        str(make_url(pg).set(drivername="postgresql+psycopg2")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    rendered = (
        make_url(pg)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )
    upgrade(rendered)

    def drop() -> None:
        if keep:
            log(f"kept the database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return rendered, drop


def make_settings(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        host="127.0.0.1",
        port=0,
        telegram_mode="off",
        public_url="",
        province_police_phone="069 3822 113",
        tip_relay_keys=SecretStr(generate_key()),
        webchat_enabled=False,
        admin_enabled=True,
        log_level="WARNING",
    )


async def vacuum(db: Database) -> None:
    """What the server does on its own within minutes of a bulk load: autovacuum (its
    insert threshold) gathers the planner's statistics and the visibility map that lets
    counts be read from indexes alone, and a checkpoint writes the loaded pages out. Measured
    without it, the pages would time that background work beside their own."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
        await conn.execute(text("CHECKPOINT"))


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


class Staff:
    """A logged-in browser: cookies kept, CSRF token read off the login form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=300),
        )

    async def login(self, username: str) -> None:
        async with self.http.get(self.base + "/admin/login") as r:
            found = _CSRF.search(await r.text())
        assert found, "no CSRF field on the login page"
        form = {"username": username, "password": PASSWORD, "totp": "", "csrf": found.group(1)}
        async with self.http.post(
            self.base + "/admin/login", data=form, allow_redirects=False
        ) as r:
            if r.status not in (302, 303):
                raise RuntimeError(f"login of {username} failed: {r.status}")

    async def fetch(self, path: str) -> tuple[float, int, int]:
        started = time.perf_counter()
        async with self.http.get(self.base + path, allow_redirects=False) as r:
            body = await r.read()
        return (time.perf_counter() - started) * 1000, r.status, len(body)

    async def close(self) -> None:
        await self.http.close()


async def measure(staff: Staff, path: str, requests: int, warmup: int) -> dict[str, Any]:
    first = None
    for _ in range(warmup):
        ms, status, _size = await staff.fetch(path)
        if status != 200:
            return {"status": status}
        first = ms if first is None else first
    times = []
    size = 0
    for _ in range(requests):
        ms, status, size = await staff.fetch(path)
        if status != 200:
            return {"status": status}
        times.append(ms)
    return {
        "p50": round(percentile(times, 0.50), 1),
        "p95": round(percentile(times, 0.95), 1),
        "max": round(max(times), 1),
        # the first request of this view, charts not yet drawn (the timed ones reuse them)
        "first": round(first, 1) if first is not None else None,
        "bytes": size,
    }


async def tables_of(staff: Staff) -> dict[str, list[str]]:
    """The tables each page offers as CSV (read off its links)."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        async with staff.http.get(f"{staff.base}/admin/stats/{page}") as r:
            html = await r.text()
        names = re.findall(rf'href="/admin/stats/{page}/([a-z_]+)\.csv', html)
        found[page] = list(dict.fromkeys(names))
    return found


def urls(
    world: World, tables: dict[str, list[str]], all_tables: bool
) -> tuple[list[str], list[str]]:
    """(the administrator's URLs, the officer's)."""
    year_ago = world.today - timedelta(days=364)
    months = f"from={year_ago.isoformat()}&to={world.today.isoformat()}"
    commune = OFFICER_COMMUNES[0]
    variants = ("", months, f"{months}&commune={commune}")
    admin: list[str] = []
    for query in variants:
        q = f"?{query}" if query else ""
        for page in PAGES:
            admin.append(f"/admin/stats/{page}{q}")
            admin.append(f"/admin/stats/{page}/export.xlsx{q}")
            offered = tables.get(page) or [CSV[page]]
            chosen = CSV[page] if CSV[page] in offered else offered[-1]
            for table in offered if all_tables else [chosen]:
                admin.append(f"/admin/stats/{page}/{table}.csv{q}")
    for query in ("", f"commune={commune}"):
        q = f"?{query}" if query else ""
        admin.append(f"/admin/stats/report{q}")
        admin.append(f"/admin/stats/report.xlsx{q}")
    officer = [
        f"/admin/stats/{page}{q}" for q in ("", f"?{months}") for page in ("overview", "tips")
    ]
    officer.append(f"/admin/stats/tips/export.xlsx?{months}")
    return admin, officer


async def one_backend(kind: str, url: str, plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    settings = make_settings(url)
    db = Database(url)
    out: dict[str, Any] = {}
    try:
        log(
            f"{kind}: generating {plan.residents:,} residents, {plan.events:,} events, "
            f"{plan.tips:,} tips, ~{plan.deliveries:,} deliveries"
        )
        started = time.monotonic()
        world = await generate(plan, db, settings, log)
        if kind == "postgres":
            await vacuum(db)
        out["generation_seconds"] = round(time.monotonic() - started, 1)
        out["generated"] = world.counts
        out["generation_steps_seconds"] = world.seconds
        log(f"{kind}: generated in {out['generation_seconds']}s")

        marks: set[int] = set()

        def progress(done: int, total: int) -> None:
            tenth = done * 10 // total
            if tenth not in marks:
                marks.add(tenth)
                log(f"  rebuild {done}/{total} days and periods")

        started = time.monotonic()
        days = await rebuild(db, settings.timezone, progress)
        out["rebuild_seconds"] = round(time.monotonic() - started, 1)
        out["rebuild_days"] = days
        if kind == "postgres":
            await vacuum(db)
        started = time.monotonic()
        await refresh(db, settings.timezone)
        out["refresh_seconds"] = round(time.monotonic() - started, 2)
        async with db.session() as session:
            out["stat_daily_rows"] = (
                await session.execute(select(func.count()).select_from(StatDaily))
            ).scalar_one()
            out["stat_period_rows"] = (
                await session.execute(select(func.count()).select_from(StatPeriod))
            ).scalar_one()
            from bot.staff import create_user

            await create_user(session, "bench-admin", PASSWORD, "admin", "Bench admin")
            await create_user(
                session,
                "bench-officer",
                PASSWORD,
                "officer",
                "Bench officer",
                list(OFFICER_COMMUNES),
            )
        log(
            f"{kind}: rebuild {out['rebuild_seconds']}s for {days} days "
            f"({out['stat_daily_rows']:,} daily rows), refresh {out['refresh_seconds']}s"
        )
    finally:
        await db.dispose()

    runtime = Runtime(settings, migrate=False)
    base = await runtime.start()
    admin, officer = Staff(base), Staff(base)
    try:
        # the runtime refreshes today and yesterday as it starts: let that pass first
        await asyncio.sleep(min(out["refresh_seconds"] + 1.0, 30.0))
        await admin.login("bench-admin")
        await officer.login("bench-officer")
        tables = await tables_of(admin)
        admin_urls, officer_urls = urls(world, tables, args.all_tables)
        figures: dict[str, Any] = {}
        todo = [(admin, "admin", u) for u in admin_urls]
        todo += [(officer, "officer", u) for u in officer_urls]
        began = time.monotonic()
        load_before = os.getloadavg()
        for n, (who, role, path) in enumerate(todo, 1):
            result = await measure(who, path, args.requests, args.warmup)
            key = path if role == "admin" else f"officer {path}"
            figures[key] = result
            shown = (
                f"p50 {result['p50']:.0f} p95 {result['p95']:.0f} max {result['max']:.0f} ms"
                if "p95" in result
                else f"HTTP {result['status']}"
            )
            log(f"  [{n}/{len(todo)}] {key}: {shown}")
        out["measure_seconds"] = round(time.monotonic() - began, 1)
        # other work on the machine shows in the figures: the load average says how much
        out["load_average"] = {
            "before": round(load_before[0], 2),
            "after_1m_5m_15m": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
    finally:
        await admin.close()
        await officer.close()
        await runtime.stop()
    out["urls"] = figures
    failed = [k for k, v in figures.items() if "p95" not in v]
    timed = {k: v for k, v in figures.items() if "p95" in v}
    worst = max(timed, key=lambda k: timed[k]["p95"]) if timed else None
    out["worst_p95_ms"] = timed[worst]["p95"] if worst else None
    out["worst_url"] = worst
    firsts = {k: v["first"] for k, v in timed.items() if v.get("first") is not None}
    out["worst_first_ms"] = max(firsts.values()) if firsts else None
    out["median_p95_ms"] = (
        round(percentile([v["p95"] for v in timed.values()], 0.5), 1) if timed else None
    )
    over = sorted(
        (k for k, v in timed.items() if v["p95"] > BAR_MS), key=lambda k: -timed[k]["p95"]
    )
    out["over_bar"] = {k: timed[k]["p95"] for k in over}
    out["failed"] = {k: figures[k]["status"] for k in failed}
    out["pass"] = bool(worst) and not failed and out["worst_p95_ms"] <= BAR_MS
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL URL to measure PostgreSQL too")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per URL first")
    parser.add_argument(
        "--all-tables", action="store_true", help="a CSV of every table, not one per page"
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (to profile them afterwards)"
    )
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    plan = Plan(
        residents=args.residents,
        events=args.events,
        tips=args.tips,
        deliveries=args.deliveries,
    )
    workdir = Path(tempfile.mkdtemp(prefix="antq-bench-dashboard-"))
    results: dict[str, Any] = {
        "benchmark": "dashboard",
        "residents": plan.residents,
        "events": plan.events,
        "tips": plan.tips,
        "deliveries": plan.deliveries,
        "requests_per_url": args.requests,
        "bar_ms": BAR_MS,
    }
    began = time.monotonic()
    kinds = [] if args.skip_sqlite else ["sqlite"]
    if args.postgres:
        kinds.append("postgres")
    try:
        for kind in kinds:
            url, cleanup = await asyncio.to_thread(
                fresh_database, kind, args.postgres, workdir, args.keep
            )
            try:
                results[kind] = await one_backend(kind, url, plan, args)
            finally:
                await asyncio.to_thread(cleanup)
            r = results[kind]
            log(
                f"{kind}: worst p95 {r['worst_p95_ms']} ms ({r['worst_url']}), "
                f"{'PASS' if r['pass'] else 'FAIL'}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["total_seconds"] = round(time.monotonic() - began, 1)
    for kind in kinds:
        r = results[kind]
        if r["over_bar"]:
            shown = ", ".join(f"{k} ({v:.0f} ms)" for k, v in r["over_bar"].items())
            log(f"OVER {BAR_MS:.0f} ms on {kind}: {shown}")
        if r["failed"]:
            log(f"FAILED on {kind}: {r['failed']}")
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
