"""The Zalo OA channel: consultation messages with buttons, and the signed webhook."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from aiohttp import web

from bot.channels.zalo_oa._client import RATE_LIMITED, ZaloOAClient, ZaloOAError
from bot.channels.zalo_oa._parse import (
    BUTTON_PREFIX,
    dedup_key_from,
    event_is_current,
    parse_event,
    signature_matches,
)
from bot.channels.zalo_oa._tokens import TokenError
from bot.core.channel import (
    Blocked,
    OutOfWindow,
    PermanentFailure,
    RetryLater,
    TransientFailure,
)
from bot.core.dispatch import Core
from bot.core.download import fetch_capped
from bot.core.limits import ZaloBotLimit
from bot.core.platform import Platform
from bot.core.request_body import parse_json, read_raw_body
from bot.core.types import Capabilities, Inbound, Reply
from bot.core.webhook import Handler, deliver
from bot.models import utcnow

__all__ = ["SIGNATURE_HEADER", "ZaloOAChannel", "zalo_oa_capabilities", "zalo_oa_webhook_handler"]

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_BUTTON_TITLE = 100
#: -230/-232: no interaction in 7 days; -227: inactive over 45 days.
OUT_OF_WINDOW = frozenset({-230, -232, -227})
#: -213 not a follower (unfollowed); -217 the user blocked the OA.
BLOCKED = frozenset({-213, -217})


def zalo_oa_capabilities(max_buttons: int) -> Capabilities:
    return Capabilities(
        buttons=True,
        max_text=ZaloBotLimit.MAX_TEXT_LENGTH,
        location=True,
        photos=True,
        max_buttons=max_buttons,
        utf16=True,
        seen_by="inbox",  # the OA's administrators read every conversation in Zalo
    )


class ZaloOAChannel:
    name = Platform.ZALO_OA

    def __init__(self, client: ZaloOAClient, max_buttons: int = 5, retry_after: float = 15.0):
        self.client = client
        self.caps = zalo_oa_capabilities(max_buttons)
        self.retry_after = retry_after

    async def download(self, ref: str, max_bytes: int) -> bytes:
        """An image a follower sent (`attachments[0].payload.url`, on Zalo's CDN)."""
        return await fetch_capped(self.client.http, ref, max_bytes)

    def _message(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {}
        if reply.text:
            message["text"] = reply.text
        if reply.photo:
            message["attachment"] = {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": reply.photo}],
                },
            }
        elif reply.buttons:
            buttons = [
                {
                    "title": b.label[:MAX_BUTTON_TITLE],
                    "type": "oa.query.hide",
                    "payload": BUTTON_PREFIX + b.payload,
                }
                for row in reply.buttons
                for b in row
            ]
            message["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
        return message

    async def send(self, chat_id: str, message: Reply) -> None:
        try:
            await self.client.send_cs(chat_id, self._message(message))
        except ZaloOAError as exc:
            if exc.code in OUT_OF_WINDOW:
                raise OutOfWindow(str(exc)) from exc
            if exc.code in BLOCKED:
                raise Blocked(str(exc)) from exc
            if exc.code == RATE_LIMITED:
                raise RetryLater(self.retry_after) from exc
            if exc.code in (-201, -233):
                raise PermanentFailure(str(exc)) from exc
            raise TransientFailure(str(exc)) from exc
        except TokenError as exc:
            raise TransientFailure(str(exc)) from exc

    async def acknowledge(self, inbound: Inbound) -> None:
        return None


def zalo_oa_webhook_handler(core: Core, *, app_id: str, secrets: dict[str, str]) -> Handler:
    parse = partial(parse_event, dedup_key=dedup_key_from(secrets))

    async def handler(request: web.Request) -> web.StreamResponse:
        raw = await read_raw_body(request)  # the signature covers these exact bytes
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        header = request.headers.get(SIGNATURE_HEADER)
        if not signature_matches(raw, header, body, app_id=app_id, secrets=secrets):
            log.warning("zalo oa webhook: bad or missing signature from %s", request.remote)
            raise web.HTTPForbidden(text="bad signature")
        if not event_is_current(body, utcnow()):
            # answered 200 all the same: Zalo would only retry it, and it is not ours to take
            log.warning("zalo oa webhook: a signed event outside the time window was ignored")
            return web.Response(text="stale")
        inbound = await deliver(core, body, parse, "zalo oa")
        return web.Response(text="ok" if inbound is not None else "ignored")

    return handler
