"""Residents read and written outside the ORM: created once, written back only when changed,
any text kept as it was, and on PostgreSQL locked until the batch's transaction ends."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import timedelta

import pytest
from sqlalchemy import JSON, Boolean, Integer, String, select, text

from bot.core import residents as stored
from bot.db import Database
from bot.models import Resident, UTCDateTime, day_start

TG = "telegram"
#: NFD, a zero-width joiner emoji, right-to-left marks and Arabic
STRANGE = unicodedata.normalize("NFD", "Nguyễn") + " 👩‍👩‍👧 \u200f\u202eعربي\u202c \u200b"


async def test_new_residents_are_created_once_with_the_defaults(db: Database) -> None:
    today = day_start()
    async with db.session() as session:
        found = await stored.load(session, [(TG, "1"), (TG, "2"), (TG, "1")], "en", today)
    assert sorted(found) == [(TG, "1"), (TG, "2")]
    first = found[(TG, "1")]
    assert first.id is not None and first.language == "en" and first.subscribed
    assert not first.onboarded and first.state == "" and first.state_data == {}
    assert first.created_at == today == first.last_seen_at and first.unsubscribed_at is None
    async with db.session() as session:
        again = await stored.load(session, [(TG, "1"), ("zalo_bot", "1")], "vi", today)
        count = (await session.execute(text("SELECT count(*) FROM resident"))).scalar_one()
    assert again[(TG, "1")].id == first.id and again[(TG, "1")].language == "en"
    assert again[("zalo_bot", "1")].language == "vi"
    assert count == 3


async def test_changes_are_written_back_and_any_text_round_trips(db: Database) -> None:
    today = day_start()
    async with db.session() as session:
        found = await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
    async with db.session() as session:
        found = await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
        loaded = [(r, stored.snapshot(r)) for r in found.values()]
        changed = found[(TG, "1")]
        changed.state = STRANGE[:64]
        changed.state_data["note"] = STRANGE  # changed in place: seen all the same
        changed.state_data["nested"] = {"list": [1, None, True, "ồ"], "nul": "a\x00b"}
        changed.language, changed.commune_code, changed.subscribed = "en", 21583, False
        changed.onboarded, changed.unsubscribed_at = True, today
        await stored.save(session, loaded)
    async with db.session() as session:
        rows = {
            r.chat_id: r
            for r in (await session.execute(select(Resident).order_by(Resident.id))).scalars()  # type: ignore[arg-type]
        }
    one, two = rows["1"], rows["2"]
    assert one.state == STRANGE[:64] and one.state_data["note"] == STRANGE
    assert one.state_data["nested"] == {"list": [1, None, True, "ồ"], "nul": "a\x00b"}
    assert (one.language, one.commune_code, one.subscribed) == ("en", 21583, False)
    assert one.onboarded and one.unsubscribed_at == today
    assert (two.state, two.state_data, two.language) == ("", {}, "vi")


async def test_unchanged_residents_are_not_written(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL shows a row's writes (xmin); the logic is the same on SQLite")
    db = Database(database_url)
    try:
        today = day_start()
        async with db.session() as session:
            await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
        xmin = "SELECT chat_id, xmin::text FROM resident ORDER BY chat_id"
        async with db.session() as session:
            before = (await session.execute(text(xmin))).all()
            found = await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
            loaded = [(r, stored.snapshot(r)) for r in found.values()]
            found[(TG, "2")].state = "asked"
            await stored.save(session, loaded)
        async with db.session() as session:
            after = (await session.execute(text(xmin))).all()
        assert after[0] == before[0] and after[1] != before[1]
    finally:
        await db.dispose()


def test_restore_undoes_a_handlers_changes() -> None:
    resident = Resident(id=1, channel=TG, chat_id="1", state="a", state_data={"k": [1]})
    before = stored.snapshot(resident)
    resident.state = "b"
    resident.state_data["k"].append(2)
    resident.language, resident.subscribed = "en", False
    assert stored.snapshot(resident) != before
    stored.restore(resident, before)
    assert stored.snapshot(resident) == before
    assert resident.state == "a" and resident.state_data == {"k": [1]}


async def test_a_chats_row_is_locked_until_its_transaction_ends(database_url: str) -> None:
    """Two instances handling one chat's updates take turns: the second reads what the first
    wrote, never the same state as the first (read-modify-write across processes)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its transactions never overlap")
    first_db, second_db = Database(database_url), Database(database_url)
    today = day_start()
    try:
        async with first_db.session() as session:
            await stored.load(session, [(TG, "1")], "vi", today)

        async def second() -> str:
            async with second_db.session() as session:
                return (await stored.load(session, [(TG, "1")], "vi", today))[(TG, "1")].state

        async with first_db.session() as session:
            found = await stored.load(session, [(TG, "1")], "vi", today)
            loaded = [(r, stored.snapshot(r)) for r in found.values()]
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.5)
            assert not waiting.done()  # held by the first transaction's lock
            found[(TG, "1")].state = "written by the first"
            await stored.save(session, loaded)
        assert await asyncio.wait_for(waiting, 10) == "written by the first"
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_a_new_chat_created_by_two_instances_at_once_is_one_resident(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: its transactions never overlap")
    first_db, second_db = Database(database_url), Database(database_url)
    today = day_start()
    try:

        async def second() -> int | None:
            async with second_db.session() as session:
                return (await stored.load(session, [(TG, "9")], "vi", today))[(TG, "9")].id

        async with first_db.session() as session:
            created = (await stored.load(session, [(TG, "9")], "vi", today))[(TG, "9")]
            # the second finds no row yet, and its INSERT waits for this transaction
            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.5)
            assert not waiting.done()
        assert await asyncio.wait_for(waiting, 10) == created.id
        async with first_db.session() as session:
            count = (await session.execute(text("SELECT count(*) FROM resident"))).scalar_one()
        assert count == 1
    finally:
        await first_db.dispose()
        await second_db.dispose()


def _another(value: object, type_: object) -> object:
    """A value of `type_` other than `value` (a new kind of column needs a line here)."""
    if isinstance(type_, JSON):
        return {"changed": [STRANGE, 1, None, True]}
    if isinstance(type_, Boolean):
        return not value
    if isinstance(type_, Integer):
        return 21583 if value != 21583 else 21584
    if isinstance(type_, String):
        return (STRANGE + str(value))[: type_.length]
    if isinstance(type_, UTCDateTime):
        return day_start() - timedelta(days=400)
    raise AssertionError(f"no other value for a column of {type_!r}: add one here")


async def test_every_column_survives_the_write_back(db: Database) -> None:
    """Read, every column but the key changed, written back: the ORM reads the changes, so
    a column added to `Resident` is written back with no change to the fast path."""
    today = day_start()
    async with db.session() as session:
        await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
    async with db.session() as session:
        found = await stored.load(session, [(TG, "1"), (TG, "2")], "vi", today)
        loaded = [(r, stored.snapshot(r)) for r in found.values()]
        resident = found[(TG, "1")]
        columns = Resident.__table__.columns  # type: ignore[attr-defined]
        expected = {}
        for column in columns:
            value = getattr(resident, column.name)
            if not column.primary_key:
                value = _another(value, column.type)
                setattr(resident, column.name, value)
            expected[column.name] = value
        assert set(stored.MUTABLE) == {c.name for c in columns if not c.primary_key}
        await stored.save(session, loaded)
    async with db.session() as session:
        rows = {r.id: r for r in (await session.execute(select(Resident))).scalars()}
    assert rows[resident.id].model_dump() == expected
    other = found[(TG, "2")]
    assert rows[other.id].chat_id == "2" and rows[other.id].state == ""
