import asyncio
import itertools

from bot.core.pacing import Pacer


async def test_slots_are_spaced_by_the_rate() -> None:
    pacer = Pacer(rate=10)
    delays = [pacer.reserve() for _ in range(5)]
    assert delays[0] == 0
    assert [round(b - a, 3) for a, b in itertools.pairwise(delays)] == [0.1] * 4


async def test_one_chat_waits_its_own_interval() -> None:
    pacer = Pacer(rate=1000, per_chat=1.0)
    first, second, other = pacer.reserve("a"), pacer.reserve("a"), pacer.reserve("b")
    assert first == 0 and 0.99 < second <= 1.0 and other < 0.01


async def test_wait_sleeps_until_the_slot() -> None:
    pacer = Pacer(rate=20)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(pacer.wait() for _ in range(5)))
    assert 0.19 <= loop.time() - started < 0.5
