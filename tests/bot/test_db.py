"""`Database`: the reading sessions used by the statistics, and the PostgreSQL pool."""

from __future__ import annotations

import asyncio
import sqlite3
import unicodedata
from collections.abc import Callable

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import col

from bot.db import Database, SqliteColumns, driver_connection, sqlite_run
from bot.models import InboundUpdate, Resident, utcnow


async def test_reading_sees_what_was_committed_and_cannot_write(db: Database) -> None:
    async with db.session() as session:
        session.add(Resident(channel="telegram", chat_id="1"))
    async with db.reading() as session:
        count = (await session.execute(select(func.count()).select_from(Resident))).scalar()
        assert count == 1
    if db.is_sqlite:  # its own connections, which refuse to write
        assert db.read_engine is not db.engine
        with pytest.raises(OperationalError, match="readonly"):
            async with db.reading() as session:
                session.add(Resident(channel="telegram", chat_id="2"))
                await session.flush()
    async with db.session() as session:
        ids = (await session.execute(select(col(Resident.chat_id)))).scalars().all()
    assert ids == ["1"]


async def test_a_long_read_does_not_hold_up_writes(db: Database) -> None:
    async with db.reading() as reader:
        await reader.execute(select(func.count()).select_from(Resident))
        # the reading transaction is still open: a write goes through beside it
        async with db.session() as session:
            session.add(Resident(channel="telegram", chat_id="3"))
        # and the reader keeps its snapshot on SQLite (WAL), or sees the commit (PostgreSQL,
        # read committed): either way it is not blocked
        await reader.execute(select(func.count()).select_from(Resident))


async def test_postgres_keeps_its_connections_under_a_burst(database_url: str) -> None:
    """Fifteen sessions at once (the lanes, the outbox, the campaign loops) are served by
    the pool, which keeps them: a second burst opens no connection."""
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("SQLite: one writer connection by design")
    opened: list[object] = []
    event.listen(db.engine.sync_engine.pool, "connect", lambda *_: opened.append(1))
    gate, all_in = asyncio.Event(), asyncio.Event()
    inside = 0

    async def hold() -> None:
        nonlocal inside
        async with db.session() as session:
            await session.execute(select(func.count()).select_from(Resident))
            inside += 1
            if inside == 15:
                all_in.set()
            await gate.wait()

    try:
        for _ in range(2):
            gate.clear()
            all_in.clear()
            inside = 0
            tasks = [asyncio.create_task(hold()) for _ in range(15)]
            await asyncio.wait_for(all_in.wait(), 30)
            gate.set()
            await asyncio.gather(*tasks)
        assert len(opened) == 15
    finally:
        await db.dispose()


async def test_pool_size_is_the_setting(database_url: str) -> None:
    db = Database(database_url, pool_size=7)
    try:
        expected = 1 if db.is_sqlite else 7
        assert db.engine.sync_engine.pool.size() == expected  # type: ignore[attr-defined]
    finally:
        await db.dispose()


