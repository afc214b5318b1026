"""Long polling (development mode): updates fetched with getUpdates from the fake server."""

from __future__ import annotations

from bot.fakes.telegram import FakeTelegram
from bot.runtime import Runtime
from tests.harness import make_settings


async def test_polling_mode_answers_residents(database_url: str) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    settings = make_settings(
        database_url,
        telegram_token=fake.token,
        telegram_api_base=fake_url,
        telegram_mode="polling",
        telegram_webhook_secret="",  # not needed without a webhook
    )
    runtime = Runtime(settings)
    await runtime.start()
    try:
        assert fake.webhook_info()["url"] == ""
        fake.inject({"chat_id": 808, "text": "/start"})
        fake.inject({"chat_id": 808, "text": "/start"})  # two updates, two answers
        await fake.wait_sent(808, 2, timeout=15)
        texts = [m["text"] for m in fake.sent(808) if m["method"] == "sendMessage"]
        assert len(texts) == 2 and all("Chọn ngôn ngữ" in t for t in texts)
    finally:
        await runtime.stop()
        await fake.stop()
