"""The fake Zalo Bot API, driven over loopback with httpx as a Zalo Bot client would."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.fakes._telegram_params import ApiError
from bot.fakes.zalo_bot import FakeZaloBot

USER = "6ede9afa66b88fe6d6a9"
OTHER = "0a1b2c3d4e5f60718293"
HEX20 = re.compile(r"[0-9a-f]{20}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloBot]:
    async with FakeZaloBot() as server:
        yield server


@pytest.fixture
async def http(fake: FakeZaloBot) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the control API root; ``api()`` below builds Bot API paths."""
    assert fake.url is not None
    async with httpx.AsyncClient(base_url=fake.url, timeout=10) as client:
        yield client


def api(fake: FakeZaloBot, method: str) -> str:
    return f"/bot{fake.token}/{method}"


class Receiver:
    """A tiny webhook receiver: records requests, answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        async with self.arrived:
            self.arrived.notify_all()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"message": "ok"}, status=status)

    async def wait_requests(self, count: int) -> None:
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


SECRET = "s3cret-token-0123456789"


async def set_webhook(http: httpx.AsyncClient, fake: FakeZaloBot, url: str) -> dict[str, Any]:
    resp = await http.post(api(fake, "setWebhook"), json={"url": url, "secret_token": SECRET})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


# --------------------------------------------------------------------------- Bot API


async def test_get_me_get_and_post(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    for resp in (await http.get(api(fake, "getMe")), await http.post(api(fake, "getMe"), json={})):
        assert resp.status_code == 200
        assert resp.json() == {
            "ok": True,
            "result": {
                "id": "1234567890",
                "account_name": "bot.antq_demo",
                "account_type": "BASIC",
                "can_join_groups": False,
                "display_name": "Bot ANTQ Demo",
            },
        }


async def test_wrong_token_and_unknown_method(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    resp = await http.post("/bot999:nope/getMe")
    assert resp.status_code == 401
    assert resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    for method in ("sendDocument", "getme", "SENDMESSAGE"):  # method names are case-sensitive
        resp = await http.post(api(fake, method), json={})
        assert resp.status_code == 404
        assert resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert fake.stats()["unknown_methods"] == 3


async def test_send_message_json_and_form(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    fake.inject(chat_id=USER, text="Xin chào", display_name="Nguyễn Văn A")
    before = int(time.time() * 1000)
    resp = await http.post(api(fake, "sendMessage"), json={"chat_id": USER, "text": "Chào bạn!"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["ok"] is True
    result = body["result"]
    assert set(result) == {"message_id", "date"}
    assert HEX20.fullmatch(result["message_id"])
    assert before <= result["date"] <= int(time.time() * 1000)  # epoch milliseconds

    resp = await http.post(
        api(fake, "sendMessage"),
        data={"chat_id": USER, "text": "Dạng form", "parse_mode": "markdown"},
    )
    assert resp.status_code == 200
    first, second = fake.sent(USER)
    assert (first["seq"], first["method"], first["text"]) == (1, "sendMessage", "Chào bạn!")
    assert first["message_id"] == result["message_id"]
    assert (second["text"], second["parse_mode"]) == ("Dạng form", "markdown")
    assert second["message_id"] != first["message_id"]


async def test_send_message_validation(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    url = api(fake, "sendMessage")
    resp = await http.post(url, json={"chat_id": OTHER, "text": "hi"})
    assert resp.status_code == 400  # never wrote to the bot
    assert resp.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found",
    }
    fake.add_chat(OTHER)
    resp = await http.post(url, json={"chat_id": OTHER, "text": ""})
    assert resp.status_code == 400
    assert resp.json()["description"] == "Bad Request: text is empty"
    resp = await http.post(url, json={"chat_id": OTHER, "text": "x", "parse_mode": "MarkdownV2"})
    assert resp.status_code == 400
    assert fake.sent(OTHER) == []


async def test_unknown_chat_status_can_be_404() -> None:
    async with (
        FakeZaloBot(unknown_chat_status=404) as fake,
        httpx.AsyncClient(base_url=fake.api_url) as client,
    ):
        resp = await client.post("/sendMessage", json={"chat_id": USER, "text": "hi"})
        assert resp.status_code == 404
        assert resp.json()["description"] == "Not Found"


async def test_text_length_only_with_limits(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    fake.add_chat(USER)
    url = api(fake, "sendMessage")
    resp = await http.post(url, json={"chat_id": USER, "text": "a" * 2001})
    assert resp.status_code == 200  # limits off: anything goes
    fake.set_limits(enforce=True)
    resp = await http.post(url, json={"chat_id": USER, "text": "a" * 2001})
    assert resp.status_code == 400
    assert resp.json()["error_code"] == 400
    assert "too long" in resp.json()["description"]
    resp = await http.post(url, json={"chat_id": USER, "text": "ệ" * 2000})
    assert resp.status_code == 200
    # 4000 code points as sent, 2000 characters after NFC: accepted.
    resp = await http.post(url, json={"chat_id": USER, "text": "e\u0302\u0323" * 1000 + "a" * 1000})
    assert resp.status_code == 200
    assert fake.stats()["too_long"] == 1


async def test_quota_429_burst(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    fake.add_chat(USER)
    fake.set_limits(enforce=True, rate_per_second=0.01, burst=3)
    url = api(fake, "sendMessage")
    statuses = []
    for i in range(5):
        resp = await http.post(url, json={"chat_id": USER, "text": f"tin {i}"})
        statuses.append(resp.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert resp.json() == {"ok": False, "error_code": 429, "description": "Quota exceeded"}
    assert fake.stats()["rate_limited"] == 2
    assert len(fake.sent(USER)) == 3
    fake.set_limits(enforce=False)
    resp = await http.post(url, json={"chat_id": USER, "text": "lại được"})
    assert resp.status_code == 200


async def test_photo_sticker_chat_action(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    fake.add_chat(USER)
    resp = await http.post(
        api(fake, "sendPhoto"),
        data={"chat_id": USER, "photo": "https://example.org/a.jpg", "caption": "ảnh"},
    )
    assert resp.status_code == 200
    resp = await http.post(
        api(fake, "sendSticker"),
        files={"chat_id": (None, USER), "sticker": (None, "0e078a2fb66a5f34067b")},
    )
    assert resp.status_code == 200
    resp = await http.post(api(fake, "sendChatAction"), json={"chat_id": USER, "action": "typing"})
    assert resp.status_code == 200
    assert resp.json() == {"ok": True}
    resp = await http.post(api(fake, "sendChatAction"), json={"chat_id": USER, "action": "x"})
    assert resp.status_code == 400
    resp = await http.post(api(fake, "sendPhoto"), json={"chat_id": USER, "photo": "a.jpg"})
    assert resp.status_code == 400
    photo, sticker = fake.sent(USER)
    assert (photo["photo"], photo["caption"]) == ("https://example.org/a.jpg", "ảnh")
    assert sticker["sticker"] == "0e078a2fb66a5f34067b"
    assert fake.stats()["chat_actions"] == 1


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_one_per_call_then_408(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    first = fake.inject(chat_id=USER, text="Đường Lê Lợi bị ngập", display_name="Lan")
    second = fake.inject(chat_id=USER, unsupported=True)
    url = api(fake, "getUpdates")
    resp = await http.post(url, json={"timeout": "30"})
    assert resp.status_code == 200
    update = resp.json()["result"]
    assert update["event_name"] == "message.text.received"
    message = update["message"]
    assert message["message_id"] == first
    assert message["text"] == "Đường Lê Lợi bị ngập"
    assert message["from"] == {"id": USER, "display_name": "Lan", "is_bot": False}
    assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert isinstance(message["date"], int) and message["date"] > 10**12

    resp = await http.get(url, params={"timeout": "1"})
    update = resp.json()["result"]
    assert update["event_name"] == "message.unsupported.received"
    assert update["message"]["message_id"] == second
    assert set(update["message"]) == {"message_id", "date", "from", "chat"}  # no content

    started = time.monotonic()
    resp = await http.post(url, json={"timeout": 0.3})
    assert time.monotonic() - started >= 0.25
    assert resp.status_code == 408
    assert resp.json() == {"ok": False, "error_code": 408, "description": "Request timeout"}
    assert fake.stats()["updates_fetched"] == 2
    assert fake.stats()["poll_timeouts"] == 1


async def test_long_poll_wakes_on_inject(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    poll = asyncio.create_task(http.post(api(fake, "getUpdates"), json={"timeout": 10}))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    image_id = fake.inject(
        chat_id=USER, photo_url="https://photo-stal-1.zdn.vn/x.jpg", caption="ổ gà"
    )
    resp = await poll
    assert time.monotonic() - started < 2
    update = resp.json()["result"]
    assert update["event_name"] == "message.image.received"
    assert update["message"]["message_id"] == image_id
    assert update["message"]["photo_url"] == "https://photo-stal-1.zdn.vn/x.jpg"
    assert update["message"]["message_type"] == "CHAT_PHOTO"
    assert update["message"]["caption"] == "ổ gà"
    assert "photo" not in update["message"]


async def test_abandoned_long_poll_does_not_swallow_updates(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(http.post(api(fake, "getUpdates"), json={"timeout": 10}))
    await asyncio.sleep(0.05)
    poll.cancel()  # the bot stops polling: its connection is closed mid-wait
    with pytest.raises(asyncio.CancelledError):
        await poll
    await asyncio.sleep(0.1)
    sent = fake.inject(chat_id=USER, text="không được mất")
    resp = await http.post(api(fake, "getUpdates"), json={"timeout": 1})
    assert resp.json()["result"]["message"]["message_id"] == sent


async def test_get_updates_refused_while_webhook_set(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(http.post(api(fake, "getUpdates"), json={"timeout": 10}))
    await asyncio.sleep(0.05)
    async with Receiver() as receiver:
        await set_webhook(http, fake, receiver.url)
        resp = await poll  # the waiting poll is ended too
        assert resp.status_code == 400
        assert "deleteWebhook" in resp.json()["description"]
        resp = await http.post(api(fake, "getUpdates"), json={"timeout": 1})
        assert resp.status_code == 400
        deleted = await http.post(api(fake, "deleteWebhook"))
        assert deleted.json()["result"]["url"] == ""
        resp = await http.post(api(fake, "getUpdates"), json={"timeout": 0})
        assert resp.status_code == 408


# --------------------------------------------------------------------------- webhooks


async def test_webhook_info_404_then_set(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    resp = await http.post(api(fake, "getWebhookInfo"))
    assert resp.status_code == 404
    assert resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    resp = await http.post(
        api(fake, "setWebhook"), json={"url": "http://127.0.0.1:9/x", "secret_token": "short"}
    )
    assert resp.status_code == 400
    resp = await http.post(api(fake, "setWebhook"), json={"secret_token": SECRET})
    assert resp.status_code == 400
    body = await set_webhook(http, fake, "http://127.0.0.1:9/hook")
    assert body["result"]["url"] == "http://127.0.0.1:9/hook"
    assert body["result"]["updated_at"] > 10**12
    resp = await http.get(api(fake, "getWebhookInfo"))
    assert resp.json()["result"] == body["result"]


async def test_webhook_delivery_flat_and_wrapped(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        await set_webhook(http, fake, receiver.url)
        flat = await fake.inject_and_wait(chat_id=USER, text="phẳng")
        wrapped = await fake.inject_and_wait(chat_id=USER, sticker="abc", wrapped=True)
        assert (flat["status"], flat["attempts"]) == (200, 1)
        assert wrapped["status"] == 200
        (headers, body), (headers2, body2) = receiver.requests
    assert headers["X-Bot-Api-Secret-Token"] == SECRET
    assert headers["Content-Type"] == "application/json"
    assert body["event_name"] == "message.text.received"
    assert body["message"]["message_id"] == flat["message_id"]
    assert body["message"]["text"] == "phẳng"
    assert set(body2) == {"ok", "result"} and body2["ok"] is True
    assert body2["result"]["event_name"] == "message.sticker.received"
    assert body2["result"]["message"]["sticker"] == "abc"
    assert headers2["X-Bot-Api-Secret-Token"] == SECRET


async def test_wrapped_webhooks_by_default() -> None:
    async with (
        FakeZaloBot(wrapped_webhooks=True) as fake,
        Receiver() as receiver,
        httpx.AsyncClient(base_url=fake.api_url) as client,
    ):
        resp = await client.post("/setWebhook", data={"url": receiver.url, "secret_token": SECRET})
        assert resp.status_code == 200
        await fake.inject_and_wait(chat_id=USER, text="a")
        await fake.inject_and_wait(chat_id=USER, text="b", wrapped=False)
        (_, first), (_, second) = receiver.requests
    assert first["result"]["message"]["text"] == "a"
    assert second["message"]["text"] == "b"


async def test_webhook_retry_after_500(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    async with Receiver(statuses=[500, 503]) as receiver:
        await set_webhook(http, fake, receiver.url)
        outcome = await fake.inject_and_wait(chat_id=USER, text="thử lại")
        assert (outcome["status"], outcome["attempts"]) == (200, 3)
        ids = {body["message"]["message_id"] for _, body in receiver.requests}
        assert ids == {outcome["message_id"]}  # the same update, redelivered
    stats = fake.stats()
    assert (stats["webhook_failures"], stats["updates_delivered"]) == (2, 1)
    assert [a["status"] for a in fake.webhook_attempts] == [500, 503, 200]
    info = fake.webhook_info()
    assert info is not None and info["last_error_message"].endswith("503")


async def test_webhook_gives_up_on_connection_errors() -> None:
    async with FakeZaloBot(webhook_max_attempts=2, webhook_retry_delay=0.01) as fake:
        await fake.call("setWebhook", {"url": "http://127.0.0.1:9/nothing", "secret_token": SECRET})
        outcome = await fake.inject_and_wait(chat_id=USER, text="hi")
        assert (outcome["status"], outcome["attempts"]) == (None, 2)
        assert fake.stats()["webhook_gave_up"] == 1


async def test_pending_updates_go_to_new_webhook(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    fake.inject_many([{"chat_id": USER, "text": "1"}, {"chat_id": OTHER, "text": "2"}])
    async with Receiver() as receiver:
        await set_webhook(http, fake, receiver.url)
        await receiver.wait_requests(2)
    assert sorted(body["message"]["text"] for _, body in receiver.requests) == ["1", "2"]


# --------------------------------------------------------------------------- control API


async def test_control_api_over_http(fake: FakeZaloBot, http: httpx.AsyncClient) -> None:
    resp = await http.post(
        "/_control/updates", json={"chat_id": USER, "text": "xin chào", "display_name": "Lan"}
    )
    assert resp.status_code == 200
    (first,) = resp.json()["message_ids"]
    assert HEX20.fullmatch(first)
    resp = await http.post(
        "/_control/updates",
        json=[
            {"chat_id": OTHER, "photo_url": "http://img/1.jpg", "photo_field": "photo"},
            {"chat_id": OTHER, "sticker": "st1"},
            {"chat_id": OTHER, "unsupported": True},
        ],
    )
    assert len(resp.json()["message_ids"]) == 3
    resp = await http.post("/_control/updates", json={"chat_id": USER, "txt": "typo"})
    assert resp.status_code == 400
    resp = await http.post("/_control/updates", json={"chat_id": USER})
    assert resp.status_code == 400

    updates = []
    for _ in range(4):
        resp = await http.post(api(fake, "getUpdates"), json={"timeout": 1})
        updates.append(resp.json()["result"])
    assert [u["event_name"].split(".")[1] for u in updates] == [
        "text",
        "image",
        "sticker",
        "unsupported",
    ]
    assert updates[1]["message"]["photo"] == "http://img/1.jpg"
    assert "photo_url" not in updates[1]["message"]

    resp = await http.post("/_control/chats", json={"chat_id": "aaaabbbbccccddddeeee"})
    assert resp.status_code == 200
    for chat in (USER, OTHER, USER):
        await http.post(api(fake, "sendMessage"), json={"chat_id": chat, "text": f"to {chat}"})
    resp = await http.get("/_control/sent", params={"chat_id": USER})
    body = resp.json()
    assert [r["seq"] for r in body["result"]] == [1, 3]
    assert body["last_seq"] == 3
    resp = await http.get("/_control/sent", params={"since": 1})
    assert [r["chat_id"] for r in resp.json()["result"]] == [OTHER, USER]

    waiting = asyncio.create_task(
        http.get("/_control/sent", params={"chat_id": OTHER, "wait_for": 2, "timeout": 5})
    )
    await asyncio.sleep(0.05)
    await http.post(api(fake, "sendMessage"), json={"chat_id": OTHER, "text": "again"})
    resp = await waiting
    assert [r["text"] for r in resp.json()["result"]] == [f"to {OTHER}", "again"]
    resp = await http.get(
        "/_control/sent", params={"chat_id": OTHER, "wait_for": 9, "timeout": 0.1}
    )
    assert resp.status_code == 408

    resp = await http.post("/_control/limits", json={"enforce": True, "burst": 1})
    assert resp.json()["result"]["enforce"] is True
    assert resp.json()["result"]["burst"] == 1
    stats = (await http.get("/_control/stats")).json()["result"]
    assert stats["updates_injected"] == 4
    assert stats["updates_fetched"] == 4
    assert stats["messages_sent"] == 4
    assert stats["chats"] == 3
    assert stats["methods"]["sendMessage"] == 4

    resp = await http.post("/_control/reset")
    assert resp.json() == {"ok": True}
    assert fake.stats()["messages_sent"] == 0
    assert fake.limits()["enforce"] is False
    resp = await http.get("/_control/sent")
    assert resp.json() == {"ok": True, "result": [], "last_seq": 0}


async def test_control_inject_wait_returns_webhook_status(
    fake: FakeZaloBot, http: httpx.AsyncClient
) -> None:
    resp = await http.post("/_control/updates?wait=1", json={"chat_id": USER, "text": "a"})
    assert resp.json()["webhook_status"] is None  # no webhook: queued for getUpdates
    async with Receiver(statuses=[200, 404, 404, 404, 404]) as receiver:
        await set_webhook(http, fake, receiver.url)
        await receiver.wait_requests(1)
        resp = await http.post(
            "/_control/updates?wait=1",
            json=[{"chat_id": USER, "text": "b", "wrapped": True}],
        )
        body = resp.json()
        assert body["webhook_status"] == [404]
        assert body["attempts"] == [4]
        resp = await http.post("/_control/webhook", json={"wrapped": True})
        assert resp.json()["wrapped"] is True
        info = (await http.get("/_control/webhook")).json()
        assert info["result"]["url"] == receiver.url
        assert len(info["attempts"]) == 5
    assert fake.stats()["webhook_gave_up"] == 1


async def test_python_helpers(fake: FakeZaloBot) -> None:
    with pytest.raises(ApiError) as info:
        fake.inject({"chat_id": USER, "text": "a", "sticker": "b"})
    assert info.value.code == 400
    message_id = fake.inject(
        {"event_name": "message.text.received", "message": {"from": {"id": USER}, "text": "hi"}}
    )
    assert HEX20.fullmatch(message_id)
    assert fake.webhook_info() is None
    result = await fake.call("sendMessage", {"chat_id": USER, "text": "ok"})
    waited = await fake.wait_sent(USER, 1, timeout=1)
    assert waited[0]["message_id"] == result["message_id"]
    with pytest.raises(TimeoutError):
        await fake.wait_sent(USER, 2, timeout=0.05)


async def test_command_line_entry_point() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.fakes.zalo_bot",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = re.search(r"http://\S+", line)
        assert url is not None, line
        async with httpx.AsyncClient(base_url=url.group(0)) as client:
            resp = await client.get("/bot1234567890:fake-zalo-bot-secret/getMe")
            assert resp.json()["result"]["account_type"] == "BASIC"
    finally:
        proc.terminate()
        await proc.wait()
        if proc.stdout is not None:
            await proc.stdout.read()
