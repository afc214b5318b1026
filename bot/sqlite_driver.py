"""aiosqlite, with one trip to its thread per statement instead of four.

SQLAlchemy's asyncio adapter asks aiosqlite for a cursor, runs the statement, fetches the rows
and closes the cursor: four awaits, and each is a trip to aiosqlite's thread and back through
the event loop (a queue, a thread wake-up, a wake-up of the loop). Measured here, a one-row
SELECT through an AsyncSession cost 415-600 µs of CPU, against 50-70 µs for the same
SELECT through a synchronous Session: the trips were nine tenths of every statement, and an
update's transaction has several statements.

`OneTripConnection` is an aiosqlite connection whose cursors do all four in one trip: the
statement runs, its rows are read and the cursor is closed in aiosqlite's thread; the
adapter's fetches then read those rows without leaving the loop. SQLite reads a result from
a local file in microseconds, so nothing is gained by streaming it, and SQLAlchemy's adapter
buffers every result anyway. `Database` uses it for both its engines (`creator`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.engine.url import make_url

__all__ = ["OneTripConnection", "creator"]

#: description, rows, rowcount, lastrowid
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """In aiosqlite's thread: the statement, its rows, and the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description is not None else []
        # read after the rows: with RETURNING, sqlite3 counts rows as they are fetched
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses, with the rows read at execute."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []
        self._next = 0

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _go(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        outcome: _Outcome = await self._connection.run(
            partial(_run, self._connection.sqlite, sql, parameters, many)
        )
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        self._next = 0
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        return await self._go(sql, parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        return await self._go(sql, parameters, True)

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        size = self.arraysize if size is None else size
        rows = self._rows[self._next : self._next + size]
        self._next += len(rows)
        return rows

    async def fetchall(self) -> Sequence[Any]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    async def close(self) -> None:
        self._rows, self._next = [], 0

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip to its thread per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection (only to be used in this connection's thread)."""
        return self._conn

    async def commit(self) -> None:
        # Nothing written since the last commit (a session that only read): no trip.
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        # Nothing to undo (the pool resets every connection it gets back, most of them
        # just committed): no trip.
        if self._conn.in_transaction:
            await super().rollback()

    async def run(self, work: Callable[[], Any]) -> Any:
        """`work()` in this connection's thread, in turn with everything else asked of it."""
        return await self._execute(work)


def creator(url: str) -> Callable[[], Any]:
    """`async_creator` for `create_async_engine`: a `OneTripConnection` with the arguments
    SQLAlchemy's aiosqlite dialect would have passed to `aiosqlite.connect` for `url`."""
    args, kwargs = aiosqlite_dialect().create_connect_args(make_url(url))

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(partial(sqlite3.connect, *args, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy does: never hold up the exit
        await connection  # starts the thread and connects
        return connection

    return connect
