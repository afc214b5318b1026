"""Broadcast rows are paced under each platform's limit: zero 429s from the fakes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.core.outbox import insert_pending
from bot.core.pacing import Pacer
from tests.harness import running_stack

N = 150


@pytest.mark.parametrize("channel", ["telegram", "zalo_bot", "zalo_oa"])
async def test_broadcasts_stay_under_the_fakes_limits(database_url: str, channel: str) -> None:
    async with running_stack(database_url, zalo=True) as stack:
        assert stack.zalo_bot is not None and stack.zalo_oa is not None
        outbox = stack.runtime.outbox
        if channel == "telegram":
            chats = [str(7000 + i) for i in range(N)]
            for chat in chats:
                stack.fake.add_chat(int(chat))
            stack.fake.set_limits(enforce=True, rate_per_second=200, per_chat_per_second=1)
            outbox.pacers["telegram"] = Pacer(190, per_chat=1.0)
        elif channel == "zalo_bot":
            chats = [f"{i:020x}" for i in range(N)]
            for chat in chats:
                stack.zalo_bot.add_chat(chat)
            stack.zalo_bot.set_limits(enforce=True, rate_per_second=200, burst=20)
            outbox.pacers["zalo_bot"] = Pacer(180)
        else:
            chats = [str(6142494823000000000 + i) for i in range(N)]
            for chat in chats:
                stack.zalo_oa.set_last_interaction(chat, seconds_ago=3600)
            stack.zalo_oa.set_limits(enforce=True, requests_per_minute=12_000)
            outbox.pacers["zalo_oa"] = Pacer(190)
        # two messages per resident: the per-chat interval is exercised on Telegram
        messages = [(channel, chat, {"text": f"Thông báo {n}"}) for n in (1, 2) for chat in chats]
        async with stack.runtime.db.session() as session:
            rows = await insert_pending(session, messages, outbox.lease, kind="broadcast")
        outbox.send_soon(rows)
        await asyncio.wait_for(outbox.flush(), timeout=60)
        if channel == "telegram":
            sent, limited = len(stack.fake.sent()), stack.fake.stats()["rate_limited"]
        elif channel == "zalo_bot":
            sent, limited = (
                stack.zalo_bot.stats()["messages_sent"],
                stack.zalo_bot.stats()["rate_limited"],
            )
        else:
            sent, limited = stack.zalo_oa.stats()["sends"], stack.zalo_oa.stats()["rate_limited"]
        assert (sent, limited) == (2 * N, 0)


async def test_a_long_paced_broadcast_is_never_sent_twice(database_url: str) -> None:
    """The broadcast outlasts the lease many times over: leases are renewed while queued."""
    async with running_stack(database_url) as stack:
        outbox = stack.runtime.outbox
        outbox.lease = timedelta(seconds=0.5)
        outbox.sweep_interval = 0.1
        outbox.pacers["telegram"] = Pacer(40)
        chats = [str(8000 + i) for i in range(60)]
        for chat in chats:
            stack.fake.add_chat(int(chat))
        messages = [("telegram", chat, {"text": "Thông báo"}) for chat in chats]
        async with stack.runtime.db.session() as session:
            rows = await insert_pending(session, messages, outbox.lease, kind="broadcast")
        outbox.send_soon(rows)
        await asyncio.sleep(2.0)  # ~4 lease periods while the sweeper runs every 0.1 s
        await asyncio.wait_for(outbox.flush(), timeout=30)
        assert sorted(m["chat_id"] for m in stack.fake.sent()) == sorted(int(c) for c in chats)
