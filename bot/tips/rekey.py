"""Re-seal every tip relay under the newest TIP_RELAY_KEYS key, so an old key can be retired
without losing the way back to any open tip.

Rotation: `antq keys relay` makes a key; put it first in TIP_RELAY_KEYS and keep the old ones
after it; restart every instance (new relays are sealed with the new key, old ones still
open); run `antq keys reseal`; a day later (tips being written keep a draft sealed in the
conversation state for at most that long) remove the old key and restart again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlmodel import col

from bot.db import Database
from bot.models import TipRelay
from bot.tips.relay import RelayCipher, RelayKeyError

__all__ = ["reseal_all"]

BATCH = 500


async def reseal_all(
    db: Database, cipher: RelayCipher, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Re-seal every relay in batches (one transaction each); returns (resealed, unreadable).
    A relay no configured key opens is left as it is and counted: its key was lost, or it
    was tampered with."""
    async with db.session() as session:
        total = int(
            (await session.execute(select(func.count()).select_from(TipRelay))).scalar_one()
        )
    done = unreadable = 0
    after = -1
    while True:
        async with db.session() as session:
            rows = (
                await session.execute(
                    select(col(TipRelay.tip_id), col(TipRelay.sealed))
                    .where(col(TipRelay.tip_id) > after)
                    .order_by(col(TipRelay.tip_id))
                    .limit(BATCH)
                    .with_for_update()
                )
            ).all()
            if not rows:
                break
            for tip_id, sealed in rows:
                after = tip_id
                try:
                    fresh = cipher.rotate(bytes(sealed))
                except RelayKeyError:
                    unreadable += 1
                    continue
                await session.execute(
                    update(TipRelay).where(col(TipRelay.tip_id) == tip_id).values(sealed=fresh)
                )
                done += 1
        if progress is not None:
            progress(done + unreadable, total)
    return done, unreadable
