"""Rotating the tip-relay key: every relay re-sealed under the new key, so the old key can go,
and every open tip still leads back to its tipster."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import col

from bot.db import Database
from bot.models import Tip, TipRelay
from bot.tips.codes import hash_pin, seal_pin, verify_pin
from bot.tips.rekey import Resealed, reseal_all
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
    result = await reseal_all(db, RelayCipher(f"{new},{old}"), lambda d, t: seen.append((d, t)))
    assert result == Resealed(relays=1202, unreadable_relays=1)
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
    assert await reseal_all(db, RelayCipher(new)) == Resealed(relays=1202, unreadable_relays=1)


async def test_reseal_moves_every_sealed_pin_to_the_new_key(db: Database) -> None:
    old, new = generate_key(), generate_key()
    before = RelayCipher(old)
    stored = {
        "T1": seal_pin(before, "123456"),
        "T2": seal_pin(before, "000042"),
        "T3": hash_pin("654321"),  # an argon2 hash from before PINs were sealed: left alone
        "T4": seal_pin(RelayCipher(generate_key()), "111111"),  # under a lost key
    }
    async with db.session() as session:
        for code, pin_hash in stored.items():
            session.add(Tip(code=code, pin_hash=pin_hash, category="drugs", description="d"))
    result = await reseal_all(db, RelayCipher(f"{new},{old}"))
    assert result == Resealed(pins=2, unreadable_pins=1)
    async with db.session() as session:
        now = dict((await session.execute(select(col(Tip.code), col(Tip.pin_hash)))).all())
    only_new = RelayCipher(new)
    assert verify_pin(now["T1"], "123456", only_new) and verify_pin(now["T2"], "000042", only_new)
    assert not verify_pin(stored["T1"], "123456", only_new)  # the old seal needed the old key
    assert now["T3"] == stored["T3"] and verify_pin(now["T3"], "654321", only_new)
    assert now["T4"] == stored["T4"]
