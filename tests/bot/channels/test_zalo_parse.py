"""Zalo Bot and Zalo OA payloads -> Inbound, including the variants Zalo's docs disagree on."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.channels.zalo_bot import CAPABILITIES as ZALO_BOT_CAPS
from bot.channels.zalo_bot import parse_update
from bot.channels.zalo_oa import (
    BUTTON_PREFIX,
    MAX_EVENT_AGE,
    MAX_EVENT_LEAD,
    dedup_key_from,
    event_is_current,
    signature_matches,
)
from bot.channels.zalo_oa import parse_event as parse_with_key
from bot.core.render import render, utf16_len
from bot.core.types import Inbound, Reply

MESSAGE = {
    "message_id": "2d758cb5e222177a4e35",
    "date": 1750316131602,
    "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "A", "is_bot": False},
    "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
}


def test_flat_and_wrapped_bodies_give_the_same_inbound() -> None:
    flat = {"event_name": "message.text.received", "message": {**MESSAGE, "text": "xin chào"}}
    a, b = parse_update(flat), parse_update({"ok": True, "result": flat})
    assert a == b and a is not None
    assert (a.kind, a.chat_id, a.update_id, a.text) == (
        "text",
        "6ede9afa66b88fe6d6a9",
        "2d758cb5e222177a4e35",
        "xin chào",
    )


@pytest.mark.parametrize("field", ["photo_url", "photo"])
def test_images_under_either_field(field: str) -> None:
    body = {
        "event_name": "message.image.received",
        "message": {**MESSAGE, field: "https://photo.zdn.vn/x.jpg", "caption": "ổ gà"},
    }
    inbound = parse_update(body)
    assert inbound is not None and inbound.kind == "photo"
    assert inbound.photo_ids == ("https://photo.zdn.vn/x.jpg",) and inbound.text == "ổ gà"


def test_unsupported_sticker_group_and_test_events() -> None:
    unsupported = parse_update({"event_name": "message.unsupported.received", "message": MESSAGE})
    assert unsupported is not None and unsupported.kind == "unsupported"
    sticker = parse_update(
        {"event_name": "message.sticker.received", "message": {**MESSAGE, "sticker": {"id": "x"}}}
    )
    assert sticker is not None and sticker.kind == "unsupported"
    group = {**MESSAGE, "chat": {"id": "g1", "chat_type": "GROUP"}, "text": "hi"}
    assert parse_update({"event_name": "message.text.received", "message": group}) is None
    ping = {"event_name": "webhook.test", "message": {"message_id": "webhook-test", "date": 1}}
    assert parse_update(ping) is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_name": 5},
        {"event_name": "x", "message": []},
        {"event_name": "message.text.received", "message": {}},
    ],
)
def test_zalo_bot_garbage(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_update(body)


def test_zalo_bot_texts_fit_2000_utf16_units_after_nfc() -> None:
    text = ("Công an xã Quy Nho\u031bn Nam 🚨 " * 200).strip()  # NFD and emoji
    parts = render(Reply(text), ZALO_BOT_CAPS)
    assert len(parts) > 1 and all(utf16_len(p.text) <= 2000 for p in parts)


KEY = dedup_key_from({"oa_secret_key": "oa-key", "app_secret": "app-secret"})


def parse_event(body: dict[str, Any], key: bytes = KEY) -> Inbound | None:
    return parse_with_key(body, dedup_key=key)


USER = "6142494823000000000"


def _oa(event: str, **message: object) -> dict[str, Any]:
    return {
        "app_id": "1",
        "event_name": event,
        "timestamp": "1699003881354",
        "sender": {"id": USER},
        "recipient": {"id": "9"},
        "message": {"msg_id": "cb31dff1c39642cc1b83", **message},
    }


def test_oa_text_button_location_and_follow() -> None:
    text = parse_event(_oa("user_send_text", text="Đèn đường hỏng"))
    assert text is not None and (text.kind, text.text) == ("text", "Đèn đường hỏng")
    tap = parse_event(_oa("user_send_text", text=BUTTON_PREFIX + "lib:t:law:0"))
    assert tap is not None and (tap.kind, tap.payload) == ("button", "lib:t:law:0")
    loc = parse_event(
        _oa(
            "user_send_location",
            text="",
            attachments=[
                {
                    "type": "location",
                    "payload": {"coordinates": {"latitude": "13.77", "longitude": "109.22"}},
                }
            ],
        )
    )
    assert loc is not None and loc.location is not None and loc.location.latitude == 13.77
    follow = parse_event(
        {
            "oa_id": "9",
            "follower": {"id": "246845883529197922"},
            "event_name": "follow",
            "app_id": "1",
            "timestamp": "1543979782740",
        }
    )
    assert follow is not None and (follow.kind, follow.chat_id) == ("follow", "246845883529197922")
    assert parse_event(_oa("oa_send_text", text="echo of our own message")) is None
    assert parse_event(_oa("user_seen_message")) is None


def test_oa_signature_variants() -> None:
    body = _oa("user_send_text", text="x")
    raw = json.dumps(body, ensure_ascii=False).encode()

    def mac(secret: str) -> str:
        return (
            "mac="
            + hashlib.sha256(("1" + raw.decode() + "1699003881354" + secret).encode()).hexdigest()
        )

    secrets = {"oa_secret_key": "oa-key", "app_secret": "app-secret"}
    assert signature_matches(raw, mac("oa-key"), body, app_id="1", secrets=secrets)
    assert signature_matches(raw, mac("app-secret"), body, app_id="1", secrets=secrets)
    assert not signature_matches(raw, mac("other"), body, app_id="1", secrets=secrets)
    assert not signature_matches(raw + b" ", mac("oa-key"), body, app_id="1", secrets=secrets)
    assert not signature_matches(raw, None, body, app_id="1", secrets=secrets)
    assert not signature_matches(raw, "sha=abc", body, app_id="1", secrets=secrets)


def _follow(user: str = "246845883529197922", timestamp: str = "1543979782740") -> dict[str, Any]:
    return {
        "oa_id": "9",
        "follower": {"id": user},
        "event_name": "follow",
        "app_id": "1",
        "timestamp": timestamp,
    }


def test_oa_dedup_ids_never_hold_the_follower_id_and_know_a_redelivery() -> None:
    no_msg_id = {**_oa("user_send_text", text="x"), "message": {"text": "x"}}
    for body in (_follow(), {**_follow(), "event_name": "unfollow"}, no_msg_id):
        inbound = parse_event(body)
        assert inbound is not None and inbound.chat_id in ("246845883529197922", USER)
        assert inbound.chat_id not in inbound.update_id
        assert body["timestamp"] not in inbound.update_id  # nor the exact time
        assert parse_event(json.loads(json.dumps(body))) == inbound  # a redelivery: same id
    ids = {
        i.update_id
        for i in (
            parse_event(_follow()),
            parse_event({**_follow(), "event_name": "unfollow"}),
            parse_event(_follow(user="246845883529197923")),
            parse_event(_follow(timestamp="1543979782741")),
            parse_event(_follow(), key=dedup_key_from({"oa_secret_key": "another"})),
        )
        if i is not None
    }
    assert len(ids) == 5  # each delivery its own id; without the key they cannot be remade


def test_oa_dedup_key_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        dedup_key_from({"oa_secret_key": "", "app_secret": ""})
    assert dedup_key_from({"oa_secret_key": "", "app_secret": "s"}) == dedup_key_from(
        {"app_secret": "s"}
    )


@pytest.mark.parametrize(
    ("offset", "current"),
    [
        (timedelta(0), True),
        (-MAX_EVENT_AGE + timedelta(seconds=1), True),
        (-MAX_EVENT_AGE - timedelta(seconds=1), False),
        (-timedelta(days=365), False),
        (MAX_EVENT_LEAD - timedelta(seconds=1), True),
        (MAX_EVENT_LEAD + timedelta(seconds=1), False),
    ],
)
def test_oa_events_are_current_only_within_the_window(offset: timedelta, current: bool) -> None:
    now = datetime(2026, 10, 2, 3, 4, 5, tzinfo=UTC)
    stamp = int((now + offset).timestamp() * 1000)
    assert event_is_current({"timestamp": str(stamp)}, now) is current
    assert event_is_current({"timestamp": stamp}, now) is current


@pytest.mark.parametrize("stamp", [None, "", "soon", "1.7e12", True, 1.7e12, "٣" * 13, "9" * 5000])
def test_oa_events_without_a_readable_timestamp_are_not_current(stamp: object) -> None:
    body = {} if stamp is None else {"timestamp": stamp}
    assert not event_is_current(body, datetime.now(UTC))
