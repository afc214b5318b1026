"""The core under failure: a broken handler still records the update and answers."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core.context import Context
from bot.models import InboundUpdate, Resident
from tests.harness import TelegramResident, run_dialogue, running_stack


async def test_a_failing_handler_gets_an_apology_not_silence(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 66)
        await run_dialogue(resident, [("/start", "Chọn ngôn ngữ")])
        real_handler = stack.runtime.core.handler

        async def broken(ctx: Context) -> None:
            ctx.set_state("half-done")
            ctx.reply("never sent")
            raise RuntimeError("bug")

        stack.runtime.core.handler = broken
        answer = await resident.step("[🇻🇳 Tiếng Việt]")
        assert "có lỗi xảy ra" in answer and "never sent" not in answer
        async with stack.runtime.db.session() as session:
            row = (await session.execute(select(Resident))).scalar_one()
            count = await session.execute(select(func.count()).select_from(InboundUpdate))
            assert count.scalar_one() == 2  # recorded: Telegram will not redeliver it forever
        assert row.state != "half-done"
        stack.runtime.core.handler = real_handler
        await run_dialogue(resident, [("/start", "Chọn ngôn ngữ")])


async def test_unknown_or_malformed_payloads_show_the_menu(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 67)
        await run_dialogue(resident, [("/start", "Chọn ngôn ngữ"), ("[🇻🇳 Tiếng Việt]", "xã")])
        for payload in (
            "lib:t:law:0:extra:fields",
            "nope",
            "com:999999",
            "lib:i:missing:0",
            "lib:t:missing:x",
            "set:zzz",
            "sub",
            ":",
            "",
        ):
            await resident.inject({"callback_data": payload, "any_data": True})
            texts = [m for m in resident._new_messages()]
            assert texts, payload


async def test_replies_leave_no_row_once_delivered(database_url: str) -> None:
    """Private or not: a delivered message's chat id and time would frame a tip's."""
    from sqlalchemy import select

    from bot.models import OutboxMessage

    async with running_stack(database_url) as stack:
        resident = TelegramResident(stack, 68)

        async def secret_reply(ctx: Context) -> None:
            ctx.reply("ordinary")
            ctx.reply("Mã tin báo: TG-7K3M9Q, PIN 123456", private=True)
            ctx.reply("ordinary again")

        stack.runtime.core.handler = secret_reply
        answer = await resident.step("anything")
        assert answer.split("\n---\n") == [
            "ordinary",
            "Mã tin báo: TG-7K3M9Q, PIN 123456",
            "ordinary again",
        ]
        async with stack.runtime.db.session() as session:
            rows = (
                (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id)))
                .scalars()
                .all()
            )
        assert rows == []


async def test_heavy_work_runs_outside_the_batch_and_the_update_is_handled_once(
    database_url: str,
) -> None:
    """`ctx.compute`: the work runs in a thread while other residents' updates go on; the
    update is handled again with the result, and answered and recorded once."""
    import asyncio
    import threading

    from bot.core.types import Inbound

    release = threading.Event()
    runs: list[str] = []

    def work() -> str:
        release.wait(10)
        return "hashed"

    async def handler(ctx: Context) -> None:
        runs.append(ctx.inbound.update_id)
        if ctx.text == "heavy":
            ctx.reply(f"result: {ctx.compute('k', work)}")
        else:
            ctx.reply("light")

    async with running_stack(database_url, known_chats=[901, 902]) as stack:
        core = stack.runtime.core
        core.handler = handler
        heavy = asyncio.create_task(
            core.handle(Inbound("telegram", "901", "h1", "text", text="heavy"))
        )
        await asyncio.sleep(0.2)
        # another resident is answered while the work is still blocked
        light = Inbound("telegram", "902", "l1", "text", text="light")
        assert await asyncio.wait_for(core.handle(light), timeout=5) is True
        assert not heavy.done()
        release.set()
        assert await asyncio.wait_for(heavy, timeout=10) is True
        await stack.runtime.outbox.flush()
        assert [m["text"] for m in stack.fake.sent(901)] == ["result: hashed"]
        assert runs.count("h1") == 2  # the first run was discarded
        # a redelivery of the same update is a duplicate now
        assert await core.handle(Inbound("telegram", "901", "h1", "text", text="heavy")) is False
        async with stack.runtime.db.session() as session:
            count = await session.execute(select(func.count()).select_from(InboundUpdate))
            assert count.scalar_one() == 2


async def test_work_asked_for_after_a_change_undoes_the_change(database_url: str) -> None:
    from bot.core.types import Inbound

    async def handler(ctx: Context) -> None:
        ctx.set_state("half-done")
        value = ctx.compute("k", lambda: 42)
        ctx.set_state("")
        ctx.reply(f"value {value}")

    async with running_stack(database_url, known_chats=[903]) as stack:
        stack.runtime.core.handler = handler
        inbound = Inbound("telegram", "903", "c1", "text", text="x")
        assert await stack.runtime.core.handle(inbound) is True
        await stack.runtime.outbox.flush()
        assert [m["text"] for m in stack.fake.sent(903)] == ["value 42"]
        async with stack.runtime.db.session() as session:
            assert (await session.execute(select(Resident))).scalar_one().state == ""


async def test_a_change_made_before_asking_for_work_is_undone(database_url: str) -> None:
    """The first run's change is not kept when the second run does not make it again."""
    from bot.core.types import Inbound

    async def handler(ctx: Context) -> None:
        if "k" not in ctx.inbound.computed:
            ctx.set_state("half-done")
            ctx.resident.language = "en"
        ctx.reply(f"value {ctx.compute('k', lambda: 42)}")

    async with running_stack(database_url, known_chats=[904]) as stack:
        stack.runtime.core.handler = handler
        inbound = Inbound("telegram", "904", "c1", "text", text="x")
        assert await stack.runtime.core.handle(inbound) is True
        await stack.runtime.outbox.flush()
        assert [m["text"] for m in stack.fake.sent(904)] == ["value 42"]
        async with stack.runtime.db.session() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
        assert (resident.state, resident.language) == ("", "vi")


