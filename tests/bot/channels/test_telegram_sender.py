"""The Telegram sender against the fake Bot API on loopback: texts (the lean sendMessage
path), photos (PTB's path) and the Bot API's errors mapped to the core's."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram._sender import api_error, make_bot
from bot.core.channel import Blocked, PermanentFailure, RetryLater, TransientFailure
from bot.core.types import Button, Reply
from bot.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def channel(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    assert fake.url is not None
    bot = make_bot(fake.token, fake.url)
    await bot.initialize()
    try:
        yield TelegramChannel(bot)
    finally:
        await bot.shutdown()


async def test_text_with_buttons_and_unicode_arrives_as_sent(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.add_chat(7001)
    text = "Ngày hội 19/8 \u200b🇻🇳 \u202ekiểm tra\u202c — Quy Nhơn"
    await channel.send(
        "7001", Reply(text=text, buttons=[[Button("📚 Tìm hiểu", "lib:1"), Button("Hủy", "x")]])
    )
    [record] = fake.sent(7001)
    message = fake.message(7001, record["message_id"])
    assert message is not None
    assert message["text"] == text
    keyboard = message["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [
            {"text": "📚 Tìm hiểu", "callback_data": "lib:1"},
            {"text": "Hủy", "callback_data": "x"},
        ]
    ]


async def test_blocked_chat_is_blocked(fake: FakeTelegram, channel: TelegramChannel) -> None:
    fake.add_chat(7002)
    fake.block(7002)
    with pytest.raises(Blocked, match="blocked"):
        await channel.send("7002", Reply(text="xin chào"))


async def test_unknown_chat_is_a_permanent_failure(channel: TelegramChannel) -> None:
    with pytest.raises(PermanentFailure, match="chat not found"):
        await channel.send("7999", Reply(text="xin chào"))


async def test_flood_limit_gives_the_platforms_retry_after(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.add_chat(7003)
    fake.set_limits(enforce=True, rate_per_second=1, burst=1, per_chat_per_second=1)
    await channel.send("7003", Reply(text="một"))
    with pytest.raises(RetryLater) as caught:
        await channel.send("7003", Reply(text="hai"))
    assert caught.value.seconds >= 1
    assert fake.stats()["rate_limited"] == 1


async def test_server_gone_is_transient() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot = make_bot("1:X", f"http://127.0.0.1:{port}")
    await bot.request.initialize()
    try:
        with pytest.raises(TransientFailure):
            await TelegramChannel(bot).send("1", Reply(text="x"))
    finally:
        await bot.request.shutdown()


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (429, b'{"ok":false,"error_code":429,"parameters":{"retry_after":7}}', RetryLater, "7"),
        (429, b"not json", RetryLater, "1.0"),
        (400, b'{"ok":false,"parameters":{"retry_after":3.5}}', RetryLater, "3.5"),
        (403, b'{"ok":false,"description":"Forbidden: user is deactivated"}', Blocked, "deac"),
        (400, b'{"description":"Bad Request: chat not found"}', PermanentFailure, "not found"),
        (400, b"[1, 2]", PermanentFailure, "HTTP 400"),
        (401, b'{"description":"Unauthorized"}', TransientFailure, "Unauthorized"),
        (502, b"<html>Bad Gateway</html>", TransientFailure, "HTTP 502"),
        (500, b'{"parameters":{"retry_after":"soon"}}', TransientFailure, "HTTP 500"),
        (400, b'{"description":"' + b"x" * 5000 + b'"}', PermanentFailure, "x" * 300),
    ],
)
def test_api_errors_map_as_ptb_maps_them(
    status: int, body: bytes, expected: type[Exception], text: str
) -> None:
    error = api_error(status, body)
    assert type(error) is expected
    assert text in str(error)
    assert len(str(error)) <= 320
