import asyncio
import itertools
import time

from bot.core.pacing import Pacer


async def _times(pacer: Pacer, chats: list[str]) -> list[float]:
    loop = asyncio.get_running_loop()
    out: list[float] = []

    async def one(chat: str) -> None:
        await pacer.wait(chat)
        out.append(loop.time())

    await asyncio.gather(*(one(chat) for chat in chats))
    return sorted(out)


async def test_releases_are_spaced_by_the_rate() -> None:
    times = await _times(Pacer(rate=20), [""] * 11)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.024  # never closer than half a slot
    assert times[-1] - times[0] >= 0.49  # 20/s at most (a loaded machine may be slower)


async def test_one_chat_waits_its_own_interval() -> None:
    pacer = Pacer(rate=1000, per_chat=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer.wait("a")
    await pacer.wait("b")
    assert loop.time() - started < 0.1
    await pacer.wait("a")
    assert loop.time() - started >= 0.49


async def test_no_burst_after_the_loop_was_blocked() -> None:
    pacer = Pacer(rate=50)
    waiters = [asyncio.create_task(pacer.wait()) for _ in range(10)]
    await asyncio.sleep(0)
    time.sleep(0.3)  # noqa: ASYNC251 - the event loop is busy: several turns pass meanwhile
    loop = asyncio.get_running_loop()
    done: list[float] = []
    for task in waiters:
        task.add_done_callback(lambda _t: done.append(loop.time()))
    await asyncio.gather(*waiters)
    done.sort()
    # the turns missed while the loop was blocked did not all go at once: the eight after the
    # first two still took at least half a slot each
    assert done[-1] - done[1] >= 8 * 0.01 * 0.9
