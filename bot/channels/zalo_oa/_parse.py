"""Zalo OA webhook: signature check on the raw body, then events -> Inbound.

Signature: `X-ZEvent-Signature: mac=<sha256(app_id + raw_body + timestamp + secret)>` (plain
SHA-256, not HMAC). Which secret (the OA Secret Key of the webhook settings, or the App
Secret) and which id comes first are not settled in Zalo's documentation, so the variants are
tried in order and the first one that matches is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from bot.core.types import Inbound, Location

__all__ = ["BUTTON_PREFIX", "CHANNEL", "parse_event", "signature_matches"]

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
#: Tapping an `oa.query.hide` button makes the resident send its payload as text; ours start
#: with this, so they can be told apart from typed text.
BUTTON_PREFIX = "#q:"
_IGNORED_PREFIXES = ("oa_send_", "user_received_", "user_seen_")
_matched: set[str] = set()


def signature_matches(
    raw: bytes, header: str | None, body: dict[str, Any], *, app_id: str, secrets: dict[str, str]
) -> bool:
    """Check `header` against every (id, secret) variant; `secrets` maps a name to a secret."""
    if not header or not header.strip().lower().startswith("mac="):
        return False
    given = header.strip()[4:].strip().lower().encode()
    timestamp = str(body.get("timestamp", ""))
    ids = dict.fromkeys(i for i in (str(body.get("app_id") or ""), app_id) if i)
    text = raw.decode("utf-8", errors="surrogateescape")
    for first in ids:
        for name, secret in secrets.items():
            if not secret:
                continue
            digest = hashlib.sha256(
                (first + text + timestamp + secret).encode("utf-8", errors="surrogateescape")
            ).hexdigest()
            if hmac.compare_digest(given, digest.encode()):
                variant = f"app_id + body + timestamp + {name}"
                if variant not in _matched:
                    _matched.add(variant)
                    log.info("zalo oa: webhook signature variant in use: %s", variant)
                return True
    return False


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_event(body: dict[str, Any]) -> Inbound | None:
    """The Inbound for an event; None for events that are not a resident acting (echoes of
    our own messages, delivery and seen receipts). ValueError for garbage."""
    event = body.get("event_name")
    if not isinstance(event, str):
        raise ValueError("not a Zalo OA event: no event_name")
    if event.startswith(_IGNORED_PREFIXES):
        return None
    timestamp = str(body.get("timestamp", ""))
    if event in ("follow", "unfollow"):
        follower = body.get("follower")
        user = follower.get("id") if isinstance(follower, dict) else None
        if not isinstance(user, (str, int)) or not str(user):
            raise ValueError("follow event without a follower id")
        return Inbound(
            channel=CHANNEL,
            chat_id=str(user)[:64],
            update_id=f"{event}:{user}:{timestamp}"[:80],
            kind="follow" if event == "follow" else "unfollow",
        )
    if not event.startswith("user_send_"):
        return None
    sender, message = body.get("sender"), body.get("message")
    user = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(user, (str, int)) or not str(user) or not isinstance(message, dict):
        raise ValueError("Zalo OA message event without sender or message")
    msg_id = message.get("msg_id")
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": str(user)[:64],
        "update_id": str(msg_id if msg_id else f"{event}:{user}:{timestamp}")[:80],
    }
    text = message.get("text")
    attachments = message.get("attachments")
    first = attachments[0] if isinstance(attachments, list) and attachments else {}
    payload = first.get("payload") if isinstance(first, dict) else None
    payload = payload if isinstance(payload, dict) else {}
    if event == "user_send_text" and isinstance(text, str):
        if text.startswith(BUTTON_PREFIX):
            return Inbound(kind="button", payload=text[len(BUTTON_PREFIX) :][:64], **base)
        return Inbound(kind="text", text=text, **base)
    if event == "user_send_location":
        coordinates = payload.get("coordinates")
        if isinstance(coordinates, dict):
            lat, lon = _float(coordinates.get("latitude")), _float(coordinates.get("longitude"))
            if lat is not None and lon is not None:
                return Inbound(kind="location", location=Location(lat, lon), **base)
    if event == "user_send_image" and isinstance(payload.get("url"), str):
        return Inbound(kind="photo", photo_ids=(payload["url"],), text=text or "", **base)
    return Inbound(kind="unsupported", **base)
