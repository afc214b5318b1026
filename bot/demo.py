"""`antq demo`: the product with the bundled fake Telegram, Zalo Bot and Zalo OA servers,
SQLite and the web chat: no tokens, nothing leaves the machine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bot.core.platform import Platform
from bot.core.tasks import wait_for_stop_signal
from bot.fakes.telegram import FakeTelegram
from bot.fakes.zalo_bot import FakeZaloBot
from bot.fakes.zalo_oa import FakeZaloOA
from bot.runtime import ZALO_OA_WEBHOOK_PATH, Runtime, random_secret
from bot.settings import Settings
from bot.tips.relay import generate_key

__all__ = ["run_demo"]

DEMO_TELEGRAM_CHAT = 1001
DEMO_ZALO_BOT_CHAT = "6ede9afa66b88fe6d6a9"
DEMO_ZALO_OA_USER = "6142494823000000000"


@dataclass
class Fakes:
    telegram: FakeTelegram
    zalo_bot: FakeZaloBot
    zalo_oa: FakeZaloOA
    telegram_url: str
    zalo_bot_url: str
    zalo_oa_url: str

    async def stop(self) -> None:
        await self.telegram.stop()
        await self.zalo_bot.stop()
        await self.zalo_oa.stop()


def demo_settings(base: Settings, port: int, fakes: Fakes) -> Settings:
    db = base.database_url or f"sqlite+aiosqlite:///{(base.data_dir / 'demo.sqlite3').resolve()}"
    access, refresh = fakes.zalo_oa.initial_tokens()
    oa = fakes.zalo_oa
    return base.model_copy(
        update={
            "database_url": db,
            "port": port,
            "public_url": f"http://{base.host}:{port}",
            "telegram_token": SecretStr(fakes.telegram.token),
            "telegram_api_base": fakes.telegram_url,
            "telegram_mode": "webhook",
            "telegram_webhook_secret": SecretStr(random_secret()),
            "zalo_bot_token": SecretStr(fakes.zalo_bot.token),
            "zalo_bot_api_base": fakes.zalo_bot_url,
            "zalo_bot_mode": "webhook",
            "zalo_bot_webhook_secret": SecretStr(random_secret()),
            "zalo_oa_app_id": oa.app_id,
            "zalo_oa_app_secret": SecretStr(oa.app_secret),
            "zalo_oa_secret_key": SecretStr(oa.oa_secret_key),
            "zalo_oa_access_token": SecretStr(access),
            "zalo_oa_refresh_token": SecretStr(refresh),
            "zalo_oa_api_base": fakes.zalo_oa_url,
            "zalo_oa_oauth_base": fakes.zalo_oa_url,
            "webchat_enabled": True,
            "admin_enabled": True,
            "tip_relay_keys": base.tip_relay_keys
            if base.tip_relay_keys.get_secret_value()
            else SecretStr(_demo_file(base, "demo-relay.key", generate_key)),
        }
    )


def _demo_file(base: Settings, name: str, make: Callable[[], str]) -> str:
    """A value kept in DATA_DIR across demo runs (made on the first run)."""
    path = base.data_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make() + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


#: Staff accounts of the demo: (user name, role, communes). Phường Quy Nhơn Đông is 21601.
DEMO_STAFF: tuple[tuple[str, str, list[int]], ...] = (
    ("admin", "admin", []),
    ("canbo", "officer", [21601]),
    ("tuyentruyen", "propaganda", []),
)
#: The fake Telegram chat where Phường Quy Nhơn Đông's officers are alerted to new tips.
DEMO_OFFICER_CHAT = 900001


async def _demo_staff(runtime: Runtime, password: str) -> None:
    """The demo's staff accounts and alert chat, made once."""
    from sqlalchemy import func, select

    from bot.audit import SYSTEM
    from bot.models import StaffUser
    from bot.staff import create_user, set_alert_chat

    async with runtime.db.session() as session:
        if (await session.execute(select(func.count()).select_from(StaffUser))).scalar_one():
            return
        for username, role, communes in DEMO_STAFF:
            await create_user(session, username, password, role, username, communes)
        await set_alert_chat(session, SYSTEM, 21601, Platform.TELEGRAM, str(DEMO_OFFICER_CHAT))


def _show(text: str, labels: list[str]) -> None:
    print()
    if text:
        print(text)
    if labels:
        print("   " + "   ".join(f"[{n}] {label}" for n, label in enumerate(labels, start=1)))


