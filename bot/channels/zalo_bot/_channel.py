"""The Zalo Bot channel: sending (numbered choices, no buttons), webhook, long polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.channels.zalo_bot._client import ZaloBotClient, ZaloBotError
from bot.channels.zalo_bot._parse import parse_update
from bot.core.channel import PermanentFailure, RetryLater, TransientFailure
from bot.core.dispatch import Core
from bot.core.limits import ZaloBotLimit
from bot.core.platform import Platform
from bot.core.request_body import read_json_body
from bot.core.types import Capabilities, Inbound, Reply
from bot.core.webhook import Handler, deliver, require_secret

__all__ = [
    "CAPABILITIES",
    "SECRET_HEADER",
    "ZaloBotChannel",
    "ZaloBotPoller",
    "zalo_bot_webhook_handler",
]

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
# Zalo's bot API has no keyboards: replies come as numbered choices. Its length unit is not
# documented, so texts are split counting UTF-16 units (the stricter reading).
CAPABILITIES = Capabilities(
    buttons=False, max_text=ZaloBotLimit.MAX_TEXT_LENGTH, location=False, photos=True, utf16=True
)


class ZaloBotChannel:
    name = Platform.ZALO_BOT
    caps = CAPABILITIES

    def __init__(self, client: ZaloBotClient, retry_after: float = 5.0) -> None:
        self.client = client
        #: Zalo documents 429 "Quota exceeded" but no Retry-After: how long to pause then.
        self.retry_after = retry_after

    async def download(self, ref: str, max_bytes: int) -> bytes:
        return await self.client.download(ref, max_bytes)

    async def send(self, chat_id: str, message: Reply) -> None:
        try:
            if message.photo:
                await self.client.send_photo(chat_id, message.photo, message.text)
            else:
                await self.client.send_message(chat_id, message.text)
        except ZaloBotError as exc:
            if exc.code == 429:
                raise RetryLater(self.retry_after) from exc
            if exc.code in (400, 401, 404):
                if exc.code == 401:
                    log.error("zalo bot: the token was refused (401); check ZALO_BOT_TOKEN")
                raise PermanentFailure(str(exc)) from exc
            raise TransientFailure(str(exc)) from exc  # network, 403 ("internal error"), 5xx

    async def acknowledge(self, inbound: Inbound) -> None:
        return None


def zalo_bot_webhook_handler(core: Core, secret: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.content_length == 0:
            return web.Response(text="ok")  # Zalo's empty probes
        require_secret(request, SECRET_HEADER, secret, web.HTTPForbidden, "zalo bot")
        inbound = await deliver(core, await read_json_body(request), parse_update, "zalo bot")
        return web.Response(text="ok" if inbound is not None else "ignored")

    return handler


class ZaloBotPoller:
    """getUpdates long polling (development): one update per call, HTTP 408 when none."""

    def __init__(self, client: ZaloBotClient, core: Core, wait_seconds: int = 30) -> None:
        self.client, self.core, self.wait_seconds = client, core, wait_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A webhook and a poller on one bot make the channel silent: drop the webhook first.
        with contextlib.suppress(ZaloBotError):
            await self.client.delete_webhook()
        self._task = asyncio.create_task(self._run(), name="zalo-bot-polling")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                update = await self.client.get_update(self.wait_seconds)
            except ZaloBotError as exc:
                log.warning("zalo bot getUpdates failed: %s; retrying", exc)
                await asyncio.sleep(3)
                continue
            if update is None:
                continue
            try:
                inbound = parse_update(update)
                if inbound is not None:
                    await self.core.handle(inbound)
            except ValueError as exc:
                log.warning("zalo bot polling: %s", exc)
            except Exception:
                # Zalo has no offsets: an update that failed here is not fetched again.
                log.exception("zalo bot polling: an update could not be handled")