async def test_failed_work_leaves_the_update_unrecorded_for_redelivery(database_url: str) -> None:
    import pytest

    from bot.core.types import Inbound

    fail = True

    def work() -> int:
        if fail:
            raise OSError("out of memory")
        return 7

    async def handler(ctx: Context) -> None:
        ctx.reply(f"value {ctx.compute('k', work)}")

    async with running_stack(database_url, known_chats=[904]) as stack:
        stack.runtime.core.handler = handler
        inbound = Inbound("telegram", "904", "f1", "text", text="x")
        with pytest.raises(OSError):
            await stack.runtime.core.handle(inbound)
        fail = False
        assert await stack.runtime.core.handle(inbound) is True  # not taken for a duplicate
        await stack.runtime.outbox.flush()
        assert [m["text"] for m in stack.fake.sent(904)] == ["value 7"]


async def test_each_chat_keeps_its_order_while_lanes_run_side_by_side(database_url: str) -> None:
    """Many chats' updates at once: on PostgreSQL several transactions run together (lanes),
    yet every chat's updates are handled once each, in the order they came."""
    import asyncio

    from bot.core.residents import SEALED, open_state
    from bot.core.types import Inbound

    async with running_stack(database_url) as stack:
        core = stack.runtime.core
        running = peak = 0

        async def record(ctx: Context) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.002)  # as if the handler read something
            seen = list(ctx.resident.state_data.get("seen", []))
            ctx.resident.state_data = {**ctx.resident.state_data, "seen": [*seen, ctx.text]}
            running -= 1

        core.handler = record
        chats, per_chat = 12, 15

        async def chat(n: int) -> None:
            for i in range(per_chat):  # one after another, as a platform delivers a chat
                inbound = Inbound("telegram", str(9000 + n), f"{n}-{i}", "text", text=str(i))
                assert await core.handle(inbound)

        await asyncio.gather(*(chat(n) for n in range(chats)))
        async with stack.runtime.db.session() as session:
            residents = (await session.execute(select(Resident))).scalars().all()
        # as stored, sealed whole with the relay keys; opened as the core opens it
        assert {r.state for r in residents} == {SEALED}
        seen = {
            r.chat_id: open_state(r.state, r.state_data, core.sealer)[1].get("seen")
            for r in residents
        }
        expected = [str(i) for i in range(per_chat)]
        assert seen == {str(9000 + n): expected for n in range(chats)}
        # one transaction at a time on SQLite (one writer), several on PostgreSQL
        assert (peak > 1) is (not stack.runtime.db.is_sqlite)
