"""Sending to Telegram with python-telegram-bot, mapping its errors to the core's."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.core.channel import Blocked, PermanentFailure, RetryLater, TransientFailure
from bot.core.limits import TelegramLimit
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
        request=HTTPXRequest(connection_pool_size=128, read_timeout=15, pool_timeout=10),
        get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=40),
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    name = "telegram"
    caps = CAPABILITIES

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, message: Reply) -> None:
        markup = None
        if message.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                    for row in message.buttons
                ]
            )
        try:
            if message.photo:
                await self.bot.send_photo(
                    chat_id, message.photo, caption=message.text or None, reply_markup=markup
                )
            else:
                # No parse_mode: text may carry what residents typed.
                await self.bot.send_message(chat_id, message.text, reply_markup=markup)
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

    async def acknowledge(self, inbound: Inbound) -> None:
        if not inbound.callback_id:
            return
        try:
            await self.bot.answer_callback_query(inbound.callback_id)
        except TelegramError as exc:
            # Only the button's spinner depends on it; the reply itself is in the outbox.
            log.info("answerCallbackQuery failed: %s", exc)
