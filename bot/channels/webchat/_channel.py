"""The web chat: a page on our own server, for residents without (or avoiding) a messenger.

A visitor is identified by a random cookie; only its SHA-256 is stored, as the chat id.
Replies go through the same outbox as every channel and land in `webchat_message`, which the
page reads (long polling, woken at once in this process, every few seconds across processes).
A message is deleted as soon as the page confirms it has it (its next poll), and one never
read is pruned within minutes (`bot.housekeeping.WEBCHAT_RETENTION`): the page keeps the
transcript, the database does not (docs/anonymity.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import secrets
import uuid
from pathlib import Path

from aiohttp import web
from sqlalchemy import delete, select
from sqlmodel import col

from bot.core.dispatch import Core
from bot.core.limits import WebChatLimit
from bot.core.platform import Platform
from bot.core.request_body import read_json_body
from bot.core.types import Capabilities, Inbound, Reply
from bot.db import Database
from bot.models import WebChatMessage

__all__ = ["CAPABILITIES", "CHANNEL", "WebChatChannel", "webchat_routes"]

log = logging.getLogger(__name__)
CHANNEL = Platform.WEB
COOKIE = "antq_chat"
MAX_BODY = 16 * 1024
MAX_WAIT = 25.0
#: Largest message id there can be (the column is a 32-bit INTEGER on PostgreSQL).
MAX_MESSAGE_ID = 2**31 - 1
STATIC = Path(__file__).parent / "static"
CAPABILITIES = Capabilities(
    buttons=True,
    max_text=WebChatLimit.MAX_TEXT_LENGTH,
    location=False,
    photos=False,
    seen_by="nobody",
)


def chat_id_for(token: str) -> str:
    return "w" + hashlib.sha256(token.encode()).hexdigest()[:32]


class WebChatChannel:
    name = CHANNEL
    caps = CAPABILITIES

    def __init__(self, db: Database) -> None:
        self.db = db
        self._arrived = asyncio.Condition()
        self._closing = False

    async def send(self, chat_id: str, message: Reply) -> None:
        async with self.db.session() as session:
            session.add(
                WebChatMessage(chat_id=chat_id, payload=message.to_json(), private=message.private)
            )
        async with self._arrived:
            self._arrived.notify_all()

    async def acknowledge(self, inbound: Inbound) -> None:
        return None

    async def close(self) -> None:
        """Answer every waiting long poll now, so a shutdown does not wait for them."""
        self._closing = True
        async with self._arrived:
            self._arrived.notify_all()

    async def messages(self, chat_id: str, after: int, wait: float) -> list[dict[str, object]]:
        """Messages newer than `after`; waits up to `wait` seconds for the first one.

        Asking for messages after `after` says the page has every message up to it: those
        are deleted then. Deleting at reading would lose a reply to a long poll whose page
        has just been closed or reloaded (the request lives on after the page has gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        if after > 0:
            async with self.db.session() as session:
                await session.execute(
                    delete(WebChatMessage).where(
                        col(WebChatMessage.chat_id) == chat_id, col(WebChatMessage.id) <= after
                    )
                )
        while True:
            query = (
                select(WebChatMessage)
                .where(col(WebChatMessage.chat_id) == chat_id, col(WebChatMessage.id) > after)
                .order_by(col(WebChatMessage.id))
                .limit(50)
            )
            async with self.db.session() as session:
                rows = (await session.execute(query)).scalars().all()
            remaining = deadline - loop.time()
            if rows or remaining <= 0 or self._closing:
                return [{"id": r.id, **r.payload} for r in rows]
            async with self._arrived:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), timeout=min(remaining, 3.0))


def _token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return token if 20 <= len(token) <= 64 and token.isascii() else None


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = request.headers.get("Host", "")
    return hmac.compare_digest(origin.split("://", 1)[-1].encode(), host.encode())


def _address_tag(request: web.Request, key: bytes, trust_forwarded: bool) -> str:
    """The client's address, hashed with a key of this process (`Inbound.client_tag`). Behind
    our proxy (`trust_forwarded`) the address is the last `X-Forwarded-For` entry, the one
    the proxy added, as the staff panel reads it."""
    address = request.remote or "?"
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            address = forwarded.split(",")[-1].strip()[:64]
    return hmac.new(key, address.encode(errors="surrogateescape"), hashlib.sha256).hexdigest()


def webchat_routes(
    core: Core,
    channel: WebChatChannel,
    *,
    secure_cookie: bool = False,
    trust_forwarded: bool = False,
) -> list[web.AbstractRouteDef]:
    """The page and its API. `secure_cookie`: served over HTTPS (behind the TLS proxy, where
    the request itself arrives as plain HTTP). `trust_forwarded`: behind our own proxy, which
    sets `X-Forwarded-For` (ADMIN_TRUST_FORWARDED)."""
    # a visitor's address tag is only for limits in memory: a new key at every start
    address_key = secrets.token_bytes(32)

    async def page(request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "index.html")
        if _token(request) is None:
            response.set_cookie(
                COOKIE,
                secrets.token_urlsafe(24),
                httponly=True,
                samesite="Strict",
                secure=secure_cookie or request.secure,
                max_age=180 * 24 * 3600,
            )
        return response

    async def send(request: web.Request) -> web.StreamResponse:
        token = _token(request)
        if token is None or not _same_origin(request):
            raise web.HTTPForbidden(text="open /chat first")
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="application/json expected")
        data = await read_json_body(request, MAX_BODY)
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        text, payload, msg_id = data.get("text", ""), data.get("payload", ""), data.get("id")
        if not isinstance(text, str) or not isinstance(payload, str):
            raise web.HTTPBadRequest(text="text and payload must be strings")
        try:
            update_id = str(uuid.UUID(str(msg_id)))
        except ValueError as exc:
            raise web.HTTPBadRequest(text="id must be a UUID") from exc
        if len(payload) > 64:
            raise web.HTTPBadRequest(text="payload too long")
        if not text.strip() and not payload:
            raise web.HTTPBadRequest(text="empty message")
        inbound = Inbound(
            channel=CHANNEL,
            chat_id=chat_id_for(token),
            update_id=update_id,
            kind="button" if payload else "text",
            text=text[: WebChatLimit.MAX_TEXT_LENGTH],
            payload=payload,
            language_hint=request.headers.get("Accept-Language", "")[:2] or None,
            client_tag=_address_tag(request, address_key, trust_forwarded),
        )
        handled = await core.handle(inbound)
        return web.json_response({"ok": True, "duplicate": not handled})

    async def poll(request: web.Request) -> web.StreamResponse:
        token = _token(request)
        if token is None:
            raise web.HTTPForbidden(text="open /chat first")
        try:
            after = int(request.query.get("after", "0"))
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT)
            if math.isnan(wait):  # it would never run out
                raise ValueError("wait is NaN")
        except ValueError as exc:
            raise web.HTTPBadRequest(text="after and wait must be numbers") from exc
        after = min(max(after, 0), MAX_MESSAGE_ID)  # a larger one would not fit the column
        messages = await channel.messages(chat_id_for(token), after, max(wait, 0.0))
        return web.json_response({"ok": True, "messages": messages})

    return [
        web.get("/chat", page),
        web.post("/chat/api/send", send),
        web.get("/chat/api/messages", poll),
        web.static("/chat/static", STATIC),
    ]
