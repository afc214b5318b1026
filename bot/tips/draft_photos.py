"""The clean photos of a tip being written, kept apart from anyone's identity.

They live in `TipPhotoDraft` under random ids that only the resident's sealed draft lists:
nothing in the table says whose they are. Sending the tip moves them to `TipPhoto`;
cancelling deletes them; housekeeping deletes those of drafts abandoned for a day.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.types import FetchedPhoto
from bot.models import TipPhoto, TipPhotoDraft, utcnow

__all__ = [
    "DRAFT_PHOTO_RETENTION",
    "MAX_PHOTOS",
    "attach_to_tip",
    "discard",
    "keep",
    "prune_abandoned",
]

#: Most photos one tip may carry.
MAX_PHOTOS: Final = 3
#: How long the photos of a draft nobody sent are kept.
DRAFT_PHOTO_RETENTION: Final = timedelta(days=1)


def keep(session: AsyncSession, photo: FetchedPhoto) -> str:
    """Store a clean photo for a draft; returns its new random id (for the sealed draft)."""
    photo_id = secrets.token_hex(16)
    session.add(
        TipPhotoDraft(
            id=photo_id,
            content=photo.content,
            mime="image/jpeg",
            width=photo.width,
            height=photo.height,
        )
    )
    return photo_id


async def attach_to_tip(session: AsyncSession, tip_id: int, photo_ids: Sequence[str]) -> int:
    """Move a sent draft's photos to its tip, in the order they were sent; returns how many."""
    if not photo_ids:
        return 0
    rows = (
        (
            await session.execute(
                select(TipPhotoDraft).where(col(TipPhotoDraft.id).in_(list(photo_ids)))
            )
        )
        .scalars()
        .all()
    )
    by_id = {row.id: row for row in rows}
    now = utcnow()
    moved = 0
    for photo_id in photo_ids:
        row = by_id.get(photo_id)
        if row is None:  # pruned meanwhile (a draft left open for over a day)
            continue
        session.add(
            TipPhoto(
                tip_id=tip_id,
                content=row.content,
                mime=row.mime,
                width=row.width,
                height=row.height,
                created_at=now,
            )
        )
        moved += 1
    await discard(session, photo_ids)
    return moved


async def discard(session: AsyncSession, photo_ids: Sequence[str]) -> None:
    """Delete a draft's photos (cancelled, or moved to the tip)."""
    if photo_ids:
        await session.execute(
            delete(TipPhotoDraft).where(col(TipPhotoDraft.id).in_(list(photo_ids)))
        )


async def prune_abandoned(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete the photos of drafts left unsent for `DRAFT_PHOTO_RETENTION`; returns how many."""
    cutoff = (now or utcnow()) - DRAFT_PHOTO_RETENTION
    result = await session.execute(
        delete(TipPhotoDraft).where(col(TipPhotoDraft.created_at) < cutoff)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
