"""Campaign delivery benchmark: the engine against a fake Telegram in its own process.

1. **Paced**: 3,000 subscribers, the fake limited to 30 messages/s overall (and 1/s per
   chat): the sustained rate (first to last message) must be at least 97% of the limit with
   zero 429s.
2. **Ceiling**: 100,000 subscribers with the fake's limit lifted and the engine's pacing
   off: how many messages per second one process gets out, on SQLite and on PostgreSQL.
3. **Bare client**: a plain aiohttp client sending as fast as it can to the same fake — what
   the fake and the machine allow at all, to read the ceiling against.

    python bench/broadcast.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Progress goes to stderr; the last line on stdout is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bot.campaigns.schedule import Schedule
from bot.migrate import upgrade
from bot.models import Campaign, Resident, utcnow
from bot.runtime import Runtime
from bot.settings import Settings

TOKEN = "424242:BENCH"
TEXT = "Ngày hội toàn dân bảo vệ an ninh Tổ quốc 19/8: mời bà con tham dự tại nhà văn hóa."


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeProcess:
    """The fake Telegram Bot API in a process of its own (as the real one is elsewhere)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.fakes.telegram",
                "--port",
                str(self.port),
                "--token",
                TOKEN,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(base_url=self.url, timeout=120)
        for _ in range(100):
            try:
                self.http.get("/_control/stats").raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the fake Telegram server did not start")

    def reset(self, chats: list[int], limit: float | None) -> None:
        self.http.post("/_control/reset").raise_for_status()
        for start in range(0, len(chats), 10_000):
            batch = [{"chat_id": c, "first_name": "Dân"} for c in chats[start : start + 10_000]]
            self.http.post("/_control/chats", json=batch).raise_for_status()
        limits: dict[str, Any] = {"enforce": limit is not None}
        if limit is not None:
            limits.update(rate_per_second=limit, per_chat_per_second=1)
        self.http.post("/_control/limits", json=limits).raise_for_status()

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get("/_control/stats").json()
        return data.get("result", data)

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def fresh_database(kind: str, pg: str | None, workdir: Path) -> tuple[str, Any]:
    """A migrated empty database; returns (async URL, cleanup)."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}"
        upgrade(url)
        return url, lambda: None
    assert pg is not None
    name = f"antq_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        str(make_url(pg).set(drivername="postgresql+psycopg2")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg).set(drivername="postgresql+asyncpg", database=name)
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return rendered, drop


async def one_run(
    fake: FakeProcess, url: str, residents: int, limit: float | None, rate: float
) -> dict[str, Any]:
    chats = [30_000_000 + i for i in range(residents)]
    fake.reset(chats, limit)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        port=0,
        telegram_token=SecretStr(TOKEN),
        telegram_api_base=fake.url,
        telegram_mode="webhook",
        telegram_webhook_secret=SecretStr("bench-secret-0123456789"),
        telegram_broadcast_rate=rate,
        telegram_broadcast_per_chat_seconds=0.0 if limit is None else 1.0,
        campaign_quiet_hours="",
        webchat_enabled=False,
        admin_enabled=False,
        log_level="WARNING",
    )
    runtime = Runtime(settings, migrate=False)
    await runtime.start()
    try:
        now = utcnow()
        rows = [
            {
                "channel": "telegram",
                "chat_id": str(chat),
                "language": "vi",
                "commune_code": 21601,
                "subscribed": True,
                "onboarded": True,
                "state": "",
                "state_data": {},
                "created_at": now,
                "last_seen_at": now,
            }
            for chat in chats
        ]
        async with runtime.db.session() as session:
            for start in range(0, len(rows), 5_000):
                await session.execute(insert(Resident.__table__), rows[start : start + 5_000])  # type: ignore[attr-defined]
            session.add(
                Campaign(
                    title="bench",
                    text_vi=TEXT,
                    schedule=Schedule.now().to_json(),
                    status="scheduled",
                    next_run_at=now,
                )
            )
        sender = runtime.campaigns
        assert sender is not None
        started = time.monotonic()
        await sender.tick()  # makes the run and its deliveries
        made = time.monotonic() - started
        log(f"  {residents:,} deliveries made in {made:.1f}s")
        # The fake stamps its first and last message: the rate is read off those. It is
        # polled once a second, asynchronously (a blocking poll would stall our own loop).
        sent = 0
        last_log = 0.0
        deadline = time.monotonic() + 1200
        async with httpx.AsyncClient(base_url=fake.url, timeout=120) as poll:

            async def stats() -> dict[str, Any]:
                data: dict[str, Any] = (await poll.get("/_control/stats")).json()
                return data.get("result", data)

            while sent < residents and time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                stats_now = await stats()
                sent = int(stats_now.get("messages_sent", 0))
                first = stats_now.get("first_message_at")
                if first is not None and time.monotonic() - last_log > 5:
                    last_log = time.monotonic()
                    elapsed = max(time.time() - first, 1e-3)
                    log(f"  {sent:,}/{residents:,} sent, {sent / elapsed:,.0f}/s")
            if sent < residents:
                raise RuntimeError(f"only {sent} of {residents} sent")
            await asyncio.sleep(2)  # a late duplicate would show up here
            stats_now = await stats()
        seconds = float(stats_now["last_message_at"]) - float(stats_now["first_message_at"])
        async with runtime.db.session() as session:
            count = (
                await session.execute(
                    text("SELECT count(*) FROM campaign_delivery WHERE status = 'sent'")
                )
            ).scalar_one()
        rate_measured = (residents - 1) / seconds
        return {
            "residents": residents,
            "recorded_sent": int(count),
            "seconds": round(seconds, 2),
            "messages_per_second": round(rate_measured, 1),
            "rate_limited": int(stats_now.get("rate_limited", 0)),
            "duplicates": int(stats_now.get("messages_sent", 0)) - residents,
        }
    finally:
        await runtime.stop()


async def bare_client(fake: FakeProcess, messages: int) -> float:
    """What a bare aiohttp client (no database, no bot library) gets out of the same fake:
    the ceiling the fake and this machine allow, to read the engine's figure against."""
    import aiohttp

    chats = [50_000_000 + i for i in range(messages)]
    fake.reset(chats, None)
    url = f"{fake.url}/bot{TOKEN}/sendMessage"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=128)) as http:
        gate = asyncio.Semaphore(512)

        async def one(chat: int) -> None:
            async with gate, http.post(url, json={"chat_id": chat, "text": TEXT}) as response:
                await response.read()

        started = time.monotonic()
        await asyncio.gather(*(one(chat) for chat in chats))
        return messages / (time.monotonic() - started)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="PostgreSQL URL for the ceiling on PostgreSQL too")
    parser.add_argument("--paced", type=int, default=3000)
    parser.add_argument("--ceiling", type=int, default=100_000)
    parser.add_argument("--limit", type=float, default=30.0, help="the fake's messages/s")
    parser.add_argument("--bare", type=int, default=100_000, help="messages of the bare client")
    parser.add_argument(
        "--pace", type=float, default=29.7, help="our pacing for the paced run (messages/s)"
    )
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="antq-bench-broadcast-"))
    fake = FakeProcess()
    results: dict[str, Any] = {"benchmark": "broadcast"}
    began = time.monotonic()
    try:
        url, cleanup = await asyncio.to_thread(fresh_database, "sqlite", None, workdir)
        log(
            f"paced: {args.paced:,} subscribers, fake limited to {args.limit:g}/s, pace {args.pace}"
        )
        paced = await one_run(fake, url, args.paced, args.limit, args.pace)
        paced["limit"] = args.limit
        paced["share_of_limit"] = round(paced["messages_per_second"] / args.limit, 4)
        results["paced"] = paced
        log(f"paced: {paced}")
        cleanup()
        for kind in ("sqlite", "postgres") if args.postgres else ("sqlite",):
            url, cleanup = await asyncio.to_thread(fresh_database, kind, args.postgres, workdir)
            log(f"ceiling on {kind}: {args.ceiling:,} subscribers, no limit, no pacing")
            try:
                ceiling = await one_run(fake, url, args.ceiling, None, 1_000_000.0)
            finally:
                cleanup()
            results[f"ceiling_{kind}"] = ceiling
            log(f"ceiling on {kind}: {ceiling}")
        log(f"bare aiohttp client: {args.bare:,} messages to the same fake")
        results["bare_client_messages_per_second"] = round(await bare_client(fake, args.bare), 1)
        log(f"bare aiohttp client: {results['bare_client_messages_per_second']}/s")
    finally:
        fake.close()
    results["total_seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
