"""The fake Zalo OA Open API + OAuth v4 server, driven over loopback with httpx and aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import unicodedata
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from bot.fakes.zalo_oa import FakeZaloOA, pkce_challenge

USER = "6142494823000000000"
OTHER = "6142494823000000001"
HOUR = 3600.0
DAY = 86400.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOA]:
    async with FakeZaloOA(webhook_retry_delay=0.01, webhook_timeout=0.5) as server:
        yield server


@pytest.fixture
async def http(fake: FakeZaloOA) -> AsyncIterator[httpx.AsyncClient]:
    assert fake.url is not None
    async with httpx.AsyncClient(base_url=fake.url, timeout=10) as client:
        yield client


def verify(raw: bytes, header: str | None, app_id: str, secret: str) -> bool:
    """What the product does: mac = sha256(app_id + raw body + timestamp + OA secret key)."""
    if not header or not header.startswith("mac="):
        return False
    timestamp = str(json.loads(raw)["timestamp"])
    expected = hashlib.sha256(
        app_id.encode() + raw + timestamp.encode() + secret.encode()
    ).hexdigest()
    return hmac.compare_digest(header.removeprefix("mac="), expected)


class Receiver:
    """A tiny webhook receiver that checks the signature like the product will."""

    def __init__(
        self,
        app_id: str,
        secret: str,
        statuses: list[int] | None = None,
        delays: list[float] | None = None,
    ) -> None:
        self.app_id = app_id
        self.secret = secret
        self.statuses = list(statuses or [])
        self.delays = list(delays or [])
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.valid: list[bool] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.raw]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.raw.append(raw)
        self.headers.append(dict(request.headers))
        ok = verify(raw, request.headers.get("X-ZEvent-Signature"), self.app_id, self.secret)
        self.valid.append(ok)
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
        if not ok:
            return web.Response(status=401)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/zalo/webhook", self.handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/zalo/webhook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def receiver(fake: FakeZaloOA) -> AsyncIterator[Receiver]:
    async with Receiver(fake.app_id, fake.oa_secret_key) as rec:
        fake.set_webhook(rec.url)
        yield rec


async def refresh(
    http: httpx.AsyncClient, fake: FakeZaloOA, token: str, *, secret: str | None = None
) -> dict[str, Any]:
    resp = await http.post(
        "/v4/oa/access_token",
        headers={"secret_key": secret or fake.app_secret},
        data={"app_id": fake.app_id, "grant_type": "refresh_token", "refresh_token": token},
    )
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


async def send(
    http: httpx.AsyncClient, token: str, body: dict[str, Any]
) -> tuple[httpx.Response, dict[str, Any]]:
    resp = await http.post("/v3.0/oa/message/cs", headers={"access_token": token}, json=body)
    assert resp.status_code == 200  # Zalo answers errors with HTTP 200 too
    data: dict[str, Any] = resp.json()
    return resp, data


def text_body(text: str, user_id: str = USER) -> dict[str, Any]:
    return {"recipient": {"user_id": user_id}, "message": {"text": text}}


def buttons_body(buttons: list[dict[str, Any]], text: str = "Chọn lĩnh vực") -> dict[str, Any]:
    return {
        "recipient": {"user_id": USER},
        "message": {
            "text": text,
            "attachment": {"type": "template", "payload": {"buttons": buttons}},
        },
    }


# ---------------------------------------------------------------------------- OAuth v4


async def test_refresh_rotates_and_reuse_is_refused(
    fake: FakeZaloOA, http: httpx.AsyncClient
) -> None:
    access, refresh_token = fake.initial_tokens()
    first = await refresh(http, fake, refresh_token)
    assert set(first) == {"access_token", "refresh_token", "expires_in"}
    assert first["expires_in"] == "90000"  # a string, as Zalo sends it
    assert first["refresh_token"] != refresh_token
    assert first["access_token"] != access

    again = await refresh(http, fake, refresh_token)
    assert "access_token" not in again
    assert again["error_description"] == "Invalid refresh token"
    assert again["error_name"] == "invalid_grant"
    assert "error" not in again  # no numeric error field: naive `error != 0` checks must not pass
    stats = fake.stats()
    assert stats["refresh_token_reuse"] == 1
    assert stats["refreshes"] == 1

    second = await refresh(http, fake, first["refresh_token"])
    assert "access_token" in second
    # Access tokens outlive the refresh that replaced them, until their own expiry.
    _, ok = await send(http, access, text_body("hi"))
    assert ok["error"] == -213  # token accepted; the user is simply unknown
    unknown = await refresh(http, fake, "no-such-token")
    assert unknown["error_description"] == "Invalid refresh token"
    assert fake.stats()["refresh_token_reuse"] == 1
    assert fake.stats()["refresh_token_unknown"] == 1


async def test_concurrent_refreshes_exactly_one_wins(
    fake: FakeZaloOA, http: httpx.AsyncClient
) -> None:
    _, refresh_token = fake.initial_tokens()
    results = await asyncio.gather(*(refresh(http, fake, refresh_token) for _ in range(5)))
    winners = [r for r in results if "access_token" in r]
    assert len(winners) == 1
    assert fake.stats()["refresh_token_reuse"] == 4


async def test_oauth_errors(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    _, refresh_token = fake.initial_tokens()
    wrong = await refresh(http, fake, refresh_token, secret="nope")
    assert wrong["error_description"] == "Invalid secret key"
    as_json = await http.post(
        "/v4/oa/access_token",
        headers={"secret_key": fake.app_secret},
        json={"app_id": fake.app_id, "grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert as_json.status_code == 200 and as_json.json()["error_name"] == "invalid_request"
    bad_grant = await http.post(
        "/v4/oa/access_token",
        headers={"secret_key": fake.app_secret},
        data={"app_id": fake.app_id, "grant_type": "password"},
    )
    assert bad_grant.json()["error_name"] == "unsupported_grant_type"
    # None of that spent the refresh token.
    assert "access_token" in await refresh(http, fake, refresh_token)
    assert fake.stats()["oauth_errors"] == 3


async def test_authorization_code_exchange(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    made = (await http.post("/_control/auth_code", json={})).json()["result"]
    assert made["code_challenge"] == pkce_challenge(made["code_verifier"])
    form = {"app_id": fake.app_id, "grant_type": "authorization_code", "code": made["code"]}
    headers = {"secret_key": fake.app_secret}
    bad = await http.post(
        "/v4/oa/access_token", headers=headers, data={**form, "code_verifier": "x" * 43}
    )
    assert bad.json()["error_description"] == "Invalid code verifier"
    ok = await http.post(
        "/v4/oa/access_token",
        headers=headers,
        data={**form, "code_verifier": made["code_verifier"]},
    )
    tokens = ok.json()
    assert tokens["expires_in"] == "90000" and tokens["access_token"]
    reused = await http.post(
        "/v4/oa/access_token",
        headers=headers,
        data={**form, "code_verifier": made["code_verifier"]},
    )
    assert reused.json()["error_description"] == "Invalid authorization code"
    assert fake.stats()["auth_code_reuse"] == 1
    assert "access_token" in await refresh(http, fake, tokens["refresh_token"])


async def test_permission_redirect_gives_a_pkce_bound_code(
    fake: FakeZaloOA, http: httpx.AsyncClient
) -> None:
    verifier = "v" * 43
    resp = await http.get(
        "/v4/oa/permission",
        params={
            "app_id": fake.app_id,
            "redirect_uri": "https://antq.example/zalo/callback",
            "code_challenge": pkce_challenge(verifier),
            "state": "s1",
        },
    )
    assert resp.status_code == 302
    location = urlsplit(resp.headers["location"])
    assert location.netloc == "antq.example"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["oa_id"] == fake.oa_id and query["state"] == "s1"
    ok = await http.post(
        "/v4/oa/access_token",
        headers={"secret_key": fake.app_secret},
        data={
            "app_id": fake.app_id,
            "grant_type": "authorization_code",
            "code": query["code"],
            "code_verifier": verifier,
        },
    )
    assert "access_token" in ok.json()


# ---------------------------------------------------------------------------- messaging


async def test_send_cs_text(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    _, body = await send(http, access, text_body("Cảm ơn anh/chị đã phản ánh."))
    assert body["error"] == 0 and body["message"] == "Success"
    data = body["data"]
    assert data["user_id"] == USER
    assert len(data["message_id"]) == 20 and int(data["message_id"], 16) >= 0
    assert isinstance(data["sent_time"], str) and data["sent_time"].isdigit()
    assert isinstance(data["quota"], dict)
    [record] = fake.sent(USER)
    assert record["text"] == "Cảm ơn anh/chị đã phản ánh."
    assert record["message_id"] == data["message_id"]
    assert record["window"] == "free" and record["billed"] is False
    stats = fake.stats()
    assert (stats["sends"], stats["free"], stats["billed"]) == (1, 1, 0)


async def test_token_errors(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    _, missing = await send(http, "", text_body("x"))
    assert missing["error"] == -216
    _, invalid = await send(http, "not-a-token", text_body("x"))
    assert invalid == {"error": -216, "message": "Access token is invalid"}
    assert "data" not in invalid

    fake.advance_clock(90001)  # past the 25 h lifetime
    _, expired = await send(http, access, text_body("x"))
    assert expired["error"] == -220
    _, new_pair = fake.initial_tokens()
    fresh = await refresh(http, fake, new_pair)
    fake.set_last_interaction(USER, 60)
    _, ok = await send(http, fresh["access_token"], text_body("x"))
    assert ok["error"] == 0

    revoked = (await http.post("/_control/expire_access_token")).json()
    assert revoked["ok"] is True and revoked["expired"] == 1
    _, gone = await send(http, fresh["access_token"], text_body("x"))
    assert gone["error"] == -220
    stats = fake.stats()
    assert stats["invalid_access_token"] == 2 and stats["expired_access_token"] == 2


async def test_interaction_windows(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    access, _ = fake.initial_tokens()
    fake.set_last_interaction(USER, 47 * HOUR)
    _, free = await send(http, access, text_body("trong 48 giờ"))
    assert free["error"] == 0
    fake.advance_clock(2 * HOUR)  # now 49 h: billed, not blocked
    _, billed = await send(http, access, text_body("ngoài 48 giờ"))
    assert billed["error"] == 0
    fake.set_last_interaction(USER, 7 * DAY - 60)
    _, late = await send(http, access, text_body("gần 7 ngày"))
    assert late["error"] == 0
    fake.advance_clock(120)  # beyond 7 days
    _, refused = await send(http, access, text_body("quá 7 ngày"))
    assert refused == {
        "error": -230,
        "message": "User has not interacted with the OA in the past 7 days",
    }
    fake.set_last_interaction(OTHER, None)  # known follower who never interacted
    _, never = await send(http, access, text_body("x", OTHER))
    assert never["error"] == -230
    assert [r["window"] for r in fake.sent(USER)] == ["free", "billed", "billed"]
    stats = fake.stats()
    assert (stats["sends"], stats["free"], stats["billed"], stats["out_of_window"]) == (3, 1, 2, 2)

    # An injected message re-opens the free window.
    fake.inject({"user_id": USER, "text": "alo"})
    _, again = await send(http, access, text_body("đã nhận"))
    assert again["error"] == 0 and fake.sent(USER)[-1]["billed"] is False


async def test_not_follower(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    access, _ = fake.initial_tokens()
    _, unknown = await send(http, access, text_body("x"))
    assert unknown == {"error": -213, "message": "User has not followed OA"}
    fake.inject({"user_id": USER, "text": "hi"})
    fake.inject({"user_id": USER, "event": "unfollow"})
    _, gone = await send(http, access, text_body("x"))
    assert gone["error"] == -213
    fake.inject({"user_id": USER, "event": "follow"})
    _, back = await send(http, access, text_body("x"))
    assert back["error"] == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (text_body("a" * 2001), "too long"),
        (text_body(""), "empty"),
        (text_body("   "), "blank"),
        ({"recipient": {"user_id": int(USER)}, "message": {"text": "x"}}, "numeric user_id"),
        ({"recipient": {}, "message": {"text": "x"}}, "no user_id"),
        ({"recipient": {"user_id": USER}}, "no message"),
        (
            buttons_body(
                [{"title": f"B{i}", "type": "oa.query.hide", "payload": f"#{i}"} for i in range(6)]
            ),
            "six buttons",
        ),
        (buttons_body([{"title": "x" * 101, "type": "oa.query.hide", "payload": "#a"}]), "title"),
        (buttons_body([{"title": "x", "type": "oa.query.later", "payload": "#a"}]), "type"),
        (buttons_body([{"title": "x", "type": "oa.open.url", "payload": "dvc.gov.vn"}]), "url"),
        (buttons_body([]), "no buttons"),
    ],
)
async def test_invalid_parameters(
    fake: FakeZaloOA, http: httpx.AsyncClient, body: dict[str, Any], why: str
) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    _, answer = await send(http, access, body)
    assert answer["error"] == -201, why
    assert answer["message"].startswith(tuple("abcdefghijklmnopqrstuvwxyz")), answer
    assert fake.sent() == []
    assert fake.stats()["invalid_params"] == 1


async def test_text_length_counts_nfc_code_points(
    fake: FakeZaloOA, http: httpx.AsyncClient
) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    nfd = unicodedata.normalize("NFD", "ệ" * 2000)
    assert len(nfd) > 2000
    _, ok = await send(http, access, text_body(nfd))
    assert ok["error"] == 0
    _, too_long = await send(http, access, text_body("ệ" * 2001))
    assert too_long["error"] == -201


async def test_buttons_image_and_tap(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    buttons: list[dict[str, Any]] = [
        {"title": "Giao thông", "type": "oa.query.hide", "payload": "#cat:traffic"},
        {"title": "Môi trường", "type": "oa.query.show", "payload": "#cat:env"},
        {
            "title": "Cổng DVC",
            "type": "oa.open.url",
            "payload": {"url": "https://dichvucong.gov.vn"},
        },
        {"title": "Gọi", "type": "oa.open.phone", "payload": {"phone_code": "02363000000"}},
        {"title": "SMS", "type": "oa.open.sms", "payload": {"content": "PA", "phone_code": "0236"}},
    ]
    _, ok = await send(http, access, buttons_body(buttons))
    assert ok["error"] == 0
    image = {
        "recipient": {"user_id": USER},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": "https://example.org/a.png"}],
                },
            }
        },
    }
    _, ok2 = await send(http, access, image)
    assert ok2["error"] == 0
    records = fake.sent(USER)
    assert [r["kind"] for r in records] == ["buttons", "image"]
    assert records[0]["buttons"] == buttons
    assert records[1]["image_url"] == "https://example.org/a.png" and records[1]["text"] is None

    tap = fake.inject({"user_id": USER, "tap": "#cat:env"})
    assert tap["event_name"] == "user_send_text" and tap["message"]["text"] == "#cat:env"
    with pytest.raises(ValueError, match=r"no oa\.query button"):
        fake.inject({"user_id": USER, "tap": "#cat:unknown"})


async def test_rate_limit(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    fake.set_last_interaction(USER, 60)
    access, _ = fake.initial_tokens()
    limits = await http.post("/_control/limits", json={"enforce": True, "requests_per_minute": 2})
    assert limits.json()["result"] == {"enforce": True, "requests_per_minute": 2}
    first, ok = await send(http, access, text_body("1"))
    assert ok["error"] == 0 and first.headers["X-RateLimit-Limit"] == "2"
    _, ok2 = await send(http, access, text_body("2"))
    assert ok2["error"] == 0
    _, limited = await send(http, access, text_body("3"))
    assert limited["error"] == -32
    assert fake.stats()["rate_limited"] == 1
    fake.advance_clock(30)  # 2 per minute: one request back after 30 s
    _, ok3 = await send(http, access, text_body("4"))
    assert ok3["error"] == 0
    fake.set_limits(enforce=False)
    for i in range(5):
        _, more = await send(http, access, text_body(str(i)))
        assert more["error"] == 0


async def test_user_detail_and_quota(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    access, _ = fake.initial_tokens()
    fake.inject({"user_id": USER, "text": "hi", "display_name": "Nguyễn Văn A"})
    resp = await http.get(
        "/v3.0/oa/user/detail",
        params={"data": json.dumps({"user_id": USER})},
        headers={"access_token": access},
    )
    body = resp.json()
    assert body["error"] == 0
    data = body["data"]
    assert data["display_name"] == "Nguyễn Văn A"
    assert data["user_is_follower"] is True
    day, month, year = data["user_last_interaction_date"].split("/")
    assert len(day) == 2 and len(month) == 2 and len(year) == 4

    quota = await http.post(
        "/v3.0/oa/quota/message", headers={"access_token": access}, json={"user_id": USER}
    )
    last = quota.json()["data"]["last_interaction"]
    assert isinstance(last, int) and abs(last / 1000 - fake.now()) < 5

    unknown = await http.get(
        "/v3.0/oa/user/detail",
        params={"data": json.dumps({"user_id": OTHER})},
        headers={"access_token": access},
    )
    assert unknown.json()["error"] == -213
    old = await http.post("/v2.0/oa/message", headers={"access_token": access}, json=text_body("x"))
    assert old.json()["error"] == -240


# ---------------------------------------------------------------------------- webhook


async def test_webhook_delivery_is_signed(fake: FakeZaloOA, receiver: Receiver) -> None:
    result = await fake.inject_and_wait({"user_id": USER, "text": "Đèn đường hỏng ở tổ 5"})
    assert result["status"] == 200 and result["attempts"] == 1
    [raw] = receiver.raw
    assert receiver.valid == [True]
    event = json.loads(raw)
    assert event == result["event"]
    assert event["event_name"] == "user_send_text"
    assert event["app_id"] == fake.app_id
    assert event["sender"] == {"id": USER}
    assert event["recipient"] == {"id": fake.oa_id}
    assert event["message"]["text"] == "Đèn đường hỏng ở tổ 5"
    assert len(event["message"]["msg_id"]) == 20
    for value in (event["timestamp"], event["user_id_by_app"], event["app_id"]):
        assert isinstance(value, str) and value.isdigit()
    assert "Đèn".encode() in raw  # raw UTF-8, compact: re-serialising would change the hash
    header = receiver.headers[0]["X-ZEvent-Signature"]
    assert header == fake.signature(raw, event["timestamp"])


@pytest.mark.parametrize("variant", ["bad", "app_secret", "oa_id", "missing"])
async def test_bad_signature_variants(fake: FakeZaloOA, receiver: Receiver, variant: str) -> None:
    result = await fake.inject_and_wait({"user_id": USER, "text": "x"}, signature=variant)
    assert result["status"] == 401  # our receiver refuses; the fake retries, then gives up
    assert result["attempts"] == fake.webhook_max_attempts
    assert not any(receiver.valid)
    if variant == "app_secret":
        raw = receiver.raw[0]
        assert verify(raw, receiver.headers[0]["X-ZEvent-Signature"], fake.app_id, fake.app_secret)
    stats = fake.stats()
    assert stats["webhook_gave_up"] == 1
    assert stats["webhook_failures"] == fake.webhook_max_attempts


async def test_webhook_retry_after_500(fake: FakeZaloOA) -> None:
    async with Receiver(fake.app_id, fake.oa_secret_key, statuses=[500]) as rec:
        fake.set_webhook(rec.url)
        result = await fake.inject_and_wait({"user_id": USER, "text": "retry me"})
    assert result["status"] == 200 and result["attempts"] == 2
    assert rec.raw[0] == rec.raw[1]  # the same bytes, same msg_id: the product must dedupe
    attempts = list(fake.webhook_attempts)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 200)]
    stats = fake.stats()
    assert (stats["webhook_attempts"], stats["webhook_failures"], stats["webhook_delivered"]) == (
        2,
        1,
        1,
    )


async def test_webhook_slow_answer_is_retried(fake: FakeZaloOA) -> None:
    # fake.webhook_timeout is 0.5 s in these tests (Zalo's is 2 s)
    async with Receiver(fake.app_id, fake.oa_secret_key, delays=[0.7]) as rec:
        fake.set_webhook(rec.url)
        result = await fake.inject_and_wait({"user_id": USER, "text": "slow"})
    assert result["status"] == 200 and result["attempts"] == 2
    first = fake.webhook_attempts[0]
    assert first["status"] is None and "no answer" in first["error"]


async def test_follow_event_shape(fake: FakeZaloOA, receiver: Receiver) -> None:
    await fake.inject_and_wait({"user_id": USER, "event": "follow"})
    [event] = receiver.events
    assert event == {
        "oa_id": fake.oa_id,
        "follower": {"id": USER},
        "user_id_by_app": event["user_id_by_app"],
        "event_name": "follow",
        "source": "oa_profile",
        "app_id": fake.app_id,
        "timestamp": event["timestamp"],
    }
    assert receiver.valid == [True]
    assert fake.user(USER)["last_interaction_seconds_ago"] < 5  # type: ignore[index]


async def test_location_image_sticker_shapes(fake: FakeZaloOA, receiver: Receiver) -> None:
    await fake.inject_and_wait(
        {"user_id": USER, "location": {"latitude": 13.77, "longitude": 109.22}}
    )
    await fake.inject_and_wait({"user_id": USER, "image_url": "https://example.org/p.jpg"})
    await fake.inject_and_wait({"user_id": USER, "sticker_id": "bfe458bf64fa8da4d4eb"})
    location, image, sticker = receiver.events
    assert location["event_name"] == "user_send_location"
    assert location["message"]["attachments"] == [
        {
            "type": "location",
            "payload": {"coordinates": {"latitude": "13.77", "longitude": "109.22"}},
        }
    ]
    assert image["event_name"] == "user_send_image"
    assert image["message"]["attachments"][0]["type"] == "image"
    assert image["message"]["attachments"][0]["payload"]["url"] == "https://example.org/p.jpg"
    assert sticker["event_name"] == "user_send_sticker"
    assert sticker["message"]["attachments"][0]["payload"]["id"] == "bfe458bf64fa8da4d4eb"
    assert all(receiver.valid)


async def test_full_event_passthrough(fake: FakeZaloOA, receiver: Receiver) -> None:
    event = {
        "event_name": "user_submit_info",
        "sender": {"id": USER},
        "info": {"name": "Lan", "phone": "84912345678"},
    }
    result = await fake.inject_and_wait(event)
    assert result["status"] == 200
    [got] = receiver.events
    assert got["info"] == {"name": "Lan", "phone": "84912345678"}
    assert got["recipient"] == {"id": fake.oa_id} and got["app_id"] == fake.app_id


async def test_no_webhook_updates_state_only(fake: FakeZaloOA) -> None:
    result = await fake.inject_and_wait({"user_id": USER, "text": "x"})
    assert result["status"] is None and result["attempts"] == 0
    assert fake.stats()["events_undelivered"] == 1
    assert fake.user(USER) is not None


# ---------------------------------------------------------------------------- control API


async def test_control_api_over_http(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    async with Receiver(fake.app_id, fake.oa_secret_key) as rec:
        hook = await http.post("/_control/webhook", json={"url": rec.url})
        assert hook.json() == {"ok": True, "url": rec.url}
        injected = await http.post(
            "/_control/updates?wait=1",
            json=[
                {"user_id": USER, "text": "xin chào", "display_name": "Lan"},
                {"user_id": OTHER, "location": {"latitude": 13.77, "longitude": 109.22}},
                {"user_id": OTHER, "image_url": "https://example.org/x.jpg"},
                {"user_id": OTHER, "event": "follow"},
                {"user_id": OTHER, "text": "x", "signature": "bad"},
            ],
        )
        body = injected.json()
        assert body["ok"] is True
        assert body["webhook_status"] == [200, 200, 200, 200, 401]
        assert [e["event_name"] for e in body["events"]] == [
            "user_send_text",
            "user_send_location",
            "user_send_image",
            "follow",
            "user_send_text",
        ]
        attempts = (await http.get("/_control/webhook")).json()["attempts"]
        assert len(attempts) == 4 + fake.webhook_max_attempts

    bad = await http.post("/_control/updates", json={"user_id": USER})
    assert bad.status_code == 400 and bad.json()["ok"] is False

    users = await http.post(
        "/_control/users", json={"user_id": USER, "last_interaction_seconds_ago": 3 * DAY}
    )
    assert users.json()["result"][0]["display_name"] == "Lan"
    tokens = (await http.get("/_control/tokens")).json()
    access = tokens["access_token"]

    async def later() -> None:
        await asyncio.sleep(0.05)
        await send(http, access, text_body("billed"))

    task = asyncio.create_task(later())
    waited = await http.get("/_control/sent", params={"user_id": USER, "wait_for": 1, "timeout": 5})
    await task
    [record] = waited.json()["result"]
    assert record["billed"] is True and record["text"] == "billed"
    since = waited.json()["last_seq"]
    none_yet = await http.get(
        "/_control/sent", params={"user_id": USER, "since": since, "wait_for": 1, "timeout": 0.1}
    )
    assert none_yet.status_code == 408

    clock = (await http.post("/_control/clock", json={"advance_seconds": 5 * DAY})).json()
    assert clock["result"]["offset_seconds"] == 5 * DAY
    _, expired_token = await send(http, access, text_body("too late"))
    assert expired_token["error"] == -220  # 5 days also outlived the 25 h access token
    fresh = await refresh(http, fake, tokens["refresh_token"])
    _, refused = await send(http, fresh["access_token"], text_body("too late"))
    assert refused["error"] == -230

    stats = (await http.get("/_control/stats")).json()["result"]
    assert stats["sends"] == 1 and stats["billed"] == 1 and stats["out_of_window"] == 1
    assert stats["refresh_token_reuse"] == 0
    assert stats["webhook_delivered"] == 4 and stats["webhook_gave_up"] == 1

    expired = (await http.post("/_control/expire_access_token")).json()
    assert expired["expired"] == 1
    assert (await http.get("/_control/limits")).json()["result"]["enforce"] is False

    reset = await http.post("/_control/reset")
    assert reset.json() == {"ok": True}
    assert fake.stats()["sends"] == 0 and fake.sent() == [] and fake.webhook_url is None
    assert (await http.get("/_control/clock")).json()["result"]["offset_seconds"] == 0
    # The initial pair works again after a reset.
    fake.set_last_interaction(USER, 0)
    _, ok = await send(http, access, text_body("again"))
    assert ok["error"] == 0


async def test_wait_sent_python_helper(fake: FakeZaloOA, http: httpx.AsyncClient) -> None:
    fake.set_last_interaction(USER, 0)
    access, _ = fake.initial_tokens()
    task = asyncio.create_task(fake.wait_sent(USER, count=2, timeout=5))
    await send(http, access, text_body("1"))
    await send(http, access, text_body("2"))
    records = await task
    assert [r["text"] for r in records] == ["1", "2"]
    assert [r["seq"] for r in fake.sent(since=1)] == [2]
    with pytest.raises(TimeoutError):
        await fake.wait_sent(USER, count=3, timeout=0.05)


def test_command_line_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.fakes.zalo_oa", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Fake Zalo OA on http://127.0.0.1:")
        url = first.split()[4]
        with httpx.Client(base_url=url, timeout=5) as client:
            assert client.get("/_control/stats").json()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0
