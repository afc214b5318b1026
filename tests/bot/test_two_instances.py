"""Two instances on one database (what a deployment behind a load balancer has): the same
update delivered to both is handled once, and one resident's conversation stays in order."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import func, select

from bot.fakes.telegram import FakeTelegram
from bot.models import InboundUpdate, Resident
from bot.runtime import TELEGRAM_WEBHOOK_PATH, Runtime
from tests.harness import WEBHOOK_SECRET, make_settings


def _update(update_id: int, chat_id: int, text: str) -> str:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1700000000,
                "text": text,
                "chat": {"id": chat_id, "type": "private", "first_name": "C"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "C"},
            },
        }
    )


async def test_two_instances_handle_each_update_once(database_url: str) -> None:
    fake = FakeTelegram()
    fake_url = await fake.start("127.0.0.1", 0)
    settings = make_settings(database_url, telegram_token=fake.token, telegram_api_base=fake_url)
    first, second = Runtime(settings), Runtime(settings)
    await first.start()
    await second.start()
    try:
        for chat_id in range(300, 310):
            fake.add_chat(chat_id)
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with httpx.AsyncClient(timeout=30) as client:
            posts = []
            update_id = 0
            for chat_id in range(300, 310):
                for text in ("/start", "/help", "/menu"):
                    update_id += 1
                    body = _update(update_id, chat_id, text)
                    # Telegram retried: both instances got the same update at once
                    for runtime in (first, second):
                        posts.append(
                            client.post(
                                runtime.url + TELEGRAM_WEBHOOK_PATH, content=body, headers=headers
                            )
                        )
            responses = await asyncio.gather(*posts)
        assert {r.status_code for r in responses} == {200}
        await first.outbox.flush()
        await second.outbox.flush()
        async with first.db.session() as session:
            updates = await session.execute(select(func.count()).select_from(InboundUpdate))
            residents = await session.execute(select(func.count()).select_from(Resident))
            assert updates.scalar_one() == 30 and residents.scalar_one() == 10
        for chat_id in range(300, 310):
            sent = [m for m in fake.sent(chat_id) if m["method"] == "sendMessage"]
            assert len(sent) == 3, (chat_id, sent)
    finally:
        await first.stop()
        await second.stop()
        await fake.stop()
