"""`Database`: the reading sessions used by the statistics, and the PostgreSQL pool."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import col

from bot.db import Database
from bot.models import Resident
from tests.postgres import backend_pid, terminate


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


async def test_an_idle_connection_whose_server_went_away_is_replaced_unseen(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(database_url)
    if db.is_sqlite:
        await db.dispose()
        pytest.skip("PostgreSQL's pool")
    monkeypatch.setattr("bot.db.PING_AFTER_IDLE", 0.0)  # every checkout counts as idle
    try:
        first = await backend_pid(db)
        await terminate(database_url, first)
        assert await backend_pid(db) != first  # checked, found dead, replaced: no error
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
        first = await backend_pid(db)
        await terminate(database_url, first)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(db)
        assert failed.value.connection_invalidated
        assert await backend_pid(db) != first
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
