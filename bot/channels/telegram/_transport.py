"""Getting updates from Telegram: webhook (production) or long polling (development)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.telegram._parse import CHANNEL, parse_update
from bot.channels.telegram._sender import TelegramChannel
from bot.core.dispatch import Core
from bot.core.request_body import read_json_body
from bot.core.webhook import Handler, deliver, require_secret

__all__ = ["SECRET_HEADER", "TelegramPoller", "telegram_webhook_handler"]

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: A poison update is skipped after this many attempts rather than block every later one.
MAX_UPDATE_FAILURES = 3


def telegram_webhook_handler(core: Core, channel: TelegramChannel, secret: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        require_secret(request, SECRET_HEADER, secret, web.HTTPUnauthorized, CHANNEL)
        inbound = await deliver(core, await read_json_body(request), parse_update, CHANNEL)
        if inbound is None:
            return web.Response(text="ignored")
        if inbound.callback_id:
            # The button's spinner stops now that the reply is committed. Answered in the
            # webhook's response, as the Bot API allows, rather than by a request of our
            # own: one call fewer per press, and nothing is lost if it goes astray (only
            # the spinner depends on it, and Telegram stops it after a while anyway).
            return web.json_response(
                {"method": "answerCallbackQuery", "callback_query_id": inbound.callback_id}
            )
        return web.Response(text="ok")

    return handler


class TelegramPoller:
    """getUpdates long polling for development (no public URL needed)."""

    def __init__(self, bot: Bot, core: Core, channel: TelegramChannel) -> None:
        self.bot, self.core, self.channel = bot, core, channel
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.bot.delete_webhook()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        offset = 0
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=25)
            except TelegramError as exc:
                log.warning("getUpdates failed: %s; retrying", exc)
                await asyncio.sleep(3)
                continue
            for update in updates:
                try:
                    inbound = parse_update(update.to_dict())
                    if inbound is not None:
                        await self.core.handle(inbound)
                        await self.channel.acknowledge(inbound)
                except Exception:
                    failures += 1
                    if failures < MAX_UPDATE_FAILURES:
                        # Keep the offset: the update comes again on the next call.
                        log.exception("polling: update %s failed; will retry", update.update_id)
                        await asyncio.sleep(1)
                        break
                    log.exception(
                        "polling: update %s skipped after %s failures", update.update_id, failures
                    )
                failures = 0
                offset = update.update_id + 1
