"""The web chat channel: our own page, no messaging account needed."""

from bot.channels.webchat._channel import (
    CAPABILITIES,
    CHANNEL,
    WebChatChannel,
    chat_id_for,
    webchat_routes,
)

__all__ = ["CAPABILITIES", "CHANNEL", "WebChatChannel", "chat_id_for", "webchat_routes"]
