"""Zalo OA webhook: signature check on the raw body, then events -> Inbound.

Signature: `X-ZEvent-Signature: mac=<sha256(app_id + raw_body + timestamp + secret)>` (plain
SHA-256, not HMAC). Which secret (the OA Secret Key of the webhook settings, or the App
Secret) and which id comes first are not settled in Zalo's documentation, so the variants are
tried in order and the first one that matches is logged.

Deduplication keys are stored (`inbound_update`), so an event without a message id is keyed by
a keyed hash of what identifies the delivery, never by the follower's id: the key comes from
the OA's secrets, which stay in the settings. A signed event is also only taken while it is
recent: once its dedup record is pruned, a replayed copy would otherwise be handled again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core.platform import Platform
from bot.core.types import Inbound, Location

__all__ = [
    "BUTTON_PREFIX",
    "CHANNEL",
    "MAX_EVENT_AGE",
    "MAX_EVENT_LEAD",
    "dedup_key_from",
    "event_is_current",
    "parse_event",
    "signature_matches",
]

log = logging.getLogger(__name__)
CHANNEL = Platform.ZALO_OA
#: Tapping an `oa.query.hide` button makes the resident send its payload as text; ours start
#: with this, so they can be told apart from typed text.
BUTTON_PREFIX = "#q:"
_IGNORED_PREFIXES = ("oa_send_", "user_received_", "user_seen_")
_matched: set[str] = set()
#: Oldest event handled. Zalo retries a webhook for up to about two hours (its ladder is not
#: documented: 30 s … 1 h steps, or a last try at 12 h); any event younger than this is still
#: in `inbound_update` (kept 3 days, bot/housekeeping.py), so a replay of it is recognised.
MAX_EVENT_AGE = timedelta(hours=24)
#: How far ahead of our clock an event may be stamped (clock drift between Zalo and us).
MAX_EVENT_LEAD = timedelta(minutes=5)
#: Longest `timestamp` read as milliseconds (a 5000-digit one is not a time).
_MAX_TIMESTAMP_DIGITS = 15
_DEDUP_KEY_LABEL = b"antq zalo_oa inbound dedup"


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


def dedup_key_from(secrets: Mapping[str, str]) -> bytes:
    """The key of the hashed dedup ids, derived from the first configured OA secret (the same
    in every process, so a redelivery to another one is recognised; never stored)."""
    secret = next((s for s in secrets.values() if s), "")
    if not secret:
        raise ValueError("a Zalo OA secret is needed to key deduplication ids")
    return hmac.new(secret.encode(), _DEDUP_KEY_LABEL, hashlib.sha256).digest()


def _hashed_id(key: bytes, event: str, user: str, timestamp: str) -> str:
    """A stable id for one delivery that names neither the follower nor the exact time."""
    mac = hmac.new(key, json.dumps([event, user, timestamp]).encode(), hashlib.sha256)
    return "h:" + mac.hexdigest()[:40]


def event_is_current(body: Mapping[str, Any], now: datetime) -> bool:
    """Whether the event's `timestamp` (epoch milliseconds, a string or a number) lies within
    [now - MAX_EVENT_AGE, now + MAX_EVENT_LEAD]; False when it has none that reads as one."""
    value = body.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_TIMESTAMP_DIGITS):
        return False
    age_ms = now.timestamp() * 1000 - int(text)
    max_age = MAX_EVENT_AGE.total_seconds() * 1000
    return -MAX_EVENT_LEAD.total_seconds() * 1000 <= age_ms <= max_age


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_event(body: dict[str, Any], *, dedup_key: bytes) -> Inbound | None:
    """The Inbound for an event; None for events that are not a resident acting (echoes of
    our own messages, delivery and seen receipts). ValueError for garbage.

    `dedup_key` keys the hashed update ids of events without a message id (`dedup_key_from`)."""
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
            update_id=_hashed_id(dedup_key, event, str(user), timestamp),
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
        "update_id": (
            str(msg_id)[:80] if msg_id else _hashed_id(dedup_key, event, str(user), timestamp)
        ),
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
