"""The Telegram channel, on python-telegram-bot v22."""

import os

# Opt in to PTB's timedelta time periods now (RetryAfter.retry_after) instead of a warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")


from bot.channels.telegram._parse import CHANNEL, parse_update
from bot.channels.telegram._plugin import PLUGIN, WEBHOOK_PATH
from bot.channels.telegram._sender import CAPABILITIES, TelegramChannel, make_bot
from bot.channels.telegram._transport import (
    SECRET_HEADER,
    TelegramPoller,
    telegram_webhook_handler,
)

__all__ = [
    "CAPABILITIES",
    "CHANNEL",
    "PLUGIN",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "TelegramChannel",
    "TelegramPoller",
    "make_bot",
    "parse_update",
    "telegram_webhook_handler",
]
