"""`antq demo`: the product with the bundled fake Telegram server, SQLite and the web chat."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from pydantic import SecretStr

from bot.fakes.telegram import FakeTelegram
from bot.runtime import Runtime, random_secret
from bot.settings import Settings

__all__ = ["run_demo"]

DEMO_CHAT_ID = 1001


def demo_settings(base: Settings, port: int, fake_url: str, token: str) -> Settings:
    db = base.database_url or (f"sqlite+aiosqlite:///{(base.data_dir / 'demo.sqlite3').resolve()}")
    return base.model_copy(
        update={
            "database_url": db,
            "port": port,
            "public_url": f"http://{base.host}:{port}",
            "telegram_token": SecretStr(token),
            "telegram_api_base": fake_url,
            "telegram_mode": "webhook",
            "telegram_webhook_secret": SecretStr(random_secret()),
            "webchat_enabled": True,
        }
    )


def _print_message(message: dict[str, Any]) -> None:
    print()
    if message.get("text"):
        print(message["text"])
    markup = message.get("reply_markup") or {}
    n = 0
    for row in markup.get("inline_keyboard", []):
        labels = []
        for button in row:
            n += 1
            labels.append(f"[{n}] {button.get('text')}")
        print("   " + "   ".join(labels))


async def _console(fake: FakeTelegram) -> None:
    """Be a Telegram resident in the terminal: type text; a number presses that button."""
    shown = 0
    last_keyboard: list[str] = []

    async def show_new() -> None:
        nonlocal shown, last_keyboard
        for message in fake.sent(DEMO_CHAT_ID)[shown:]:
            if message.get("method") not in ("sendMessage", "sendPhoto"):
                continue  # callback answers and the like are not messages the resident sees
            _print_message(message)
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if rows:
                last_keyboard = [b.get("callback_data", "") for row in rows for b in row]
        shown = len(fake.sent(DEMO_CHAT_ID))

    fake.inject({"chat_id": DEMO_CHAT_ID, "text": "/start", "first_name": "Demo"})
    while True:
        await asyncio.sleep(0.5)
        await show_new()
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        line = line.strip()
        if not line:
            continue
        if line.isdigit() and 0 < int(line) <= len(last_keyboard):
            fake.inject({"chat_id": DEMO_CHAT_ID, "callback_data": last_keyboard[int(line) - 1]})
        else:
            fake.inject({"chat_id": DEMO_CHAT_ID, "text": line})


async def run_demo(base: Settings, args: argparse.Namespace) -> int:
    fake = FakeTelegram()
    fake_url = await fake.start(base.host, args.telegram_port)
    settings = demo_settings(base, args.port, fake_url, fake.token)
    runtime = Runtime(settings)
    try:
        url = await runtime.start()
        console = args.console if args.console is not None else sys.stdin.isatty()
        print(
            "\nANTQ Connect demo is running (no tokens, SQLite, fake Telegram on loopback).\n"
            f"  Web chat (open in a browser):  {url}/chat\n"
            f"  Fake Telegram Bot API:         {fake_url}  (control API: docs/fake-telegram.md)\n"
            f"  Act as a Telegram resident:    curl -s -X POST {fake_url}/_control/updates "
            f'-d \'{{"chat_id": 42, "text": "/start"}}\'\n'
            f"                                 curl -s '{fake_url}/_control/sent?chat_id=42'\n"
            "  Stop with Ctrl+C.\n",
            flush=True,
        )
        if console:
            print(
                "You are a Telegram resident (chat 1001). Type a message; a number presses "
                "that button.",
                flush=True,
            )
            console_task = asyncio.create_task(_console(fake))
        else:
            console_task = None
        from bot.cli import _wait_for_signal

        await _wait_for_signal()
        if console_task is not None:
            console_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await console_task
    finally:
        await runtime.stop()
        await fake.stop()
    return 0
