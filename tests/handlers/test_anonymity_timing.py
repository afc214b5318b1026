"""Timing must not point at a tipster: residents are recorded to the day, and what a resident
does in the tip-off part of the menu is not recorded as engagement at all."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Event, Resident, day_start
from tests.harness import TelegramResident, run_dialogue, running_stack


async def test_tip_flow_leaves_no_events_and_times_are_days(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await run_dialogue(
            TelegramResident(stack, 4711),
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("[Bỏ qua]", "Menu chính"),
                ("[🚨 Tố giác tội phạm]", "113"),
                ("[Tiếp tục]", "Vụ việc thuộc loại nào?"),
                ("[Huỷ]", "Menu chính"),
            ],
        )
        async with stack.runtime.db.session() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            events = (await session.execute(select(Event))).scalars().all()
    for moment in (resident.created_at, resident.last_seen_at):
        assert moment == day_start(moment)  # the local day's start: nothing finer
    assert not [e for e in events if e.ref == "tip" or e.kind == "report_info"]
    assert all(e.created_at == day_start(e.created_at) for e in events)


async def test_tips_answers_and_feedback_are_not_counted_as_messages(database_url: str) -> None:
    """The statistics' messages in and out per day, channel and commune: a commune whose only
    active resident tipped must not show that someone wrote to the bot that day."""
    from tests.handlers.test_tip_intake import TIP_FLOW

    async with running_stack(database_url) as stack:
        counter = stack.runtime.counter
        assert counter is not None
        resident = TelegramResident(stack, 4712)
        await run_dialogue(resident, TIP_FLOW[:3])
        before = counter.pending()
        assert before > 0  # onboarding counts
        await run_dialogue(resident, TIP_FLOW[3:])
        await run_dialogue(
            resident,
            [
                ("[💬 Góp ý]", "Hãy viết góp ý"),
                ("Đèn đường ở thôn 3 bị hỏng đã lâu, đề nghị sửa giúp", "Cảm ơn bạn"),
            ],
        )
        assert counter.pending() == before
        await run_dialogue(resident, [("[☎️ Đường dây nóng]", "113")])
        assert counter.pending() == before + 2  # one in, one out
