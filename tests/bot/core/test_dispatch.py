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


async def test_private_replies_leave_no_row_once_delivered(database_url: str) -> None:
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
        assert [r.payload["text"] for r in rows] == ["ordinary", "ordinary again"]
        assert all("TG-7K3M9Q" not in str(r.payload) for r in rows)
