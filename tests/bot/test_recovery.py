"""Restarts lose nothing: conversation state lives in the database, and the outbox resends
whatever a dead process had committed but not yet sent."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from bot.db import Database
from bot.models import InboundUpdate, OutboxMessage, Resident, utcnow
from bot.runtime import TELEGRAM_WEBHOOK_PATH
from tests.harness import WEBHOOK_SECRET, TelegramResident, run_dialogue, running_stack


async def test_restart_in_the_middle_of_a_conversation(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await run_dialogue(
            TelegramResident(stack, 4242),
            [("/start", "Chọn ngôn ngữ"), ("[🇻🇳 Tiếng Việt]", "xã/phường nào")],
        )
    # A new process on the same database (and Telegram's update ids go on increasing):
    # the resident just carries on.
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 4242)
        await resident.inject({"text": "quy nhon dong", "update_id": 1000})
        answer = "\n".join(m["text"] for m in resident._new_messages())
        assert "Có phải bạn ở Phường Quy Nhơn Đông?" in answer
        await run_dialogue(resident, [("1", ["Phường Quy Nhơn Đông", "Menu chính"])])


async def test_messages_committed_but_not_sent_are_sent_after_a_restart(
    database_url: str,
) -> None:
    db = Database(database_url)
    async with db.session() as session:  # what a process killed right after commit leaves
        session.add(
            OutboxMessage(
                channel="telegram",
                chat_id="5150",
                payload={"text": "tin nhắn còn chờ"},
                lease_until=utcnow() - timedelta(seconds=1),
            )
        )
    await db.dispose()
    async with running_stack(database_url, known_chats=[5150]) as stack:
        await stack.runtime.outbox.sweep_once()  # the background sweeper may have been first
        await stack.fake.wait_sent(5150, 1, timeout=10)
        await stack.runtime.outbox.flush()
        assert [m["text"] for m in stack.fake.sent(5150)] == ["tin nhắn còn chờ"]
        async with stack.runtime.db.session() as session:
            left = (await session.execute(select(OutboxMessage))).scalars().all()
        assert left == []  # sent, and so deleted
        # and a second sweep does not send it again
        assert await stack.runtime.outbox.sweep_once() == 0


async def test_a_leased_message_is_left_to_its_writer(database_url: str) -> None:
    db = Database(database_url)
    async with db.session() as session:
        session.add(
            OutboxMessage(
                channel="telegram",
                chat_id="5151",
                payload={"text": "x"},
                lease_until=utcnow() + timedelta(seconds=30),
            )
        )
    await db.dispose()
    async with running_stack(database_url) as stack:
        assert await stack.runtime.outbox.sweep_once() == 0


async def test_concurrent_duplicate_deliveries_are_handled_once(database_url: str) -> None:
    update = {
        "update_id": 99,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "text": "/start",
            "chat": {"id": 31, "type": "private", "first_name": "B"},
            "from": {"id": 31, "is_bot": False, "first_name": "B"},
        },
    }
    async with running_stack(database_url) as stack, httpx.AsyncClient() as client:
        stack.fake.add_chat(31)
        posts = [
            client.post(
                stack.runtime.url + TELEGRAM_WEBHOOK_PATH,
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            )
            for _ in range(5)
        ]
        responses = await asyncio.gather(*posts)
        assert {r.status_code for r in responses} == {200}
        await stack.runtime.outbox.flush()
        async with stack.runtime.db.session() as session:
            inbound = await session.execute(select(func.count()).select_from(InboundUpdate))
            residents = await session.execute(select(func.count()).select_from(Resident))
            assert inbound.scalar_one() == 1 and residents.scalar_one() == 1
        assert len(stack.fake.sent(31)) == 1