async def _backend_pid(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(database_url: str, pid: int) -> None:
    killer = Database(database_url)
    try:
        async with killer.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()


async def test_an_idle_connection_whose_server_went_away_is_replaced_unseen(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("PostgreSQL's pool")
    monkeypatch.setattr("bot.db.PING_AFTER_IDLE", 0.0)  # every checkout counts as idle
    try:
        first = await _backend_pid(db)
        await _terminate(database_url, first)
        assert await _backend_pid(db) != first  # checked, found dead, replaced: no error
    finally:
        await db.dispose()


async def test_a_busy_connection_whose_server_went_away_fails_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Used a moment ago, a connection is not checked: the statement fails, the pool is
    invalidated, and the next session works on a fresh connection."""
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("PostgreSQL's pool")
    monkeypatch.setattr("bot.db.PING_AFTER_IDLE", 3600.0)
    try:
        first = await _backend_pid(db)
        await _terminate(database_url, first)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(db)
        assert failed.value.connection_invalidated
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def _pg_or_skip(database_url: str) -> Database:
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("the driver's connection is used on PostgreSQL only")
    return db


_INSERT = "INSERT INTO inbound_update (channel, update_id, received_at) VALUES ($1, $2, $3)"


async def test_statements_on_the_driver_connection_are_in_the_session_transaction(
    database_url: str,
) -> None:
    db = await _pg_or_skip(database_url)
    try:
        with pytest.raises(RuntimeError, match="handler bug"):
            async with db.session() as session:
                # the first statement of the session: the transaction is begun for it
                async with driver_connection(session) as driver:
                    assert driver.is_in_transaction()
                    await driver.execute(_INSERT, "telegram", "1", utcnow())
                raise RuntimeError("handler bug")
        async with db.session() as session:
            async with driver_connection(session) as driver:
                await driver.execute(_INSERT, "telegram", "2", utcnow())
            session.add(InboundUpdate(channel="telegram", update_id="3"))  # and the ORM's
        async with db.session() as session:
            kept = (await session.execute(select(col(InboundUpdate.update_id)))).scalars().all()
        assert sorted(kept) == ["2", "3"]  # the rolled-back one is gone, both others kept
    finally:
        await db.dispose()


async def test_a_driver_connection_whose_server_went_away_is_not_reused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _pg_or_skip(database_url)
    monkeypatch.setattr("bot.db.PING_AFTER_IDLE", 3600.0)  # never checked on checkout
    try:
        async with db.session() as session, driver_connection(session) as driver:
            first = await driver.fetchval("SELECT pg_backend_pid()")
        await _terminate(database_url, first)
        with pytest.raises(Exception):  # noqa: B017 - asyncpg's or SQLAlchemy's, either way
            async with db.session() as session, driver_connection(session) as driver:
                await driver.execute("SELECT 1")
        async with db.session() as session, driver_connection(session) as driver:
            assert await driver.fetchval("SELECT pg_backend_pid()") != first
    finally:
        await db.dispose()


async def test_a_refused_value_is_not_named_in_the_error(database_url: str) -> None:
    """asyncpg's message names the value ("invalid input …: 'the chat id'"); logs get the
    error, so it must not."""
    db = await _pg_or_skip(database_url)
    try:
        for statement, value in (
            ("SELECT $1::int", "chat-8837261"),
            ("SELECT $1::varchar", 8837261),
        ):
            with pytest.raises(ValueError) as refused:
                async with db.session() as session, driver_connection(session) as driver:
                    await driver.fetch(statement, value)
            assert "8837261" not in str(refused.value)
            assert refused.value.__cause__ is None and refused.value.__suppress_context__
    finally:
        await db.dispose()


async def _sqlite_or_skip(database_url: str) -> Database:
    db = Database(database_url)
    if not db.is_sqlite:
        await db.dispose()
        pytest.skip("sqlite_run is SQLite's")
    return db


_SQLITE_INSERT = "INSERT INTO inbound_update (channel, update_id, received_at) VALUES (?, ?, ?)"
_RECEIVED = SqliteColumns(InboundUpdate.__table__, ("received_at",))  # type: ignore[attr-defined]


async def test_statements_in_sqlite_run_are_in_the_session_transaction(database_url: str) -> None:
    db = await _sqlite_or_skip(database_url)

    def insert(update_id: str) -> Callable[[sqlite3.Connection], None]:
        def work(connection: sqlite3.Connection) -> None:
            connection.execute(_SQLITE_INSERT, ("telegram", update_id, *_RECEIVED.bind([utcnow()])))
            assert connection.in_transaction

        return work

    try:
        with pytest.raises(RuntimeError, match="handler bug"):
            async with db.session() as session:
                await sqlite_run(session, insert("1"))
                raise RuntimeError("handler bug")
        async with db.session() as session:
            await sqlite_run(session, insert("2"))
            session.add(InboundUpdate(channel="telegram", update_id="3"))  # and the ORM's
        async with db.session() as session:
            kept = (await session.execute(select(col(InboundUpdate.update_id)))).scalars().all()
        assert sorted(kept) == ["2", "3"]  # the rolled-back one is gone, both others kept
    finally:
        await db.dispose()


async def test_sqlite_run_refuses_a_connection_in_autocommit_mode(database_url: str) -> None:
    """There each statement would commit on its own: a batch could half happen."""
    db = await _sqlite_or_skip(database_url)

    def autocommit(value: str | None) -> Callable[[sqlite3.Connection], None]:
        return lambda connection: setattr(connection, "isolation_level", value)

    try:
        async with db.session() as session:
            await sqlite_run(session, autocommit(None))
            with pytest.raises(RuntimeError, match="autocommit"):
                await sqlite_run(session, lambda connection: None)
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            await raw.driver_connection.run(lambda: autocommit("")(raw.driver_connection.sqlite))
    finally:
        await db.dispose()


async def test_sqlite_columns_are_stored_as_sqlalchemy_stores_them(database_url: str) -> None:
    """Rows written on sqlite3 read back the same through SQLAlchemy, and the other way."""
    db = await _sqlite_or_skip(database_url)
    names = ("channel", "chat_id", "subscribed", "state_data", "created_at", "last_seen_at")
    columns = SqliteColumns(Resident.__table__, names)  # type: ignore[attr-defined]
    strange = unicodedata.normalize("NFD", "Phường Quy Nhơn") + " 👩‍👩‍👧 \u200f\u202eعربي\u200b"
    now = utcnow()
    values = ("telegram", strange, False, {"k": [strange, 1, None]}, now, now)
    statement = f"INSERT INTO resident ({', '.join(names)}, language, onboarded, state) "
    statement += f"VALUES ({', '.join('?' for _ in names)}, 'vi', 0, '')"
    try:
        async with db.session() as session:
            await sqlite_run(session, lambda c: c.execute(statement, columns.bind(values)) and None)
            session.add(Resident(channel="zalo_bot", chat_id=strange, state_data={"ồ": True}))
        async with db.session() as session:
            rows = {r.channel: r for r in (await session.execute(select(Resident))).scalars()}
            query = f"SELECT {', '.join(names)} FROM resident WHERE channel = 'zalo_bot'"
            raw = await sqlite_run(session, lambda c: c.execute(query).fetchone())
        written = rows["telegram"]
        assert (written.chat_id, written.subscribed, written.state_data) == values[1:4]
        assert written.created_at == now == written.last_seen_at
        read = columns.read(raw)
        orm = rows["zalo_bot"]
        assert read == ("zalo_bot", strange, True, {"ồ": True}, orm.created_at, orm.last_seen_at)
    finally:
        await db.dispose()


async def test_deleted_rows_do_not_stay_in_the_sqlite_file(database_url: str) -> None:
    """A delivered message is deleted; a copy of the file must not show it in free pages."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file")
    from pathlib import Path

    from sqlalchemy import delete

    from bot.models import OutboxMessage

    db = Database(database_url)
    marker = "Mã tin báo: TG-ZZ9QX7, Mã PIN: 918273"
    async with db.session() as session:
        session.add_all(
            OutboxMessage(channel="telegram", chat_id=str(n), payload={"text": f"{marker} {n}"})
            for n in range(50)
        )
    async with db.session() as session:
        await session.execute(delete(OutboxMessage))
    async with db.engine.connect() as connection:
        await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    raw = await asyncio.to_thread(Path(db.engine.url.database or "").read_bytes)
    await db.dispose()
    assert b"918273" not in raw and b"TG-ZZ9QX7" not in raw
