"""The fake Telegram Bot API, driven over loopback by real clients (PTB, aiogram, httpx)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import telegram
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import BufferedInputFile
from aiogram.types import InlineKeyboardButton as AInlineButton
from aiogram.types import InlineKeyboardMarkup as AInlineMarkup
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from bot.fakes.telegram import FakeTelegram

# A 16x32 PNG header is enough for the fake to read the dimensions.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x20" + b"\x00" * 40


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url
    ) as ptb_bot:
        yield ptb_bot


@pytest.fixture
async def http(fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    assert fake.url is not None
    async with httpx.AsyncClient(base_url=fake.url, timeout=10) as client:
        yield client


class Receiver:
    """A tiny webhook receiver: records requests, answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None, reply: Any = None) -> None:
        self.statuses = list(statuses or [])
        self.reply = reply
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status)

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


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


# --------------------------------------------------------------------------- python-telegram-bot


async def test_get_me(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "antq_demo_bot"
    assert me.id == 123456


async def test_send_message_with_inline_keyboard(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.inject({"chat_id": 42, "text": "/start", "first_name": "Lan"})
    message = await bot.send_message(42, "Xin chào!", reply_markup=keyboard("menu", "help"))
    assert message.message_id == 2  # the user's /start was message 1 in this chat
    assert message.chat.id == 42
    assert message.chat.first_name == "Lan"
    assert message.from_user is not None and message.from_user.is_bot
    assert message.text == "Xin chào!"
    assert message.reply_markup == keyboard("menu", "help")
    (record,) = fake.sent(42)
    assert record["method"] == "sendMessage"
    assert record["text"] == "Xin chào!"
    assert record["message_id"] == 2
    assert record["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "help"
    second = await bot.send_message(42, "again")
    assert second.message_id == 3


async def test_html_parse_mode_is_parsed_into_entities(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.add_chat(7)
    message = await bot.send_message(7, "<b>Chào</b> bạn 👋 <i>x</i>", parse_mode="HTML")
    assert message.text == "Chào bạn 👋 x"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("italic", 12, 1),  # the emoji counts as two UTF-16 code units
    ]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(7, "<blink>no</blink>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(7, "Hết hạn.", parse_mode="MarkdownV2")


async def test_errors_have_telegram_descriptions(fake: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hi")
    fake.add_chat(1)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1, "x" * 4097)
    assert (await bot.send_message(1, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1, "   ")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1, "k", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(
            1, "k", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("only text")]])
        )
    stats = fake.stats()
    assert stats["errors"] == 5
    assert stats["methods"]["sendMessage"] == 6


async def test_blocked_user_is_forbidden(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.inject({"chat_id": 5, "text": "hi"})
    fake.block(5)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(5, "hello?")
    fake.block(5, blocked=False)
    assert (await bot.send_message(5, "hello")).text == "hello"


async def test_wrong_token_and_unknown_method(fake: FakeTelegram, http: httpx.AsyncClient) -> None:
    with pytest.raises(InvalidToken):  # initialize() calls getMe
        async with telegram.Bot("654321:WRONG", base_url=fake.base_url):
            pass
    response = await http.post("/bot654321:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    response = await http.get(f"/bot{fake.token}/noSuchMethod")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    # method names are case-insensitive; GET with a query string works
    response = await http.get(f"/bot{fake.token}/GETME")
    assert response.json()["result"]["username"] == "antq_demo_bot"


async def test_send_photo_upload_and_file_download(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(42)
    message = await bot.send_photo(42, PNG, caption="ảnh")
    photo = message.photo[-1]
    assert (photo.width, photo.height) == (16, 32)
    assert message.caption == "ảnh"
    file = await bot.get_file(photo.file_id)
    assert bytes(await file.download_as_bytearray()) == PNG
    again = await bot.send_photo(42, photo.file_id)  # re-send by file_id
    assert again.photo[-1].file_id == photo.file_id
    by_url = await bot.send_photo(42, "https://example.org/a.jpg")
    assert by_url.photo
    records = fake.sent(42)
    assert [r["photo_source"] for r in records] == ["upload", "file_id", "url"]
    assert fake.file_bytes(photo.file_id) == PNG
    document = await bot.send_document(42, b"%PDF-1.4", filename="report.pdf")
    assert document.document is not None and document.document.file_name == "report.pdf"
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(42, "no-such-file-id")


async def test_injected_photo_can_be_downloaded(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.inject({"chat_id": 3, "photo_base64": base64.b64encode(PNG).decode()})
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None
    file = await update.message.photo[-1].get_file()
    assert bytes(await file.download_as_bytearray()) == PNG


async def test_get_updates_long_poll(fake: FakeTelegram, bot: telegram.Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    update_id = fake.inject({"chat_id": 9, "text": "/start", "language_code": "vi"})
    (update,) = await poll
    assert time.monotonic() - started < 2
    assert update.update_id == update_id
    assert update.message is not None and update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "vi"
    # confirming with offset drops the update; an empty poll returns after its timeout
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert fake.stats()["updates_delivered"] == 1


async def test_callback_query_edit_and_answer(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.inject({"chat_id": 42, "text": "/start"})
    sent = await bot.send_message(42, "Chọn:", reply_markup=keyboard("news", "report"))
    fake.inject({"chat_id": 42, "callback_data": "report"})
    updates = await bot.get_updates(timeout=1)
    query = updates[-1].callback_query
    assert query is not None and query.data == "report"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="OK")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)
    edited = await bot.edit_message_text("Đã chọn: report", 42, sent.message_id)
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Đã chọn: report"
    assert edited.reply_markup is None  # editing the text without a markup drops the keyboard
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Đã chọn: report", 42, sent.message_id)
    await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=keyboard("back"))
    assert await bot.delete_message(42, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(42, sent.message_id)
    methods = [r["method"] for r in fake.sent(42)]
    assert methods == [
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
    ]
    assert fake.sent(42)[1]["text"] == "OK"


async def test_commands_menu_chat_action_location(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(11, first_name="Minh", username="minh")
    commands = [telegram.BotCommand("start", "Bắt đầu"), telegram.BotCommand("help", "Trợ giúp")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.get_my_commands(language_code="en") == ()
    assert await bot.set_chat_menu_button(menu_button=telegram.MenuButtonCommands())
    assert await bot.send_chat_action(11, "typing")
    location = await bot.send_location(11, latitude=21.03, longitude=105.85)
    assert location.location is not None and location.location.latitude == 21.03
    chat = await bot.get_chat(11)
    assert (chat.first_name, chat.username) == ("Minh", "minh")
    assert (await bot.send_message("@minh", "by username")).chat.id == 11
    assert await bot.log_out()
    assert await bot.close()


async def test_get_updates_conflicts_with_webhook(fake: FakeTelegram, bot: telegram.Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    assert info.max_connections == 40
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_second_get_updates_terminates_the_first(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    first = asyncio.create_task(fake.call("getUpdates", {"timeout": 5}))
    await asyncio.sleep(0.05)
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(Exception, match="terminated by other getUpdates request"):
        await first


# --------------------------------------------------------------------------- limits


async def test_flood_limits_per_chat_and_global(
    fake: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this PTB's own RetryAfter.__init__ emits a PTBDeprecationWarning (v22.2+).
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    for chat_id in range(1, 41):
        fake.add_chat(chat_id)
    fake.set_limits(enforce=True)
    for _ in range(3):  # the per-chat burst
        await bot.send_message(1, "ok")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "too fast")
    assert caught.value.retry_after == datetime.timedelta(seconds=1)
    # 30 messages overall in a burst; a slow refill keeps the check independent of timing
    fake.set_limits(rate_per_second=0.5)
    for chat_id in range(2, 32):
        await bot.send_message(chat_id, "ok")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(40, "over the global limit")
    assert caught.value.retry_after in (
        datetime.timedelta(seconds=1),
        datetime.timedelta(seconds=2),
    )
    stats = fake.stats()
    assert stats["rate_limited"] == 2
    assert stats["messages_sent"] == 33
    fake.set_limits(enforce=False)
    for _ in range(10):
        await bot.send_message(1, "no limits")


async def test_limits_switched_over_http(fake: FakeTelegram, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/_control/limits", json={"enforce": True, "per_chat_per_second": 1, "per_chat_burst": 1}
    )
    assert response.json()["result"]["enforce"] is True
    fake.add_chat(1)
    url = f"/bot{fake.token}/sendMessage"
    assert (await http.post(url, json={"chat_id": 1, "text": "a"})).status_code == 200
    response = await http.post(url, json={"chat_id": 1, "text": "b"})
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


# --------------------------------------------------------------------------- aiogram


async def test_aiogram_bot(fake: FakeTelegram) -> None:
    assert fake.url is not None
    fake.inject({"chat_id": 77, "text": "/start"})
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    bot = AiogramBot(fake.token, session=session)
    try:
        me = await bot.get_me()
        assert me.username == "antq_demo_bot"
        markup = AInlineMarkup(
            inline_keyboard=[[AInlineButton(text="Tin tức", callback_data="news")]]
        )
        message = await bot.send_message(77, "Xin chào từ aiogram", reply_markup=markup)
        assert message.chat.id == 77
        assert message.reply_markup is not None
        assert message.reply_markup.model_dump(exclude_none=True) == markup.model_dump(
            exclude_none=True
        )
        photo = await bot.send_photo(77, BufferedInputFile(PNG, "p.png"), caption="c")
        assert photo.photo is not None and photo.photo[-1].width == 16
        updates = await bot.get_updates(timeout=1)
        assert updates[0].message is not None and updates[0].message.text == "/start"
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(78, "nobody")
        fake.set_limits(enforce=True, per_chat_burst=1)
        await bot.send_message(77, "within the burst")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(77, "too fast")
    finally:
        await bot.session.close()
    records = fake.sent(77)
    assert records[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Tin tức", "callback_data": "news"}]]
    }
    assert records[1]["photo_source"] == "upload"
    assert records[2]["text"] == "within the burst"


async def test_multipart_form_with_json_encoded_fields(
    fake: FakeTelegram, http: httpx.AsyncClient
) -> None:
    fake.add_chat(8)
    response = await http.post(
        f"/bot{fake.token}/sendMessage",
        files={
            "chat_id": (None, "8"),
            "text": (None, "multipart"),
            "reply_markup": (None, '{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}'),
        },
    )
    body = response.json()
    assert body["ok"], body
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    response = await http.post(
        f"/bot{fake.token}/sendMessage", data={"chat_id": "8", "text": "form"}
    )
    assert response.json()["result"]["text"] == "form"


# --------------------------------------------------------------------------- webhook


async def test_webhook_delivery_with_secret(fake: FakeTelegram, bot: telegram.Bot) -> None:
    async with Receiver() as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cr3t_-X")
        assert fake.url is not None
        async with httpx.AsyncClient(base_url=fake.url) as http:
            response = await http.post(
                "/_control/updates?wait=1", json={"chat_id": 42, "text": "qua webhook"}
            )
        body = response.json()
        assert body["ok"] and body["webhook_status"] == [200]
        ((headers, update),) = receiver.requests
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_-X"
        assert update["update_id"] == body["update_ids"][0]
        assert update["message"]["text"] == "qua webhook"
        assert update["message"]["chat"] == {"id": 42, "type": "private", "first_name": "User 42"}
    assert fake.stats()["updates_delivered"] == 1


async def test_webhook_retries_after_500(fake: FakeTelegram, bot: telegram.Bot) -> None:
    async with Receiver(statuses=[500, 502]) as receiver:
        assert await bot.set_webhook(receiver.url)
        result = await fake.inject_and_wait({"chat_id": 1, "text": "retry me"})
        assert result["status"] == 200
        assert result["attempts"] == 3
        assert len(receiver.requests) == 3
        assert {r[1]["update_id"] for r in receiver.requests} == {result["update_id"]}
        info = await bot.get_webhook_info()
        assert info.last_error_message is not None and "502" in info.last_error_message
    stats = fake.stats()
    assert stats["webhook_failures"] == 2
    assert stats["webhook_attempts"] == 3
    assert [a["status"] for a in fake.webhook_attempts] == [500, 502, 200]


async def test_webhook_gives_up_when_unreachable() -> None:
    async with FakeTelegram(webhook_max_attempts=2, webhook_retry_delay=0.01) as fake:
        await fake.call("setWebhook", {"url": "http://127.0.0.1:9/unreachable"})
        result = await fake.inject_and_wait({"chat_id": 1, "text": "lost"})
        assert result == {"update_id": 1, "status": None, "attempts": 2}
        assert fake.stats()["webhook_gave_up"] == 1


async def test_webhook_reply_in_response_body_is_executed(fake: FakeTelegram) -> None:
    reply = {"method": "sendMessage", "chat_id": 4, "text": "answered inline"}
    async with Receiver(reply=reply) as receiver:
        await fake.call("setWebhook", {"url": receiver.url, "max_connections": 2})
        await fake.inject_and_wait({"chat_id": 4, "text": "hi"})
    assert [r["text"] for r in fake.sent(4)] == ["answered inline"]


async def test_pending_updates_are_delivered_when_webhook_is_set(fake: FakeTelegram) -> None:
    fake.inject({"chat_id": 1, "text": "one"})
    fake.inject({"chat_id": 2, "text": "two"})
    async with Receiver() as receiver:
        await fake.call("setWebhook", {"url": receiver.url})
        for _ in range(100):
            if len(receiver.requests) == 2:
                break
            await asyncio.sleep(0.02)
        assert sorted(r[1]["message"]["text"] for r in receiver.requests) == ["one", "two"]


# --------------------------------------------------------------------------- control API


async def test_control_api_over_http(fake: FakeTelegram, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/_control/updates",
        json=[
            {"chat_id": 42, "text": "/start", "first_name": "Hoa", "username": "hoa"},
            {"chat_id": 42, "location": {"latitude": 10.77, "longitude": 106.7}},
            {"update_id": 100, "message": {"from": {"id": 43, "first_name": "Tú"}, "text": "x"}},
        ],
    )
    assert response.json() == {"ok": True, "update_ids": [1, 2, 100]}
    updates = await fake.call("getUpdates", {})
    assert updates[1]["message"]["location"] == {"latitude": 10.77, "longitude": 106.7}
    assert updates[2]["message"]["chat"]["id"] == 43
    assert updates[2]["message"]["message_id"] == 1

    async def bot_replies() -> None:
        await asyncio.sleep(0.1)
        markup = {"inline_keyboard": [[{"text": "Menu", "callback_data": "menu"}]]}
        await fake.call("sendMessage", {"chat_id": 42, "text": "one", "reply_markup": markup})
        await fake.call("sendMessage", {"chat_id": 43, "text": "two"})

    replying = asyncio.create_task(bot_replies())
    response = await http.get("/_control/sent", params={"chat_id": 42, "wait_for": 1})
    await replying
    body = response.json()
    assert body["ok"] and [r["text"] for r in body["result"]] == ["one"]
    assert body["result"][0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Menu"
    everything = (await http.get("/_control/sent")).json()
    assert [r["seq"] for r in everything["result"]] == [1, 2]
    assert everything["last_seq"] == 2
    newer = (await http.get("/_control/sent", params={"since": 1})).json()
    assert [r["text"] for r in newer["result"]] == ["two"]

    response = await http.post("/_control/updates", json={"chat_id": 42, "callback_data": "menu"})
    (update_id,) = response.json()["update_ids"]
    updates = await fake.call("getUpdates", {"offset": update_id})
    assert updates[0]["callback_query"]["message"]["message_id"] == body["result"][0]["message_id"]
    bad = await http.post("/_control/updates", json={"chat_id": 42, "callback_data": "nope"})
    assert bad.status_code == 400

    timed_out = await http.get(
        "/_control/sent", params={"chat_id": 42, "wait_for": 5, "timeout": 0.2}
    )
    assert timed_out.status_code == 408
    assert len(timed_out.json()["result"]) == 1

    assert (await http.post("/_control/block", json={"chat_id": 42})).json() == {"ok": True}
    with pytest.raises(Exception, match="blocked"):
        await fake.call("sendMessage", {"chat_id": 42, "text": "x"})
    assert (await http.post("/_control/chats", json={"chat_id": 500})).json()["ok"]
    assert await fake.call("sendMessage", {"chat_id": 500, "text": "known now"})

    stats = (await http.get("/_control/stats")).json()["result"]
    assert stats["updates_injected"] == 4
    assert stats["messages_sent"] == 3
    assert stats["methods"]["sendMessage"] == 4

    assert (await http.post("/_control/reset")).json() == {"ok": True}
    assert (await http.get("/_control/sent")).json()["result"] == []
    assert (await http.get("/_control/stats")).json()["result"]["updates_injected"] == 0


async def test_wait_sent_in_python(fake: FakeTelegram) -> None:
    fake.add_chat(1)

    async def later() -> None:
        await asyncio.sleep(0.05)
        for n in range(3):
            await fake.call("sendMessage", {"chat_id": 1, "text": f"m{n}"})

    task = asyncio.create_task(later())
    records = await fake.wait_sent(1, count=3, timeout=2)
    await task
    assert [r["text"] for r in records] == ["m0", "m1", "m2"]
    assert len(await fake.wait_sent(None, count=1, since=2)) == 1
    with pytest.raises(TimeoutError, match="got 3"):
        await fake.wait_sent(1, count=4, timeout=0.1)


async def test_many_updates_quickly(fake: FakeTelegram, bot: telegram.Bot) -> None:
    ids = fake.inject_many([{"chat_id": 1000 + n, "text": f"u{n}"} for n in range(2000)])
    assert ids == list(range(1, 2001))
    seen = 0
    offset = 0
    while seen < 2000:
        updates = await bot.get_updates(offset=offset, limit=100)
        seen += len(updates)
        offset = updates[-1].update_id + 1
    assert fake.stats()["updates_delivered"] == 2000


async def test_command_line_entry_point() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.fakes.telegram",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = line.split()[5]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{url}/bot123456:TEST/getMe")
        assert response.json()["result"]["username"] == "antq_demo_bot"
    finally:
        process.terminate()
        await process.communicate()
    assert process.returncode == 0


async def test_ptb_application_polling_end_to_end(fake: FakeTelegram) -> None:
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "Chào mừng!", reply_markup=keyboard("news")
        )

    async def pressed(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"Bạn chọn {update.callback_query.data}")

    application = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    started = time.monotonic()
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        await application.start()
        fake.inject({"chat_id": 42, "text": "/start"})
        (welcome,) = await fake.wait_sent(42, 1)
        assert welcome["text"] == "Chào mừng!"
        fake.inject({"chat_id": 42, "callback_data": "news"})
        records = await fake.wait_sent(42, 3)
        assert [r["method"] for r in records[1:]] == ["answerCallbackQuery", "editMessageText"]
        assert records[2]["text"] == "Bạn chọn news"
        await application.updater.stop()
        await application.stop()
    assert time.monotonic() - started < 5  # stopping does not wait for the long poll
