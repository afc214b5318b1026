"""Zalo Bot updates as a resident's messages produce them.

Private helper of :mod:`bot.fakes.zalo_bot`: turns a control-API shorthand
(``{"chat_id": ..., "text": ...}``) or a partial update (``{"event_name", "message"}``) into
the update object the Zalo Bot Platform delivers, filling ids, dates and the sender.
Field names follow the observed traffic described in ``shared/platforms/zalo.md`` §1.5.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.fakes._telegram_markup import bad_request

EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_VOICE = "message.voice.received"
EVENT_UNSUPPORTED = "message.unsupported.received"
EVENT_NAMES = frozenset({EVENT_TEXT, EVENT_IMAGE, EVENT_STICKER, EVENT_VOICE, EVENT_UNSUPPORTED})

#: Where an image's URL goes in ``message``: ``photo_url`` as observed, or ``photo`` as documented.
PHOTO_FIELDS = ("photo_url", "photo")

_CONTENT_KEYS = ("text", "photo_url", "sticker", "voice_url", "unsupported")
_SHORTHAND_KEYS = frozenset(
    {
        *_CONTENT_KEYS,
        "chat_id",
        "display_name",
        "wrapped",
        "photo_field",
        "caption",
        "url",
        "message_id",
        "date",
    }
)


def new_id() -> str:
    """A 20-hex-digit id, the shape of Zalo user, chat and message ids."""
    return secrets.token_hex(10)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


#: The display name the fake knows for a user id (None when it has none).
NameOf = Callable[[str], str | None]


@dataclass(slots=True)
class Injected:
    """One update ready to deliver, with the chat it came from and its delivery options."""

    chat_id: str
    display_name: str | None
    update: dict[str, Any]
    wrapped: bool | None

    @property
    def message_id(self) -> str:
        return str(self.update["message"]["message_id"])


def _id_str(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise bad_request(f"{what} must be a non-empty string")
    return str(value)


def _wrapped(spec: dict[str, Any]) -> bool | None:
    wrapped = spec.get("wrapped")
    if wrapped is not None and not isinstance(wrapped, bool):
        raise bad_request("wrapped must be a boolean")
    return wrapped


def build_update(spec: Any, name_of: NameOf) -> Injected:
    """Normalise one injected update (shorthand or ``{"event_name", "message"}``)."""
    if not isinstance(spec, dict):
        raise bad_request("an update must be a JSON object")
    if "event_name" in spec or "message" in spec:
        return _fill_update(spec, name_of)
    return _shorthand(spec, name_of)


def _shorthand(spec: dict[str, Any], name_of: NameOf) -> Injected:
    unknown = sorted(set(spec) - _SHORTHAND_KEYS)
    if unknown:
        raise bad_request(f"unknown shorthand field(s): {', '.join(unknown)}")
    chat_id = _id_str(spec.get("chat_id"), "chat_id")
    kinds = [key for key in _CONTENT_KEYS if key in spec]
    if len(kinds) != 1:
        raise bad_request(
            "shorthand needs exactly one of text, photo_url, sticker, voice_url, unsupported"
        )
    kind = kinds[0]
    name = spec.get("display_name")
    if name is not None and not isinstance(name, str):
        raise bad_request("display_name must be a string")
    content: dict[str, Any] = {}
    if kind == "text":
        if not isinstance(spec["text"], str):
            raise bad_request("text must be a string")
        event = EVENT_TEXT
        content["text"] = spec["text"]
    elif kind == "photo_url":
        field = spec.get("photo_field", "photo_url")
        if field not in PHOTO_FIELDS:
            raise bad_request('photo_field must be "photo_url" or "photo"')
        event = EVENT_IMAGE
        content[field] = _id_str(spec["photo_url"], "photo_url")
        if spec.get("caption"):
            content["caption"] = str(spec["caption"])
        content["message_type"] = "CHAT_PHOTO"
    elif kind == "sticker":
        event = EVENT_STICKER
        content["sticker"] = _id_str(spec["sticker"], "sticker")
        if spec.get("url"):
            content["url"] = str(spec["url"])
    elif kind == "voice_url":
        event = EVENT_VOICE
        content["voice_url"] = _id_str(spec["voice_url"], "voice_url")
        content["message_type"] = "CHAT_VOICE"
    else:
        if spec["unsupported"] is not True:
            raise bad_request("unsupported must be true")
        event = EVENT_UNSUPPORTED
    sender: dict[str, Any] = {"id": chat_id, "is_bot": False}
    shown = name or name_of(chat_id)
    # Protected senders (the reason for "unsupported") arrive without a name in captures.
    if shown and event != EVENT_UNSUPPORTED:
        sender = {"id": chat_id, "display_name": shown, "is_bot": False}
    message: dict[str, Any] = {
        "message_id": _id_str(spec.get("message_id") or new_id(), "message_id"),
        "date": _date(spec.get("date")),
        "from": sender,
        "chat": {"id": chat_id, "chat_type": "PRIVATE"},
        **content,
    }
    return Injected(chat_id, name, {"event_name": event, "message": message}, _wrapped(spec))


def _date(value: Any) -> int:
    if value is None:
        return now_ms()
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("date must be an integer (epoch milliseconds)")
    return value


def _fill_update(spec: dict[str, Any], name_of: NameOf) -> Injected:
    unknown = sorted(set(spec) - {"event_name", "message", "wrapped"})
    if unknown:
        raise bad_request(f"unknown update field(s): {', '.join(unknown)}")
    event = spec.get("event_name")
    if not isinstance(event, str) or not event:
        raise bad_request("event_name must be a non-empty string")
    raw = spec.get("message")
    if not isinstance(raw, dict):
        raise bad_request("message must be a JSON object")
    message = dict(raw)
    sender = message.get("from")
    chat = message.get("chat")
    sender = dict(sender) if isinstance(sender, dict) else {}
    chat = dict(chat) if isinstance(chat, dict) else {}
    chat_value = chat.get("id", sender.get("id"))
    if chat_value is None:
        raise bad_request("message needs chat.id or from.id")
    chat_id = _id_str(chat_value, "chat.id")
    chat.setdefault("id", chat_id)
    chat.setdefault("chat_type", "PRIVATE")
    if chat["chat_type"] == "PRIVATE":
        sender.setdefault("id", chat_id)
    elif "id" not in sender:
        raise bad_request("a group message needs from.id")
    name = sender.get("display_name")
    if "display_name" not in sender and event != EVENT_UNSUPPORTED:
        known = name_of(str(sender["id"]))
        if known:
            sender["display_name"] = known
    sender.setdefault("is_bot", False)
    message["message_id"] = _id_str(message.get("message_id") or new_id(), "message_id")
    message["date"] = _date(message.get("date"))
    message["from"] = sender
    message["chat"] = chat
    update = {"event_name": event, "message": message}
    private = chat["chat_type"] == "PRIVATE" and isinstance(name, str)
    return Injected(chat_id, name if private else None, update, _wrapped(spec))


__all__ = [
    "EVENT_IMAGE",
    "EVENT_NAMES",
    "EVENT_STICKER",
    "EVENT_TEXT",
    "EVENT_UNSUPPORTED",
    "EVENT_VOICE",
    "PHOTO_FIELDS",
    "Injected",
    "NameOf",
    "build_update",
    "new_id",
    "now_ms",
]
