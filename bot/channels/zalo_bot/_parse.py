"""Zalo Bot webhook / getUpdates bodies -> Inbound.

Zalo's documentation and its real traffic disagree: bodies arrive flat
(`{event_name, message}`) or wrapped (`{ok, result: {...}}`), and images as `photo_url` or
`photo`. Both are accepted, and the first time each variant is seen it is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.core.platform import Platform
from bot.core.types import Inbound

__all__ = ["CHANNEL", "parse_update", "unwrap"]

log = logging.getLogger(__name__)
CHANNEL = Platform.ZALO_BOT
_seen_variants: set[str] = set()


def _variant(name: str) -> None:
    if name not in _seen_variants:
        _seen_variants.add(name)
        log.info("zalo bot: first update in the %s form", name)


def unwrap(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("ok") is True and isinstance(body.get("result"), dict):
        _variant("wrapped {ok, result}")
        return dict(body["result"])
    _variant("flat {event_name, message}")
    return body


def parse_update(body: dict[str, Any]) -> Inbound | None:
    """The Inbound for a body, None for events that are not a resident talking (test pings).

    Raises ValueError when the body is not a Zalo Bot update at all.
    """
    update = unwrap(body)
    event = update.get("event_name")
    message = update.get("message")
    if not isinstance(event, str) or not isinstance(message, dict):
        raise ValueError("not a Zalo Bot update: no event_name/message")
    if event == "webhook.test":
        return None
    chat = message.get("chat")
    message_id = message.get("message_id")
    if not isinstance(chat, dict) or not isinstance(message_id, (str, int)):
        raise ValueError("not a Zalo Bot update: no chat or message_id")
    chat_id = chat.get("id")
    if not isinstance(chat_id, (str, int)) or not str(chat_id):
        raise ValueError("not a Zalo Bot update: no chat id")
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None  # groups are beta, and not a conversation with one resident
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": str(chat_id)[:64],
        "update_id": str(message_id)[:80],
    }
    text = message.get("text")
    if event == "message.text.received" and isinstance(text, str):
        return Inbound(kind="text", text=text, **base)
    if event == "message.image.received":
        for field in ("photo_url", "photo"):
            url = message.get(field)
            if isinstance(url, str) and url:
                _variant(f"image field {field!r}")
                caption = message.get("caption")
                return Inbound(
                    kind="photo",
                    text=caption if isinstance(caption, str) else "",
                    photo_ids=(url,),
                    **base,
                )
    # stickers, voice, and message.unsupported.received (sent instead of the content for
    # residents in protected categories): answered politely as something we cannot read
    return Inbound(kind="unsupported", **base)
