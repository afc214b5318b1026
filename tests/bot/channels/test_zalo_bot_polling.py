"""Zalo Bot long polling (development): one update per getUpdates, 408 when none."""

from __future__ import annotations

from bot.fakes.zalo_bot import FakeZaloBot
from bot.runtime import Runtime
from tests.harness import make_settings


async def test_polling_mode_answers_residents(database_url: str) -> None:
    fake = FakeZaloBot()
    url = await fake.start("127.0.0.1", 0)
    settings = make_settings(
        database_url,
        zalo_bot_token=fake.token,
        zalo_bot_api_base=url,
        zalo_bot_mode="polling",
    )
    runtime = Runtime(settings)
    await runtime.start()
    try:
        assert fake.webhook_info() is None
        fake.inject(chat_id="0a1b2c3d4e5f60718293", text="/start")
        fake.inject(chat_id="0a1b2c3d4e5f60718293", text="2")
        await fake.wait_sent("0a1b2c3d4e5f60718293", 2, 15)
        texts = [m["text"] for m in fake.sent("0a1b2c3d4e5f60718293")]
        assert "Chọn ngôn ngữ" in texts[0] and "Which commune" in texts[1]
    finally:
        await runtime.stop()
        await fake.stop()
