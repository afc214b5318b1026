"""Broadcast to many residents through each fake platform with its limits switched on.

For Telegram, the Zalo Bot API and the Zalo OA: start the fake with limits enforced, start the
product on a fresh SQLite database, write N broadcast rows to the outbox (one per resident)
and let the outbox send them at the configured pacing. Counts what arrived, how many 429 /
-32 answers the fake gave (the goal is zero) and the sustained rate.

    python bench/send_limits.py                       # 10,000 residents per platform
    python bench/send_limits.py --residents 2000 --platforms zalo_oa

Progress goes to stderr; stdout gets one JSON line. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.core.outbox import insert_pending
from bot.fakes.telegram import FakeTelegram
from bot.fakes.zalo_bot import FakeZaloBot
from bot.fakes.zalo_oa import FakeZaloOA
from bot.runtime import Runtime
from bot.settings import Settings

PLATFORMS = ("telegram", "zalo_bot", "zalo_oa")


def log(message: str) -> None:
    print(f"[send-limits {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run_platform(platform: str, residents: int, args: argparse.Namespace) -> dict[str, Any]:
    tg, zb, oa = FakeTelegram(), FakeZaloBot(), FakeZaloOA()
    tg_url, zb_url, oa_url = await tg.start(), await zb.start(), await oa.start()
    access, refresh = oa.initial_tokens()
    workdir = Path(tempfile.mkdtemp(prefix="antq-send-limits-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{workdir / 'antq.sqlite3'}",
        port=0,
        telegram_token=SecretStr(tg.token),
        telegram_api_base=tg_url,
        telegram_webhook_secret=SecretStr("bench-secret-0123456789"),
        telegram_broadcast_rate=args.telegram_rate,
        zalo_bot_token=SecretStr(zb.token),
        zalo_bot_api_base=zb_url,
        zalo_bot_webhook_secret=SecretStr("bench-secret-0123456789"),
        zalo_bot_broadcast_rate=args.zalo_bot_rate,
        zalo_oa_app_id=oa.app_id,
        zalo_oa_app_secret=SecretStr(oa.app_secret),
        zalo_oa_secret_key=SecretStr(oa.oa_secret_key),
        zalo_oa_access_token=SecretStr(access),
        zalo_oa_refresh_token=SecretStr(refresh),
        zalo_oa_api_base=oa_url,
        zalo_oa_oauth_base=oa_url,
        zalo_oa_broadcast_rate=args.zalo_oa_rate,
    )
    runtime = Runtime(settings)
    await runtime.start()
    limit_errors: Callable[[], int]
    sent: Callable[[], int]
    recipients: Callable[[], int]
    try:
        if platform == "telegram":
            chats = [str(10_000_000 + i) for i in range(residents)]
            for chat in chats:
                tg.add_chat(int(chat))
            tg.set_limits(enforce=True, rate_per_second=30, per_chat_per_second=1)
            limit = "30 messages/s overall, 1/s per chat"
            limit_errors = lambda: int(tg.stats()["rate_limited"])  # noqa: E731
            sent = lambda: len(tg.sent())  # noqa: E731
            recipients = lambda: len({m["chat_id"] for m in tg.sent()})  # noqa: E731
        elif platform == "zalo_bot":
            chats = [f"{i:020x}" for i in range(residents)]
            for chat in chats:
                zb.add_chat(chat)
            zb.set_limits(enforce=True, rate_per_second=args.zalo_bot_limit, burst=20)
            limit = f"{args.zalo_bot_limit:g} messages/s (burst 20; Zalo publishes no figure)"
            limit_errors = lambda: int(zb.stats()["rate_limited"])  # noqa: E731
            sent = lambda: int(zb.stats()["messages_sent"])  # noqa: E731
            recipients = lambda: len({m["chat_id"] for m in zb.sent()})  # noqa: E731
        else:
            chats = [str(6_142_494_823_000_000_000 + i) for i in range(residents)]
            for chat in chats:
                oa.set_last_interaction(chat, seconds_ago=3600)
            oa.set_limits(enforce=True, requests_per_minute=4000)
            limit = "4,000 requests/minute"
            limit_errors = lambda: int(oa.stats()["rate_limited"])  # noqa: E731
            sent = lambda: int(oa.stats()["sends"])  # noqa: E731
            recipients = lambda: len({m["user_id"] for m in oa.sent()})  # noqa: E731
        messages = [
            (platform, chat, {"text": "Ngày hội toàn dân bảo vệ ANTQ 19/8: mời bà con tham dự."})
            for chat in chats
        ]
        async with runtime.db.session() as session:
            rows = await insert_pending(session, messages, runtime.outbox.lease, kind="broadcast")
        log(f"{platform}: {residents} residents, fake limit {limit}")
        started = time.monotonic()
        runtime.outbox.send_soon(rows)
        deadline = started + args.timeout
        while sent() < residents and time.monotonic() < deadline:
            await asyncio.sleep(2)
            elapsed = time.monotonic() - started
            log(
                f"{platform}: {sent()}/{residents} sent in {elapsed:.0f}s "
                f"({sent() / elapsed:.1f}/s), limit errors {limit_errors()}"
            )
        seconds = time.monotonic() - started
        await runtime.outbox.flush()
        await asyncio.sleep(args.settle)  # a late duplicate would show up here
        return {
            f"{platform}_residents": residents,
            f"{platform}_sent": sent(),
            f"{platform}_duplicates": sent() - recipients(),
            f"{platform}_limit_errors": limit_errors(),
            f"{platform}_seconds": round(seconds, 1),
            f"{platform}_rate": round(sent() / seconds, 2),
            f"{platform}_fake_limit": limit,
        }
    finally:
        await runtime.stop()
        for fake in (tg, zb, oa):
            await fake.stop()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"bench": "send_limits"}
    for platform in args.platforms.split(","):
        out.update(await run_platform(platform.strip(), args.residents, args))
    out["ok"] = all(
        out[f"{p}_sent"] == out[f"{p}_residents"]
        and out[f"{p}_duplicates"] == 0
        and out[f"{p}_limit_errors"] == 0
        for p in args.platforms.split(",")
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/send_limits.py", description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--platforms", default=",".join(PLATFORMS))
    parser.add_argument("--telegram-rate", type=float, default=25.0, help="our pacing (/s)")
    parser.add_argument(
        "--zalo-bot-limit",
        type=float,
        default=100.0,
        help="the fake Zalo Bot's limit (/s); the real one is unpublished",
    )
    parser.add_argument("--zalo-bot-rate", type=float, default=90.0, help="our pacing (/s)")
    parser.add_argument("--zalo-oa-rate", type=float, default=60.0, help="our pacing (/s)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per platform")
    parser.add_argument(
        "--settle",
        type=float,
        default=40.0,
        help="seconds to watch for late duplicates after the last send",
    )
    args = parser.parse_args()
    out = asyncio.run(main_async(args))
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
