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
