"""Telegram Update JSON -> platform-neutral Inbound (python-telegram-bot does the parsing)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.core.types import Inbound, Location

__all__ = ["CHANNEL", "parse_update"]

log = logging.getLogger(__name__)
CHANNEL = "telegram"
HANDLED_TYPES = frozenset({"message", "callback_query"})


def parse_update(data: dict[str, Any]) -> Inbound | None:
    """The Inbound for an update, or None for update types we do not handle.

    Raises ValueError when the JSON is not a Telegram update at all.
    """
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise ValueError("not a Telegram update: no integer update_id")
    if not HANDLED_TYPES.intersection(data):
        # edited messages, channel posts, polls, member updates… are not conversations with us
        return None
    try:
        update = Update.de_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a Telegram update: {exc.__class__.__name__}") from exc
    uid = str(update.update_id)
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None:
            return None
        return Inbound(
            channel=CHANNEL,
            chat_id=str(message.chat.id),
            update_id=uid,
            kind="button",
            payload=(query.data or "")[:64],
            language_hint=query.from_user.language_code if query.from_user else None,
            callback_id=query.id,
        )
    message = update.message
    if message is None:
        return None
    if message.chat.type != "private":
        return None
    hint = message.from_user.language_code if message.from_user else None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": str(message.chat.id),
        "update_id": uid,
        "language_hint": hint,
    }
    if message.text is not None:
        return Inbound(kind="text", text=message.text, **base)
    if message.location is not None:
        loc = Location(message.location.latitude, message.location.longitude)
        return Inbound(kind="location", location=loc, **base)
    if message.photo:
        return Inbound(
            kind="photo",
            text=message.caption or "",
            photo_ids=(message.photo[-1].file_id,),
            file_size=message.photo[-1].file_size,
            file_mime="image/jpeg",
            **base,
        )
    if message.document is not None:
        return Inbound(
            kind="file",
            text=message.caption or "",
            photo_ids=(message.document.file_id,),
            file_size=message.document.file_size,
            file_mime=message.document.mime_type or "",
            **base,
        )
    return Inbound(kind="unsupported", **base)
