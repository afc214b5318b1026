"""Errors, message validation and webhook envelopes for the fake Zalo OA Open API.

Private helper of :mod:`bot.fakes.zalo_oa`. Everything here is pure (no server state): the
Open API error envelope, the OAuth v4 error body, validation of a ``/v3.0/oa/message/cs``
request and builders for the webhook events Zalo POSTs to the OA's webhook URL.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_TEXT_LENGTH = 2000
MAX_BUTTONS = 5  # the real cap for CS buttons is unconfirmed (docs/fake-zalo-oa.md)
MAX_BUTTON_TITLE = 100
MAX_SUBTITLE = 500
BUTTON_TYPES = frozenset(
    {"oa.query.hide", "oa.query.show", "oa.open.url", "oa.open.phone", "oa.open.sms"}
)
QUERY_BUTTONS = frozenset({"oa.query.hide", "oa.query.show"})

# Open API error codes (HTTP 200, {"error": code, "message": ...}); messages as Zalo writes them.
RATE_LIMITED = -32
INVALID_PARAM = -201
NOT_FOLLOWER = -213
INVALID_TOKEN = -216
EXPIRED_TOKEN = -220
NO_INTERACTION = -230
UNSUPPORTED_TYPE = -233
V2_SHUT_DOWN = -240
MESSAGES = {
    RATE_LIMITED: "Your OA reached limit call api",
    NOT_FOLLOWER: "User has not followed OA",
    INVALID_TOKEN: "Access token is invalid",
    EXPIRED_TOKEN: "access_token is expired or removed",
    NO_INTERACTION: "User has not interacted with the OA in the past 7 days",
    UNSUPPORTED_TYPE: "message type is invalid or not support",
    V2_SHUT_DOWN: "MessageV2 API has been shut down, please switch to MessageV3",
}


class ZaloError(Exception):
    """An Open API error: always HTTP 200 with ``{"error": code, "message": ...}``."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "Unknown error")
        super().__init__(f"{code} {self.message}")

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message}


def invalid(field: str, why: str = "") -> ZaloError:
    return ZaloError(INVALID_PARAM, f"{field} is invalid!" + (f" ({why})" if why else ""))


class OAuthError(Exception):
    """An OAuth v4 error: HTTP 200 with ``error_name`` / ``error_reason`` /
    ``error_description`` and deliberately no numeric ``error`` field."""

    def __init__(self, name: str, reason: str, description: str) -> None:
        self.name = name
        self.reason = reason
        self.description = description
        super().__init__(description)

    def payload(self) -> dict[str, Any]:
        return {
            "error_name": self.name,
            "error_reason": self.reason,
            "error_description": self.description,
        }


def nfc_len(text: str) -> int:
    """Length that counts against the 2000-character cap: code points after NFC."""
    if text.isascii():
        return len(text)
    return len(unicodedata.normalize("NFC", text))


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit() and len(value) <= 32


@dataclass(slots=True)
class CsMessage:
    """A validated consultation message."""

    user_id: str
    kind: str  # text | buttons | image | request_user_info
    text: str | None
    buttons: list[dict[str, Any]] | None
    image_url: str | None
    attachment: dict[str, Any] | None
    quote_message_id: str | None


def parse_cs_message(data: Any) -> CsMessage:
    """Validate a ``/v3.0/oa/message/cs`` body; raises :class:`ZaloError`."""
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    recipient = data.get("recipient")
    if not isinstance(recipient, dict):
        raise invalid("recipient")
    user_id = recipient.get("user_id")
    if not _is_id(user_id):
        raise invalid("user_id", "must be a string of digits")
    assert isinstance(user_id, str)
    message = data.get("message")
    if not isinstance(message, dict):
        raise invalid("message")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise invalid("text", "must be a string")
    if text is not None and nfc_len(text) > MAX_TEXT_LENGTH:
        raise invalid("text", f"longer than {MAX_TEXT_LENGTH} characters")
    quote = message.get("quote_message_id")
    if quote is not None and not isinstance(quote, str):
        raise invalid("quote_message_id")
    attachment = message.get("attachment")
    if attachment is None:
        if text is None or not text.strip():
            raise invalid("text", "empty")
        return CsMessage(user_id, "text", text, None, None, None, quote)
    if not isinstance(attachment, dict):
        raise invalid("attachment")
    if attachment.get("type") != "template":
        raise ZaloError(UNSUPPORTED_TYPE)
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        raise invalid("attachment.payload")
    buttons = _parse_buttons(payload["buttons"]) if "buttons" in payload else None
    template_type = payload.get("template_type")
    image_url: str | None = None
    if template_type is None:
        if buttons is None:
            raise invalid("attachment.payload", "no buttons and no template_type")
        kind = "buttons"
    elif template_type == "media":
        image_url = _parse_media(payload.get("elements"))
        kind = "image"
    elif template_type == "request_user_info":
        _parse_request_user_info(payload.get("elements"))
        kind = "request_user_info"
    else:
        raise ZaloError(UNSUPPORTED_TYPE)
    return CsMessage(user_id, kind, text, buttons, image_url, attachment, quote)


