"""Filing a tip: the one place that writes a tip and its sealed way back to the tipster."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.models import Tip, TipRelay, utcnow
from bot.settings import Settings
from bot.tips.codes import hash_pin, new_pin, new_tip_code
from bot.tips.relay import RelayCipher

__all__ = ["CATEGORIES", "Draft", "submit_tip"]

#: Tip categories, in the order residents see them.
CATEGORIES = (
    "drugs",
    "theft",
    "gambling",
    "loan_shark",
    "online_fraud",
    "weapons",
    "violence",
    "public_order",
    "other",
)


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


async def submit_tip(
    session: AsyncSession,
    draft: Draft,
    route: tuple[str, str],
    cipher: RelayCipher,
    settings: Settings,
) -> tuple[str, str]:
    """Store the tip (no identity on it) and its sealed route; returns (code, PIN)."""
    for _ in range(10):
        code = new_tip_code()
        taken = await session.execute(select(col(Tip.id)).where(col(Tip.code) == code))
        if taken.first() is None:
            break
    else:  # 887 million codes: only a broken random source gets here
        raise RuntimeError("could not find a free tip code")
    pin = new_pin()
    now = utcnow()
    hours = (
        settings.tip_urgent_response_hours if draft.urgent else settings.tip_first_response_hours
    )
    tip = Tip(
        code=code,
        # argon2 costs tens of milliseconds of CPU on purpose: not on the event loop
        pin_hash=await asyncio.to_thread(hash_pin, pin),
        category=draft.category,
        commune_code=draft.commune_code,
        place_detail=draft.place_detail,
        occurred=draft.occurred,
        description=draft.description,
        urgent=draft.urgent,
        status="new",
        created_at=now,
        updated_at=now,
        first_response_due=now + timedelta(hours=hours),
    )
    session.add(tip)
    await session.flush()
    assert tip.id is not None
    session.add(TipRelay(tip_id=tip.id, sealed=cipher.seal(*route)))
    return code, pin
