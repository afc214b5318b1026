"""Background loops are asked to stop and given time; only a loop that overstays is cut."""

from __future__ import annotations

import asyncio

from bot.core.tasks import wind_down


async def test_a_loop_that_ends_on_its_own_is_not_cancelled() -> None:
    stop = asyncio.Event()
    finished: list[str] = []

    async def loop() -> None:
        await stop.wait()
        await asyncio.sleep(0.05)  # the last turn's work (a transaction being committed)
        finished.append("cleanly")

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    stop.set()
    await wind_down([task], grace=2)
    assert finished == ["cleanly"]
    assert not task.cancelled()


async def test_a_loop_that_overstays_is_cancelled_after_the_grace() -> None:
    task = asyncio.create_task(asyncio.sleep(60))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wind_down([task], grace=0.1)
    assert task.cancelled()
    assert loop.time() - started < 5


async def test_finished_and_failed_tasks_are_let_be() -> None:
    async def fail() -> None:
        raise RuntimeError("logged by its owner")

    failed = asyncio.create_task(fail())
    done = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await wind_down([failed, done], grace=0.1)
    assert isinstance(failed.exception(), RuntimeError)
    await wind_down([])