def _parse_buttons(buttons: Any) -> list[dict[str, Any]]:
    if not isinstance(buttons, list) or not buttons:
        raise invalid("buttons", "must be a non-empty list")
    if len(buttons) > MAX_BUTTONS:
        raise invalid("buttons", f"more than {MAX_BUTTONS} buttons")
    for i, button in enumerate(buttons):
        where = f"buttons[{i}]"
        if not isinstance(button, dict):
            raise invalid(where)
        title = button.get("title")
        if not isinstance(title, str) or not title.strip():
            raise invalid(f"{where}.title", "empty")
        if nfc_len(title) > MAX_BUTTON_TITLE:
            raise invalid(f"{where}.title", f"longer than {MAX_BUTTON_TITLE} characters")
        kind = button.get("type")
        if kind not in BUTTON_TYPES:
            raise invalid(f"{where}.type")
        payload = button.get("payload")
        if kind in QUERY_BUTTONS:
            if not isinstance(payload, str) or not payload:
                raise invalid(f"{where}.payload", "must be a non-empty string")
            continue
        if not isinstance(payload, dict):
            raise invalid(f"{where}.payload", "must be an object")
        if kind == "oa.open.url" and not _is_http_url(payload.get("url")):
            raise invalid(f"{where}.payload.url")
        if kind in ("oa.open.phone", "oa.open.sms"):
            phone = payload.get("phone_code")
            if not isinstance(phone, str) or not phone.strip():
                raise invalid(f"{where}.payload.phone_code")
        if kind == "oa.open.sms" and not isinstance(payload.get("content"), str):
            raise invalid(f"{where}.payload.content")
    return buttons


def _single_element(elements: Any) -> dict[str, Any]:
    if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
        raise invalid("elements", "must be a list of exactly one object")
    element: dict[str, Any] = elements[0]
    return element


def _parse_media(elements: Any) -> str:
    element = _single_element(elements)
    if element.get("media_type") != "image":
        raise invalid("elements[0].media_type", "only image is supported")
    url = element.get("url")
    if url is not None:
        if not _is_http_url(url):
            raise invalid("elements[0].url")
        return str(url)
    attachment_id = element.get("attachment_id")
    if not isinstance(attachment_id, str) or not attachment_id:
        raise invalid("elements[0]", "needs url or attachment_id")
    return f"attachment_id:{attachment_id}"


def _parse_request_user_info(elements: Any) -> None:
    element = _single_element(elements)
    title = element.get("title")
    if not isinstance(title, str) or not title.strip() or nfc_len(title) > MAX_BUTTON_TITLE:
        raise invalid("elements[0].title")
    subtitle = element.get("subtitle")
    if subtitle is not None and (not isinstance(subtitle, str) or nfc_len(subtitle) > MAX_SUBTITLE):
        raise invalid("elements[0].subtitle")
    if not _is_http_url(element.get("image_url")):
        raise invalid("elements[0].image_url")


# --------------------------------------------------------------------------- webhook


def signature(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """``X-ZEvent-Signature`` value: ``mac=`` + hex SHA-256 (not HMAC) of
    app_id + raw body + timestamp + secret."""
    digest = hashlib.sha256()
    digest.update(app_id.encode())
    digest.update(raw)
    digest.update(timestamp.encode())
    digest.update(secret.encode())
    return "mac=" + digest.hexdigest()


def user_id_by_app(app_id: str, user_id: str) -> str:
    """A stable app-scoped id for an OA-scoped user id (18 digits)."""
    digest = hashlib.sha256(f"{app_id}:{user_id}".encode()).digest()
    return str(10**17 + int.from_bytes(digest[:8], "big") % (9 * 10**17))


def coordinate(value: Any, name: str) -> str:
    """Latitude/longitude as Zalo sends them: a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    number = float(value)
    limit = 90 if name == "latitude" else 180
    if not -limit <= number <= limit:
        raise ValueError(f"{name} out of range")
    return value.strip() if isinstance(value, str) else repr(float(value))


def sticker_url(sticker_id: str) -> str:
    return f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker_id}&size=130"


__all__ = [
    "BUTTON_TYPES",
    "MAX_BUTTONS",
    "MAX_BUTTON_TITLE",
    "MAX_TEXT_LENGTH",
    "QUERY_BUTTONS",
    "CsMessage",
    "OAuthError",
    "ZaloError",
    "coordinate",
    "invalid",
    "nfc_len",
    "parse_cs_message",
    "signature",
    "sticker_url",
    "user_id_by_app",
]
