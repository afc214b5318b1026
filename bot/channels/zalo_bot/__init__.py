"""The Zalo Bot Platform channel (bot-api.zaloplatforms.com), on our own httpx client."""

from bot.channels.zalo_bot._channel import (
    CAPABILITIES,
    SECRET_HEADER,
    ZaloBotChannel,
    ZaloBotPoller,
    zalo_bot_webhook_handler,
)
from bot.channels.zalo_bot._client import DEFAULT_BASE_URL, ZaloBotClient, ZaloBotError
from bot.channels.zalo_bot._parse import CHANNEL, parse_update
from bot.channels.zalo_bot._plugin import PLUGIN, WEBHOOK_PATH

__all__ = [
    "CAPABILITIES",
    "CHANNEL",
    "DEFAULT_BASE_URL",
    "PLUGIN",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "ZaloBotChannel",
    "ZaloBotClient",
    "ZaloBotError",
    "ZaloBotPoller",
    "parse_update",
    "zalo_bot_webhook_handler",
]
