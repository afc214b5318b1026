"""The SQLite driver under `Database`: one trip to aiosqlite's thread per statement, and the
same results, counts, ids and errors as aiosqlite's own cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot import sqlite_driver
from bot.db import Database


@pytest.fixture
async def plain(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with db.session() as session:
        await session.execute(
            text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
        )
    yield db
    await db.dispose()


async def test_one_trip_per_statement(plain: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = 0
    real = sqlite_driver.OneTripConnection.run

    async def counted(self: sqlite_driver.OneTripConnection, work: object) -> object:
        nonlocal trips
        trips += 1
        return await real(self, work)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_driver.OneTripConnection, "run", counted)
    async with plain.session() as session:
        for n in range(10):
            rows = (await session.execute(text("SELECT :n, 'chữ'"), {"n": n})).all()
            assert rows == [(n, "chữ")]
    assert trips == 10


async def test_results_counts_ids_and_errors(plain: Database) -> None:
    async with plain.session() as session:
        # executemany, then INSERT ... RETURNING over several rows
        await session.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"a{n}"} for n in range(5)]
        )
        ids = (
            (await session.execute(text("INSERT INTO t (v) VALUES ('b1'), ('b2') RETURNING id")))
            .scalars()
            .all()
        )
        assert sorted(ids) == [6, 7]
        updated = await session.execute(text("UPDATE t SET v = v || '!' WHERE id <= 3"))
        assert updated.rowcount == 3  # type: ignore[attr-defined]
        nothing = await session.execute(text("SELECT v FROM t WHERE id > 100"))
        assert nothing.first() is None
    async with plain.session() as session:
        streamed = [
            row.v async for row in await session.stream(text("SELECT v FROM t ORDER BY id"))
        ]
        assert streamed == ["a0!", "a1!", "a2!", "a3", "a4", "b1", "b2"]
    with pytest.raises(IntegrityError):  # a constraint still fails as SQLAlchemy's error...
        async with plain.session() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('b1')"))
    async with plain.session() as session:  # ...and the connection goes on working
        count = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert count == 7


async def test_no_trip_to_commit_or_reset_what_holds_no_transaction(
    plain: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session that only read commits without a trip, and the pool's rollback of every
    connection it gets back costs none after a commit; a write still commits, and a
    failed write is still rolled back."""
    trips: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", "statement"))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with plain.session() as session:
        await session.execute(text("SELECT count(*) FROM t"))
    assert trips == ["statement"]
    trips.clear()
    async with plain.session() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('kept')"))
    assert trips == ["statement", "commit"]
    trips.clear()
    with pytest.raises(RuntimeError):
        async with plain.session() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('undone')"))
            raise RuntimeError("the handler failed")
    assert trips == ["statement", "rollback"]
    async with plain.session() as session:
        values = (await session.execute(text("SELECT v FROM t"))).scalars().all()
    assert values == ["kept"]
