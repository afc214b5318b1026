"""Sending to Telegram with python-telegram-bot, mapping its errors to the core's."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram._aiohttp_request import AiohttpRequest
from bot.core.channel import (
    Blocked,
    DownloadError,
    DownloadTooLarge,
    PermanentFailure,
    RetryLater,
    SendError,
    TransientFailure,
)
from bot.core.limits import TelegramLimit
from bot.core.platform import Platform
from bot.core.types import Capabilities, Inbound, Reply

__all__ = ["TelegramChannel", "make_bot"]

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    buttons=True, max_text=TelegramLimit.MAX_TEXT_LENGTH, location=True, photos=True
)


def make_bot(token: str, api_base: str) -> Bot:
    """A PTB Bot talking to `api_base` (Telegram, or our fake server on loopback)."""
    base = api_base.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=AiohttpRequest(connection_limit=128),
        get_updates_request=AiohttpRequest(connection_limit=2, read_timeout=40),
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    name = Platform.TELEGRAM
    caps = CAPABILITIES

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._send_message_url = f"{bot.base_url}/sendMessage"

    async def send(self, chat_id: str, message: Reply) -> None:
        try:
            if message.photo:
                markup = None
                if message.buttons:
                    markup = InlineKeyboardMarkup(
                        [
                            [InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                            for row in message.buttons
                        ]
                    )
                await self.bot.send_photo(
                    chat_id, message.photo, caption=message.text or None, reply_markup=markup
                )
            else:
                await self._send_text(chat_id, message)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except BadRequest as exc:
            raise PermanentFailure(str(exc)) from exc
        except NetworkError as exc:  # includes TimedOut
            raise TransientFailure(str(exc)) from exc
        except TelegramError as exc:
            raise TransientFailure(str(exc)) from exc

    async def _send_text(self, chat_id: str, message: Reply) -> None:
        """sendMessage straight through our aiohttp session: the text of a reply or of a
        campaign, to many chats at once. PTB's request objects, and the Message object it
        would build from every response nobody reads, were a third of the campaign engine's
        CPU; the Bot API's errors are mapped here as PTB maps them."""
        params: dict[str, object] = {"chat_id": chat_id, "text": message.text}
        if message.buttons:  # no parse_mode: the text may carry what residents typed
            params["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": b.label, "callback_data": b.payload} for b in row]
                    for row in message.buttons
                ]
            }
        request = self.bot.request
        if not isinstance(request, AiohttpRequest):  # another backend: PTB's own path
            await self.bot.do_api_request("sendmessage", api_kwargs=params)
            return
        body = json.dumps(params, ensure_ascii=False).encode()
        status, payload = await request.post_json(self._send_message_url, body)
        if status != 200:
            raise api_error(status, payload)

    async def acknowledge(self, inbound: Inbound) -> None:
        if not inbound.callback_id:
            return
        try:
            await self.bot.answer_callback_query(inbound.callback_id)
        except TelegramError as exc:
            # Only the button's spinner depends on it; the reply itself is in the outbox.
            log.info("answerCallbackQuery failed: %s", exc)

    async def download(self, ref: str, max_bytes: int) -> bytes:
        """A file the resident sent: getFile first, whose `file_size` refuses a big file
        before any byte of it is fetched (Telegram's file server serves at most 20 MB)."""
        try:
            file = await self.bot.get_file(ref)
            if file.file_size is not None and file.file_size > max_bytes:
                raise DownloadTooLarge(f"{file.file_size} bytes")
            if not file.file_path:
                raise DownloadError("no file_path: the file is not downloadable")
            data = await file.download_as_bytearray()
        except TelegramError as exc:  # the message names the error, never the file URL
            raise DownloadError(exc.__class__.__name__) from None
        if len(data) > max_bytes:
            raise DownloadTooLarge(f"{len(data)} bytes")
        return bytes(data)


def api_error(status: int, payload: bytes) -> SendError:
    """The core's error for a Bot API error response (PTB's mapping: `retry_after` → wait,
    403 → blocked, 400 → the request is wrong, anything else may pass)."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    description = str(data.get("description") or f"HTTP {status}")[:300]
    parameters = data.get("parameters")
    if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), int | float):
        return RetryLater(float(parameters["retry_after"]))
    if status == 429:
        return RetryLater(1.0)
    if status == 403:
        return Blocked(description)
    if status == 400:
        return PermanentFailure(description)
    return TransientFailure(description)
