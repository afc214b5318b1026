"""Filing a tip: the one place that writes a tip and its sealed way back to the tipster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.models import Tip, TipRelay, utcnow
from bot.settings import Settings
from bot.stats.tip_rollup import TipState, record
from bot.tips import draft_photos
from bot.tips.codes import new_pin_sealed, new_tip_code
from bot.tips.deadlines import WorkingTime
from bot.tips.relay import RelayCipher
from bot.tips.workflow import alert_new_tip, search_text

__all__ = ["Draft", "submit_tip"]


@dataclass
class Draft:
    """A tip being written (kept sealed in the conversation state until it is sent)."""

    category: str = ""
    urgent: bool = False
    commune_code: int | None = None
    place_detail: str = ""
    occurred: str = ""
    description: str = ""
    #: Random ids of its photos in `TipPhotoDraft` (bot/tips/draft_photos.py), in order.
    photos: list[str] = field(default_factory=list)


def working_time(settings: Settings) -> WorkingTime:
    return _working_time(
        settings.timezone,
        settings.tip_working_hours,
        settings.tip_working_days,
        settings.tip_holidays_country,
    )


@cache
def _working_time(timezone: str, periods: str, weekdays: str, country: str) -> WorkingTime:
    return WorkingTime(timezone=timezone, periods=periods, weekdays=weekdays, country=country)


def first_response_due(received: datetime, urgent: bool, settings: Settings) -> datetime:
    """Urgent tips: clock hours (police are on duty around the clock); others: working
    hours (TIP_WORKING_HOURS, TIP_WORKING_DAYS, public holidays)."""
    if urgent:
        return received + timedelta(hours=settings.tip_urgent_response_hours)
    return working_time(settings).add_working_hours(received, settings.tip_first_response_hours)


async def submit_tip(
    session: AsyncSession,
    draft: Draft,
    route: tuple[str, str],
    cipher: RelayCipher,
    settings: Settings,
) -> tuple[str, str]:
    """Store the tip (no identity on it), its sealed PIN, its sealed route and the draft's
    photos; returns (code, PIN)."""
    for _ in range(10):
        code = new_tip_code()
        taken = await session.execute(select(col(Tip.id)).where(col(Tip.code) == code))
        if taken.first() is None:
            break
    else:  # 887 million codes: only a broken random source gets here
        raise RuntimeError("could not find a free tip code")
    pin_plain, pin_hash = new_pin_sealed(cipher)
    now = utcnow()
    due = first_response_due(now, draft.urgent, settings)
    tip = Tip(
        code=code,
        pin_hash=pin_hash,
        category=draft.category,
        commune_code=draft.commune_code,
        place_detail=draft.place_detail,
        occurred=draft.occurred,
        description=draft.description,
        urgent=draft.urgent,
        status="new",
        created_at=now,
        updated_at=now,
        first_response_due=due,
    )
    tip.search_text = search_text(tip)
    session.add(tip)
    await session.flush()
    assert tip.id is not None
    await record(session, None, TipState.of(tip, ZoneInfo(settings.timezone)))
    session.add(TipRelay(tip_id=tip.id, sealed=cipher.seal(*route)))
    # the commune's officers hear of it (no content); the sweeper sends it from any process
    await alert_new_tip(session, tip, settings)
    await draft_photos.attach_to_tip(session, tip.id, draft.photos)
    return code, pin_plain
