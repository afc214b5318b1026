"""Rotating the tip-relay key: every relay re-sealed under the new key, so the old key can go,
and every open tip still leads back to its tipster."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import col

from bot.db import Database
from bot.models import Tip, TipRelay
from bot.tips.rekey import reseal_all
from bot.tips.relay import RelayCipher, RelayKeyError, generate_key


async def test_reseal_moves_every_relay_to_the_new_key(db: Database) -> None:
    old, new = generate_key(), generate_key()
    before = RelayCipher(old)
    async with db.session() as session:
        for i in range(1203):  # more than two batches
            tip = Tip(code=f"T{i:05d}", pin_hash="x", category="drugs", description="d")
            session.add(tip)
            await session.flush()
            session.add(TipRelay(tip_id=tip.id or 0, sealed=before.seal("telegram", str(7000 + i))))
    async with db.session() as session:  # one record sealed under a key nobody has any more
        await session.execute(
            update(TipRelay)
            .where(col(TipRelay.tip_id) == 1)
            .values(sealed=RelayCipher(generate_key()).seal("telegram", "1"))
        )
    seen: list[tuple[int, int]] = []
    done, unreadable = await reseal_all(
        db, RelayCipher(f"{new},{old}"), lambda d, t: seen.append((d, t))
    )
    assert (done, unreadable) == (1202, 1)
    assert seen[-1] == (1203, 1203) and len(seen) == 3
    only_new = RelayCipher(new)
    async with db.session() as session:
        rows = (
            (await session.execute(select(TipRelay).order_by(col(TipRelay.tip_id)))).scalars().all()
        )
    opened = {}
    for row in rows:
        try:
            opened[row.tip_id] = only_new.open(row.sealed)
        except RelayKeyError:
            opened[row.tip_id] = None
    assert opened[1] is None
    assert sum(1 for v in opened.values() if v is not None) == 1202
    assert opened[2] == ("telegram", "7001")
    # run again: nothing left under the old key, nothing lost
    assert await reseal_all(db, RelayCipher(new)) == (1202, 1)
