"""Test helpers for the staff panel: accounts, a logged-in HTTP client, filing tips."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.db import Database
from bot.models import Tip
from bot.settings import Settings
from bot.staff import create_user
from bot.tips.actions import Draft, submit_tip
from bot.tips.relay import RelayCipher
from tests.harness import (
    Stack,
    TelegramResident,
    WebStepper,
    ZaloBotResident,
    ZaloOAResident,
)

__all__ = ["PASSWORD", "PanelClient", "add_staff", "csrf_of", "file_tip", "receive"]

PASSWORD = "mật-khẩu-đủ-dài-2026"
#: Phường Quy Nhơn Đông and Phường Quy Nhơn (Gia Lai, after 1 July 2025).
QN_DONG = 21601
QN = 21583
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def add_staff(
    db: Database, username: str, role: str, communes: list[int] | None = None
) -> int:
    async with db.session() as session:
        user = await create_user(session, username, PASSWORD, role, username.title(), communes)
        assert user.id is not None
        return user.id


async def file_tip(
    db: Database,
    settings: Settings,
    route: tuple[str, str] = ("telegram", "777001"),
    **fields: Any,
) -> Tip:
    """A tip as the bot files it (same function), without playing the whole dialogue."""
    draft = Draft(
        category=fields.pop("category", "drugs"),
        commune_code=fields.pop("commune_code", QN_DONG),
        description=fields.pop("description", "Có người bán ma túy ở hẻm 12, tối nào cũng có."),
        **fields,
    )
    cipher = RelayCipher(settings.tip_relay_keys.get_secret_value())
    async with db.session() as session:
        code, _pin = await submit_tip(session, draft, route, cipher, settings)
    async with db.session() as session:
        from sqlalchemy import select

        return (await session.execute(select(Tip).where(Tip.code == code))).scalar_one()


@dataclass
class PanelClient:
    """A browser-less staff member: keeps cookies, finds CSRF tokens in pages."""

    base: str
    http: aiohttp.ClientSession

    @classmethod
    def open(cls, base: str) -> PanelClient:
        jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1
        return cls(base, aiohttp.ClientSession(cookie_jar=jar))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        async with self.http.get(self.base + path, allow_redirects=False, **kw) as r:
            return r.status, await r.text()

    async def page(self, path: str) -> str:
        status, html = await self.get(path)
        assert status == 200, (path, status)
        return html

    async def post(
        self, path: str, data: dict[str, Any], csrf_from: str | None = None, **kw: Any
    ) -> tuple[int, str, str]:
        """POST a form; the CSRF token is taken from the page `csrf_from` (or the form's page
        itself) unless `data` has one. Returns (status, Location, body)."""
        if "csrf" not in data:
            data = {**data, "csrf": csrf_of(await self.page(csrf_from or path))}
        async with self.http.post(self.base + path, data=data, allow_redirects=False, **kw) as r:
            return r.status, r.headers.get("Location", ""), await r.text()

    async def login(self, username: str, password: str = PASSWORD, totp: str = "") -> int:
        status, _location, _ = await self.post(
            "/admin/login", {"username": username, "password": password, "totp": totp}
        )
        return status

    def cookie(self, name: str) -> str | None:
        for c in self.http.cookie_jar:
            if c.key == name:
                return c.value
        return None


async def receive(resident: object, stack: Stack) -> str:
    """What reached `resident` without them writing (an officer's question), as text; their
    view of the chat moves on, so a button in it can be pressed next."""
    await stack.runtime.outbox.flush()
    if isinstance(resident, TelegramResident):
        return "\n".join(m.get("text") or "" for m in resident._new_messages())
    if isinstance(resident, ZaloOAResident):
        return resident._new()
    if isinstance(resident, WebStepper):
        return "\n".join(m.get("text", "") for m in await resident.resident.read(stack.runtime))
    assert isinstance(resident, ZaloBotResident)
    sent = resident.fake.sent(resident.chat_id)
    new, resident.seen = sent[resident.seen :], len(sent)
    texts = [m.get("text") or "" for m in new]
    if texts:
        resident.last = texts
    return "\n".join(texts)
