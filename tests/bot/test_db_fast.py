"""The seam of the core's per-update statements (`bot.db_fast`): in the session's
transaction, values stored as SQLAlchemy stores them, dead connections not reused, refused
values not named, and only public SQLAlchemy APIs (the PostgreSQL transaction is begun
through SQLAlchemy's own DBAPI adapter)."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import String, bindparam, select, text
from sqlalchemy.dialects.sqlite import aiosqlite
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import col

from bot import db_fast
from bot.db import Database
from bot.db_fast import HotStatement, InsertRows, SelectRows, UpdateRows
from bot.models import InboundUpdate, Resident, day_start, random_id, utcnow
from tests.postgres import backend_pid, terminate

_UPDATES = InboundUpdate.__table__  # type: ignore[attr-defined]
_RESIDENTS = Resident.__table__  # type: ignore[attr-defined]
_RECORD = InsertRows(
    _UPDATES,
    ("channel", "update_id"),
    shared=("received_at",),
    conflict=("channel", "update_id"),
    returning=("update_id",),
)
_ALL = [column.name for column in _RESIDENTS.columns]
_CREATE = InsertRows(_RESIDENTS, _ALL, returning=("id",))
_READ = SelectRows(_RESIDENTS, ("channel", "chat_id"))
_WRITE = UpdateRows(_RESIDENTS, ("id", "state", "state_data"))
#: NFD, a zero-width joiner emoji, right-to-left marks and Arabic, a zero-width space
STRANGE = unicodedata.normalize("NFD", "Phường Quy Nhơn") + " 👩‍👩‍👧 \u200f\u202eعربي\u200b"


async def _kept(db: Database) -> list[str]:
    async with db.session() as session:
        found = (await session.execute(select(col(InboundUpdate.update_id)))).scalars().all()
    return sorted(found)


async def test_statements_are_in_the_session_transaction(db: Database) -> None:
    """First in its transaction (on PostgreSQL SQLAlchemy's adapter begins it) or after
    SQLAlchemy's own statements: committed and rolled back with the session."""
    with pytest.raises(RuntimeError, match="handler bug"):
        async with db.session() as session:
            assert await db_fast.run(session, _RECORD, [("telegram", "1")], received_at=utcnow())
            raise RuntimeError("handler bug")
    with pytest.raises(RuntimeError, match="handler bug"):
        async with db.session() as session:
            await session.execute(select(col(InboundUpdate.id)))
            await db_fast.run(session, _RECORD, [("telegram", "2")], received_at=utcnow())
            raise RuntimeError("handler bug")
    async with db.session() as session:
        await db_fast.run(session, _RECORD, [("telegram", "3")], received_at=utcnow())
        session.add(InboundUpdate(channel="telegram", update_id="4"))  # and the ORM's
    async with db.session() as session:
        await session.execute(select(col(InboundUpdate.id)))
        await db_fast.run(session, _RECORD, [("telegram", "5")], received_at=utcnow())
    assert await _kept(db) == ["3", "4", "5"]  # the rolled-back ones are gone


async def test_rows_keep_their_order_and_clashes_are_skipped(db: Database) -> None:
    rows = [("telegram", str(n)) for n in (3, 1, 2)]
    async with db.session() as session:
        first = await db_fast.run(session, _RECORD, rows[:2], received_at=utcnow())
        again = await db_fast.run(session, _RECORD, rows, received_at=utcnow())
    assert first == [("3",), ("1",)]
    assert again == [("2",)]
    async with db.session() as session:  # nothing to run: no statement
        assert await db_fast.run(session, _RECORD, [], received_at=utcnow()) == []


async def test_values_are_stored_as_sqlalchemy_stores_them(db: Database) -> None:
    """Rows written through the seam read back the same through SQLAlchemy, and the other
    way: text of any kind, JSON, booleans, NULLs, timezone-aware datetimes."""
    today = day_start()
    later = today + timedelta(days=3, hours=5, microseconds=7)
    written = {
        "id": random_id(),
        "channel": "telegram",
        "chat_id": STRANGE,
        "language": "en",
        "commune_code": None,
        "subscribed": False,
        "onboarded": True,
        "state": STRANGE[:64],
        "state_data": {"k": [STRANGE, 1, None, True], "nul": "a\x00b"},
        "created_at": today,
        "last_seen_at": later,
        "unsubscribed_at": None,
    }
    async with db.session() as session:
        await db_fast.run(session, _CREATE, [[written[name] for name in _ALL]])
        session.add(Resident(channel="zalo_bot", chat_id=STRANGE, state_data={"ồ": True}))
    async with db.session() as session:
        orm = {r.channel: r for r in (await session.execute(select(Resident))).scalars()}
        read = await db_fast.run(session, _READ, [("telegram", STRANGE), ("zalo_bot", STRANGE)])
    assert orm["telegram"].model_dump() == written
    assert {row[1]: dict(zip(_ALL, row, strict=True)) for row in read} == {
        "telegram": written,
        "zalo_bot": orm["zalo_bot"].model_dump(),
    }
    assert read[0][_ALL.index("last_seen_at")].tzinfo is not None


async def test_rows_are_updated_by_their_key(db: Database) -> None:
    async with db.session() as session:
        session.add_all(Resident(id=n, channel="telegram", chat_id=str(n)) for n in (1, 2, 3))
    async with db.session() as session:
        await db_fast.run(session, _WRITE, [(3, "c", {"n": 3}), (1, "a", {"n": 1})])
    async with db.session() as session:
        found = (await session.execute(select(Resident).order_by(col(Resident.id)))).scalars()
        assert [(r.state, r.state_data) for r in found] == [
            ("a", {"n": 1}),
            ("", {}),
            ("c", {"n": 3}),
        ]


async def test_sqlite_refuses_a_connection_in_autocommit_mode(db: Database) -> None:
    """There each statement would commit on its own: a batch could half happen."""
    if not db.is_sqlite:
        pytest.skip("SQLite's connection")
    async with db.session() as session:
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.run(lambda: setattr(driver.sqlite, "isolation_level", None))
        try:
            with pytest.raises(RuntimeError, match="autocommit"):
                await db_fast.run(session, _RECORD, [("telegram", "1")], received_at=utcnow())
        finally:
            await driver.run(lambda: setattr(driver.sqlite, "isolation_level", ""))


async def _pg_or_skip(database_url: str) -> Database:
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("PostgreSQL's connections")
    return db


@pytest.mark.parametrize("first", [True, False], ids=["first-statement", "later-statement"])
async def test_a_connection_whose_server_went_away_is_not_reused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    db = await _pg_or_skip(database_url)
    monkeypatch.setattr("bot.db.PING_AFTER_IDLE", 3600.0)  # never checked on checkout
    try:
        pid = await backend_pid(db)
        with pytest.raises(Exception):  # noqa: B017 - asyncpg's or the adapter's, either way
            async with db.session() as session:
                if not first:  # the transaction is begun, then the server goes away
                    await session.execute(text("SELECT 1"))
                    await terminate(database_url, pid)
                else:
                    await terminate(database_url, pid)
                await db_fast.run(session, _RECORD, [("telegram", "1")], received_at=utcnow())
        assert await backend_pid(db) != pid
    finally:
        await db.dispose()


@pytest.mark.parametrize("first", [True, False], ids=["first-statement", "later-statement"])
async def test_a_refused_value_is_not_named_in_the_error(database_url: str, first: bool) -> None:
    """asyncpg's message names the value ("invalid input …: 'the chat id'"); logs get the
    error, so it must not."""
    db = await _pg_or_skip(database_url)
    now = utcnow()
    wrong: list[tuple[HotStatement, list[tuple[Any, ...]], dict[str, Any]]] = [
        (_RECORD, [("telegram", 8837261)], {"received_at": now}),  # a number for a text
        (_READ, [("telegram", 8837261)], {}),
        (_WRITE, [("chat-8837261", "", {})], {}),  # a text for a number
    ]
    try:
        for statement, rows, shared in wrong:
            with pytest.raises(ValueError) as refused:
                async with db.session() as session:
                    if not first:
                        await session.execute(text("SELECT 1"))
                    await db_fast.run(session, statement, rows, **shared)
            assert "8837261" not in str(refused.value)
            assert refused.value.__cause__ is None and refused.value.__suppress_context__
    finally:
        await db.dispose()


def test_a_parameter_of_no_column_is_refused() -> None:
    """Every parameter of a form is a column's or a shared value's: a form naming another
    fails when it is compiled, not with a wrong value in a row."""

    class Extra(InsertRows):
        def row_form(self) -> ClauseElement:
            return select(bindparam("nobody", type_=String()))

    with pytest.raises(ValueError, match="nobody"):
        Extra(_UPDATES, ("channel",)).form(aiosqlite.dialect())
