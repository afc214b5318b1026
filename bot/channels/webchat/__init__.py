"""The web chat channel: our own page, no messaging account needed."""

from bot.channels.webchat._channel import (
    CAPABILITIES,
    CHANNEL,
    WebChatChannel,
    chat_id_for,
    webchat_routes,
)
from bot.channels.webchat._plugin import PLUGIN

__all__ = [
    "CAPABILITIES",
    "CHANNEL",
    "PLUGIN",
    "WebChatChannel",
    "chat_id_for",
    "webchat_routes",
]
