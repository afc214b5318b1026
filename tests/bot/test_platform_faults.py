"""The platforms misbehaving: during a storm in which the fake Telegram, Zalo Bot and Zalo OA
answer a share of calls with 502s, 429s or a dropped connection (or, in the second test, do
not answer them at all), residents talk to the bot and a campaign goes out. Once the storm is
over everything arrives, once: no reply and no campaign message lost, none doubled. (The fakes
do nothing for a call they fault, as a real platform behind a failing proxy would; a call the
platform did carry out but whose answer was lost is another matter, see the README's results
table.)"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from bot.fakes._common import Faults
from bot.models import Delivery, OutboxMessage
from tests.bot.campaigns.test_engine import FAST, _campaign, _received, _residents
from tests.harness import MESSAGE_METHODS, running_stack

STORM_SECONDS = 3.0
TALKERS = 12


async def test_a_storm_of_5xx_429_and_dropped_connections_loses_and_doubles_nothing(
    database_url: str,
) -> None:
    await _storm(database_url, lambda n: Faults(rate=0.3, seed=n), {"5xx", "429", "drop"}, 20)


async def test_calls_left_unanswered_until_our_timeout_lose_and_double_nothing(
    database_url: str,
) -> None:
    """A platform (or the network in front of it) that stops answering: a share of calls
    hangs until our client's timeout (15 s), without the platform acting on them."""
    await _storm(database_url, lambda n: Faults(rate=0.3, seed=n, kinds=("hang",)), {"hang"}, 5)


async def _storm(
    database_url: str, faults: Callable[[int], Faults], kinds: set[str], at_least: int
) -> None:
    """Faults on all three fakes for STORM_SECONDS while residents talk and a campaign goes
    out; then everything must arrive, once."""
    async with running_stack(database_url, zalo=True, **FAST) as stack:
        assert stack.zalo_bot is not None and stack.zalo_oa is not None
        fakes = (stack.fake, stack.zalo_bot, stack.zalo_oa)
        audience = await _residents(stack, {"telegram": 150, "zalo_bot": 100, "zalo_oa": 100})
        # what one /start gets on a calm day
        await stack.fake.inject_and_wait({"chat_id": 7_700_000, "text": "/start"})
        await stack.runtime.outbox.flush()
        calm = [m for m in stack.fake.sent(7_700_000) if m["method"] in MESSAGE_METHODS]
        assert calm

        for n, fake in enumerate(fakes):
            fake.faults = faults(n)
        storm_began = time.monotonic()
        await _campaign(stack.runtime.db)
        talkers = [7_700_001 + i for i in range(TALKERS)]
        deliveries = await asyncio.gather(
            *(stack.fake.inject_and_wait({"chat_id": chat, "text": "/start"}) for chat in talkers)
        )
        assert {d["status"] for d in deliveries} == {200}
        campaigns = stack.runtime.campaigns
        assert campaigns is not None
        while time.monotonic() - storm_began < STORM_SECONDS:
            await campaigns.tick()
            await asyncio.sleep(0.1)
        made = Counter[str]()
        for fake in fakes:
            assert fake.faults is not None
            made += fake.faults.made
            fake.faults = None
        calm_again = time.monotonic()

        async def settled() -> bool:
            await campaigns.tick()
            async with stack.runtime.db.session() as session:
                waiting = (
                    await session.execute(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                    )
                ).scalar_one()
                unsent = (
                    await session.execute(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status == "pending")  # type: ignore[arg-type]
                    )
                ).scalar_one()
            got = sum(_received(stack).values())
            return waiting == 0 and unsent == 0 and got >= len(audience)

        deadline = time.monotonic() + 90
        while not await settled():
            if time.monotonic() > deadline:
                async with stack.runtime.db.session() as session:
                    deliveries = (
                        await session.execute(
                            select(Delivery.status, Delivery.channel, func.count()).group_by(
                                Delivery.status, Delivery.channel
                            )
                        )
                    ).all()
                    outbox = (
                        await session.execute(
                            select(
                                OutboxMessage.status, OutboxMessage.channel, func.count()
                            ).group_by(OutboxMessage.status, OutboxMessage.channel)
                        )
                    ).all()
                raise AssertionError(
                    f"not everything arrived after the storm: deliveries {deliveries}, "
                    f"outbox {outbox}, received {sum(_received(stack).values())}, made {made}, "
                    f"missing {[c for c in audience if not _received(stack)[c]]}"
                )
            await asyncio.sleep(0.2)
        recovery = time.monotonic() - calm_again
        await asyncio.sleep(1.0)  # a message sent twice would arrive by now

        assert sum(made.values()) > at_least, made  # the storm happened, of every kind
        assert set(made) == kinds, made
        received = _received(stack)
        assert {chat: received[chat] for chat in audience} == {chat: 1 for chat in audience}
        async with stack.runtime.db.session() as session:
            statuses = Counter((await session.execute(select(Delivery.status))).scalars().all())
        assert statuses == {"sent": len(audience)}
        calm_texts = [m.get("text") for m in calm]
        for chat in talkers:
            got = [m for m in stack.fake.sent(chat) if m["method"] in MESSAGE_METHODS]
            assert [m.get("text") for m in got] == calm_texts, chat
        print(f"\nfaults made: {dict(made)}; everything delivered {recovery:.1f} s after the storm")
