"""Re-seal every tip relay and every tip's PIN under the newest TIP_RELAY_KEYS key, so an old
key can be retired without losing the way back to any open tip, or any tipster's PIN.

Rotation: `antq keys relay` makes a key; put it first in TIP_RELAY_KEYS and keep the old ones
after it; restart every instance (new relays and PINs are sealed with the new key, old ones
still open); run `antq keys reseal`; a day later (tips being written keep a draft sealed in
the conversation state for at most that long) remove the old key and restart again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from bot.db import Database
from bot.models import Tip, TipRelay
from bot.tips.codes import SEALED_PIN, reseal_pin
from bot.tips.relay import RelayCipher, RelayKeyError

__all__ = ["Resealed", "reseal_all"]

BATCH = 500


@dataclass
class Resealed:
    """What `reseal_all` did. Unreadable records are left as they are: their key was lost,
    or they were tampered with."""

    relays: int = 0
    pins: int = 0
    unreadable_relays: int = 0
    unreadable_pins: int = 0


async def reseal_all(
    db: Database, cipher: RelayCipher, progress: Callable[[int, int], None] | None = None
) -> Resealed:
    """Re-seal every relay, then every sealed PIN, in batches (one transaction each).
    `progress(done, total)` counts both."""
    pins_sealed = col(Tip.pin_hash).startswith(SEALED_PIN)
    async with db.session() as session:
        relays = (await session.execute(select(func.count()).select_from(TipRelay))).scalar_one()
        pins = (await session.execute(select(func.count()).where(pins_sealed))).scalar_one()
    total = int(relays) + int(pins)
    seen = 0

    def tick(count: int) -> None:
        nonlocal seen
        seen += count
        if progress is not None:
            progress(seen, total)

    relays_done, relays_bad = await _reseal(
        db,
        col(TipRelay.tip_id),
        col(TipRelay.sealed),
        None,
        lambda sealed: cipher.rotate(bytes(sealed)),
        tick,
    )
    pins_done, pins_bad = await _reseal(
        db,
        col(Tip.id),
        col(Tip.pin_hash),
        pins_sealed,
        lambda stored: reseal_pin(cipher, str(stored)),
        tick,
    )
    return Resealed(relays_done, pins_done, relays_bad, pins_bad)


async def _reseal(
    db: Database,
    key: Any,
    column: Any,
    where: Any,
    rotate: Callable[[Any], Any],
    tick: Callable[[int], None],
) -> tuple[int, int]:
    """Rewrite `column` with `rotate(value)` row by row, in batches ordered by `key`;
    returns (rewritten, unreadable)."""
    done = unreadable = 0
    after = -1
    while True:
        async with db.session() as session:
            query = select(key, column).where(key > after).order_by(key).limit(BATCH)
            if where is not None:
                query = query.where(where)
            rows = (await session.execute(query.with_for_update())).all()
            if not rows:
                return done, unreadable
            for row_key, value in rows:
                after = row_key
                try:
                    fresh = rotate(value)
                except RelayKeyError:
                    unreadable += 1
                    continue
                await session.execute(
                    update(key.table).where(key == row_key).values({column.key: fresh})
                )
                done += 1
        tick(len(rows))
