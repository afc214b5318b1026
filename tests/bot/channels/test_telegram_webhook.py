"""The Telegram webhook through the real HTTP path: secrets, bad bodies, duplicates, limits."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import func, select

import handlers
from bot.core.context import Context
from bot.models import InboundUpdate, OutboxMessage, Resident, day_start
from bot.runtime import TELEGRAM_WEBHOOK_PATH
from tests.harness import WEBHOOK_SECRET, Stack, TelegramResident, running_stack


def _update(update_id: int, text: str = "/start", chat_id: int = 77) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": chat_id, "type": "private", "first_name": "An"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "An"},
            "text": text,
        },
    }


async def _count(stack: Stack, model: type) -> int:
    async with stack.runtime.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _post(stack: Stack, body: bytes, secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with httpx.AsyncClient() as client:
        return await client.post(
            stack.runtime.url + TELEGRAM_WEBHOOK_PATH, content=body, headers=headers
        )


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused_and_nothing_stored(
    database_url: str, secret: str | None
) -> None:
    async with running_stack(database_url) as stack:
        response = await _post(stack, json.dumps(_update(1)).encode(), secret)
        assert response.status_code == 401
        assert await _count(stack, InboundUpdate) == 0
        assert await _count(stack, Resident) == 0


async def test_bad_bodies_get_4xx_and_the_server_keeps_serving(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_stack(database_url) as stack:
        stack.fake.add_chat(77)
        assert (await _post(stack, b"{not json")).status_code == 400
        assert (await _post(stack, b"\xff\xfe\x00garbage")).status_code == 400
        assert (await _post(stack, b"[1, 2, 3]")).status_code == 400
        assert (await _post(stack, b"[" * 100_000 + b"]" * 100_000)).status_code in (400, 413)
        big = json.dumps(_update(2, "x" * (1024 * 1024 + 10))).encode()
        assert (await _post(stack, big)).status_code == 413
        assert (await _post(stack, b'{"update_id": "x"}')).status_code == 400
        with caplog.at_level(logging.INFO):
            unknown = {"update_id": 3, "poll": {"id": "p"}}
            response = await _post(stack, json.dumps(unknown).encode())
        assert response.status_code == 200
        assert "unhandled type ignored" in caplog.text
        assert await _count(stack, InboundUpdate) == 0
        # ...and a good update right after is served normally
        assert (await _post(stack, json.dumps(_update(4)).encode())).status_code == 200
        await stack.runtime.outbox.flush()
        assert stack.fake.sent(77)


async def test_the_same_update_twice_is_handled_once(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        stack.fake.add_chat(77)
        body = json.dumps(_update(5)).encode()
        assert (await _post(stack, body)).status_code == 200
        assert (await _post(stack, body)).status_code == 200
        await stack.runtime.outbox.flush()
        assert await _count(stack, InboundUpdate) == 1
        assert len(stack.fake.sent(77)) == 1


async def test_replies_survive_telegram_flood_limits(database_url: str) -> None:
    """With the fake enforcing 1 message/s per chat, a burst of replies still all arrive."""
    async with running_stack(database_url) as stack:
        stack.fake.set_limits(enforce=True, per_chat_per_second=1, per_chat_burst=1)
        resident = TelegramResident(stack, 501)
        for _ in range(3):
            await resident.inject({"text": "/help"})
        await stack.runtime.outbox.flush()
        assert len(stack.fake.sent(501)) == 3
        assert stack.fake.stats()["rate_limited"] >= 1
        assert await _count(stack, OutboxMessage) == 0  # delivered: gone


async def test_blocked_resident_is_unsubscribed(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 502)
        await resident.step("/start")
        stack.fake.block(502)
        await resident.inject({"text": "/help"})
        async with stack.runtime.db.session() as session:
            row = (await session.execute(select(Resident))).scalar_one()
            left = (await session.execute(select(OutboxMessage))).scalars().all()
        assert row.subscribed is False and row.unsubscribed_at == day_start()
        assert left == []  # the refused message is not kept next to the chat id either


async def test_a_private_message_refused_by_a_block_leaves_the_resident_as_they_were(
    database_url: str,
) -> None:
    """An officer's question that finds the tipster has blocked the bot must not mark them
    "left today": the day of the question would point at them. An ordinary reply does."""
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 504)
        await resident.step("/start")
        stack.fake.block(504)
        core = stack.runtime.core

        async def private(ctx: Context) -> None:
            ctx.reply("Câu hỏi của cán bộ về tin báo TG-7K3M9Q", private=True)

        core.handler = private
        await resident.inject({"text": "anything"})
        async with stack.runtime.db.session() as session:
            row = (await session.execute(select(Resident))).scalar_one()
        assert row.subscribed is True and row.unsubscribed_at is None
        core.handler = handlers.handle
        await resident.inject({"text": "/help"})
        async with stack.runtime.db.session() as session:
            row = (await session.execute(select(Resident))).scalar_one()
        assert row.subscribed is False and row.unsubscribed_at == day_start()


async def test_long_texts_are_split_at_4096(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 503)
        await resident.step("/start")
        await resident.step("[🇻🇳 Tiếng Việt]")
        await resident.step("[Bỏ qua]")
        await resident.step("[💬 Góp ý]")
        # feedback is capped, but the echo-free thank-you must arrive; now a huge text:
        long_text = ("Góp ý rất dài. " * 600).strip()
        answer = await resident.step(long_text)
        assert "Cảm ơn" in answer
        assert all(len(m.get("text") or "") <= 4096 for m in stack.fake.sent(503))


async def test_a_button_press_is_answered_in_the_webhook_response(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 4242)
        await resident.step("/start")
        calls_before = stack.fake.stats()["webhook_replies"]
        await resident.step("[🇻🇳 Tiếng Việt]")
        answers = [m for m in stack.fake.sent(4242) if m["method"] == "answerCallbackQuery"]
        assert len(answers) == 1  # the spinner stops
        # ...by the method call returned with the webhook's 200, not a request of our own
        assert stack.fake.stats()["webhook_replies"] == calls_before + 1
