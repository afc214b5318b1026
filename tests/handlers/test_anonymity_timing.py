"""Timing must not point at a tipster: residents are recorded to the day, and whatever a
resident does in the tip-off part of the menu is counted without their id."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Event, Resident
from tests.harness import TelegramResident, run_dialogue, running_stack


async def test_tip_flow_events_carry_no_resident_and_times_are_days(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await run_dialogue(
            TelegramResident(stack, 4711),
            [
                ("/start", "Chọn ngôn ngữ"),
                ("[🇻🇳 Tiếng Việt]", "xã/phường nào"),
                ("[Bỏ qua]", "Menu chính"),
                ("[🚨 Tố giác tội phạm]", "113"),
                ("[🏠 Menu chính]", "Menu chính"),
            ],
        )
        async with stack.runtime.db.session() as session:
            resident = (await session.execute(select(Resident))).scalar_one()
            events = (await session.execute(select(Event))).scalars().all()
    for moment in (resident.created_at, resident.last_seen_at):
        assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
    tip_events = [e for e in events if e.kind == "report_info" or (e.kind, e.ref) == ("tap", "tip")]
    assert len(tip_events) == 2 and all(e.resident_id is None for e in tip_events)
    assert any(e.resident_id == resident.id for e in events if e.ref == "m")  # others keep it
