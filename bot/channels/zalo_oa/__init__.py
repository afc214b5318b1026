"""The Zalo Official Account channel (Open API v3, OAuth v4), on our own httpx client."""

from bot.channels.zalo_oa._channel import (
    SIGNATURE_HEADER,
    ZaloOAChannel,
    zalo_oa_capabilities,
    zalo_oa_webhook_handler,
)
from bot.channels.zalo_oa._client import ZaloOAClient, ZaloOAError
from bot.channels.zalo_oa._parse import (
    BUTTON_PREFIX,
    CHANNEL,
    MAX_EVENT_AGE,
    MAX_EVENT_LEAD,
    dedup_key_from,
    event_is_current,
    parse_event,
    signature_matches,
)
from bot.channels.zalo_oa._plugin import PLUGIN, WEBHOOK_PATH
from bot.channels.zalo_oa._tokens import TokenError, TokenStore

__all__ = [
    "BUTTON_PREFIX",
    "CHANNEL",
    "MAX_EVENT_AGE",
    "MAX_EVENT_LEAD",
    "PLUGIN",
    "SIGNATURE_HEADER",
    "WEBHOOK_PATH",
    "TokenError",
    "TokenStore",
    "ZaloOAChannel",
    "ZaloOAClient",
    "ZaloOAError",
    "dedup_key_from",
    "event_is_current",
    "parse_event",
    "signature_matches",
    "zalo_oa_capabilities",
    "zalo_oa_webhook_handler",
]