class ConsoleResident:
    """Be a resident in the terminal on one platform: type text; a number taps that button
    (on Zalo's bot API, which has no buttons, the number is simply sent as text)."""

    def __init__(self, platform: str, fakes: Fakes) -> None:
        self.platform, self.fakes = Platform(platform), fakes
        self.shown = 0
        self.buttons: list[str] = []  # what a number taps: callback data or OA payloads

    def _records(self) -> list[dict[str, Any]]:
        if self.platform is Platform.TELEGRAM:
            return [
                m
                for m in self.fakes.telegram.sent(DEMO_TELEGRAM_CHAT)
                if m.get("method") in ("sendMessage", "sendPhoto")
            ]
        if self.platform is Platform.ZALO_BOT:
            return self.fakes.zalo_bot.sent(DEMO_ZALO_BOT_CHAT)
        return self.fakes.zalo_oa.sent(DEMO_ZALO_OA_USER)

    def show_new(self) -> None:
        records = self._records()
        for record in records[self.shown :]:
            if self.platform is Platform.TELEGRAM:
                rows = (record.get("reply_markup") or {}).get("inline_keyboard", [])
                buttons = [b for row in rows for b in row]
                labels = [b.get("text", "") for b in buttons]
                payloads = [b.get("callback_data", "") for b in buttons]
            elif self.platform is Platform.ZALO_OA:
                buttons = record.get("buttons") or []
                labels = [b.get("title", "") for b in buttons]
                payloads = [b.get("payload", "") for b in buttons]
            else:
                labels, payloads = [], []
            _show(record.get("text") or record.get("caption") or "", labels)
            self.buttons = payloads  # the latest message says what a number means
        self.shown = len(records)

    def send(self, line: str) -> None:
        pressed = line.isdigit() and 0 < int(line) <= len(self.buttons)
        if self.platform is Platform.TELEGRAM:
            if pressed:
                self.fakes.telegram.inject(
                    {"chat_id": DEMO_TELEGRAM_CHAT, "callback_data": self.buttons[int(line) - 1]}
                )
            else:
                self.fakes.telegram.inject({"chat_id": DEMO_TELEGRAM_CHAT, "text": line})
        elif self.platform is Platform.ZALO_BOT:
            self.fakes.zalo_bot.inject(chat_id=DEMO_ZALO_BOT_CHAT, text=line)
        else:
            text = self.buttons[int(line) - 1] if pressed else line
            self.fakes.zalo_oa.inject({"user_id": DEMO_ZALO_OA_USER, "text": text})


async def _console(resident: ConsoleResident) -> None:
    resident.send("/start")
    while True:
        await asyncio.sleep(0.5)
        resident.show_new()
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        if line.strip():
            resident.send(line.strip())


async def start_fakes(host: str, telegram_port: int) -> Fakes:
    telegram, zalo_bot, zalo_oa = FakeTelegram(), FakeZaloBot(), FakeZaloOA()
    telegram_url = await telegram.start(host, telegram_port)
    zalo_bot_url = await zalo_bot.start(host, telegram_port + 1)
    zalo_oa_url = await zalo_oa.start(host, telegram_port + 2)
    return Fakes(telegram, zalo_bot, zalo_oa, telegram_url, zalo_bot_url, zalo_oa_url)


async def run_demo(base: Settings, args: argparse.Namespace) -> int:
    fakes = await start_fakes(base.host, args.telegram_port)
    runtime = Runtime(demo_settings(base, args.port, fakes))
    try:
        url = await runtime.start()
        fakes.zalo_oa.set_webhook(url + ZALO_OA_WEBHOOK_PATH)  # set in the OA console for real
        fakes.telegram.add_chat(DEMO_OFFICER_CHAT)
        password = _demo_file(base, "demo-staff-password", lambda: secrets.token_urlsafe(12))
        await _demo_staff(runtime, password)
        tg, zb, oa = fakes.telegram_url, fakes.zalo_bot_url, fakes.zalo_oa_url
        print(
            "\nANTQ Connect demo is running (no tokens, SQLite, fake platforms on loopback).\n"
            f"  Web chat (open in a browser):  {url}/chat\n"
            f"  Staff panel:                   {url}/admin  (admin / canbo / tuyentruyen, "
            f"password {password})\n"
            f"  Fake Telegram Bot API:         {tg}  (control API: docs/fake-telegram.md)\n"
            f"  Fake Zalo Bot API:             {zb}  (docs/fake-zalo-bot.md)\n"
            f"  Fake Zalo OA:                  {oa}  (docs/fake-zalo-oa.md)\n"
            "  Act as a resident, e.g.:\n"
            f"    curl -s -X POST {tg}/_control/updates "
            f'-d \'{{"chat_id": 42, "text": "/start"}}\'\n'
            f"    curl -s '{tg}/_control/sent?chat_id=42'\n"
            f"    curl -s -X POST {zb}/_control/updates "
            f'-d \'{{"chat_id": "{DEMO_ZALO_BOT_CHAT}", "text": "xin chào"}}\'\n'
            f"    curl -s -X POST {oa}/_control/updates "
            f'-d \'{{"user_id": "{DEMO_ZALO_OA_USER}", "event": "follow"}}\'\n'
            "  Stop with Ctrl+C.\n",
            flush=True,
        )
        console = args.console if args.console is not None else sys.stdin.isatty()
        console_task = None
        if console:
            names = {
                Platform.TELEGRAM: "Telegram",
                Platform.ZALO_BOT: "Zalo (bot)",
                Platform.ZALO_OA: "Zalo (OA)",
            }
            print(
                f"You are a {names[args.platform]} resident. Type a message; a number picks "
                "that choice. (--platform telegram|zalo_bot|zalo_oa)",
                flush=True,
            )
            console_task = asyncio.create_task(_console(ConsoleResident(args.platform, fakes)))
        await wait_for_stop_signal()
        if console_task is not None:
            console_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await console_task
    finally:
        await runtime.stop()
        await fakes.stop()
    return 0
