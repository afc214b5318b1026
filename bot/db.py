"""The async database engine: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Table, event, exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from bot import sqlite_driver

__all__ = [
    "BUSY_TIMEOUT_MS",
    "PENDING_EVENTS",
    "Database",
    "SqliteColumns",
    "dialect_of",
    "driver_connection",
    "normalise_url",
    "sqlite_run",
]

T = TypeVar("T")

#: Key in `session.info` of engagement-event rows waiting to be written at commit.
PENDING_EVENTS = "antq_pending_events"
#: How long an SQLite connection waits for the lock another holds.
BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite://`` URLs and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def dialect_of(session: AsyncSession) -> str:
    """ "postgresql" or "sqlite": the few statements that differ check this."""
    return session.get_bind().dialect.name


@asynccontextmanager
async def driver_connection(session: AsyncSession) -> AsyncIterator[Any]:
    """asyncpg's own connection under `session`'s transaction, for the few statements the
    core runs for every update on PostgreSQL.

    Each costs about 260 µs of CPU more through SQLAlchemy (execution context, result,
    greenlet switches) than through asyncpg itself, and a lone update's transaction had
    five. They run inside the session's transaction and commit or roll back with it: the
    transaction is begun here if SQLAlchemy has not yet (it begins at its first statement),
    and a statement never runs outside one (checked). A connection that died under them is
    invalidated, as SQLAlchemy does for its own statements, so the pool does not hand it
    out again. A value PostgreSQL or asyncpg refuses is named in their message (a chat id,
    say), so that error is replaced by one without it before anyone logs it."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    try:
        adapter: Any = raw.dbapi_connection
        if getattr(adapter, "_transaction", False) is None:  # SQLAlchemy's asyncpg adapter
            await adapter._start_transaction()  # as its first statement would
        if driver is None or not driver.is_in_transaction():
            raise RuntimeError("no transaction on the driver's connection")
        yield driver
    except asyncpg.DataError as error:  # "invalid input …: <the value>"
        raise ValueError(f"PostgreSQL refused a value ({error.__class__.__name__})") from None
    except BaseException:
        if driver is not None and driver.is_closed():
            await connection.invalidate()
        raise


async def sqlite_run(session: AsyncSession, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(connection)` on the session's SQLite connection, in its thread, in one trip: the
    SQLite counterpart of `driver_connection`, for the statements the core runs for every
    update.

    Through SQLAlchemy each statement cost about 270 µs of CPU, a trip to the connection's
    thread (which SQLAlchemy's statements also need) about 110 µs, and sqlite3 itself a few
    µs: a function running a batch's statements in one trip costs about one trip. `work`
    runs inside the session's transaction: sqlite3 begins one before the first write, as it
    does for SQLAlchemy's own statements (checked: not in autocommit mode), and the session
    commits or rolls it back. Values go in and come out as SQLAlchemy stores them
    (`SqliteColumns`), so its own statements read them back the same."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, sqlite_driver.OneTripConnection):
        raise RuntimeError("not a SQLite connection of bot.sqlite_driver")

    def go() -> T:
        if driver.sqlite.isolation_level is None:  # each statement would commit on its own
            raise RuntimeError("the SQLite connection is in autocommit mode")
        return work(driver.sqlite)

    result: T = await driver.run(go)
    return result


class SqliteColumns:
    """Some of a table's columns as SQLAlchemy writes and reads them on SQLite (datetimes as
    text, JSON as text, booleans as 0 and 1), for statements run on sqlite3 (`sqlite_run`)."""

    _dialect = sqlite.dialect()

    def __init__(self, table: Table, names: Sequence[str]) -> None:
        self.names = tuple(names)
        types = [table.c[name].type.dialect_impl(self._dialect) for name in self.names]
        self._binds = [t.bind_processor(self._dialect) for t in types]
        self._results = [t.result_processor(self._dialect, None) for t in types]

    def bind(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """Python values, in `names` order, as sqlite3 parameters."""
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._binds, values, strict=True)
        )

    def read(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row of sqlite3's, in `names` order, as Python values."""
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._results, row, strict=True)
        )


#: Engagement events on PostgreSQL: one statement of one text whatever their number. Ids are
#: random (`bot.actions.record_event`): a clash, once in billions, drops that one event.
_PG_EVENTS = (
    "INSERT INTO event (id, seq, kind, ref, channel, commune_code, resident_id, created_at) "
    "SELECT * FROM unnest($1::bigint[], $2::int[], $3::varchar[], $4::varchar[], "
    "$5::varchar[], $6::int[], $7::bigint[], $8::timestamptz[]) ON CONFLICT (id) DO NOTHING"
)


_EVENT_COLUMNS = (
    "id",
    "seq",
    "kind",
    "ref",
    "channel",
    "commune_code",
    "resident_id",
    "created_at",
)
_SQLITE_EVENTS = (
    f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EVENT_COLUMNS)}) ON CONFLICT (id) DO NOTHING"
)


@functools.cache
def _sqlite_event_columns() -> SqliteColumns:
    from bot.models import Event

    return SqliteColumns(Event.__table__, _EVENT_COLUMNS)  # type: ignore[attr-defined]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # deleted rows (sent messages, their chat ids and tip codes) are overwritten with zeros,
    # not left in free pages for a copy of the file to show (docs/anonymity.md); many builds
    # have it on already, not all
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _sqlite_reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


#: SQLite connections for long reads, beside the one that writes.
READERS = 3
#: A pooled PostgreSQL connection idle longer than this is checked before use.
PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "antq_idle_since"


def _ping_idle_connections(pool: Any, dialect: Dialect) -> None:
    """Check a connection before use only when it has been idle for `PING_AFTER_IDLE`.

    SQLAlchemy's `pool_pre_ping` checks it on every checkout, and asyncpg's check is three
    round trips (BEGIN, an empty query, ROLLBACK): under load that tripled the round trips
    of a short transaction. A connection used a moment ago is alive or its server just
    went away; in that case the statement fails, SQLAlchemy invalidates every connection
    of the pool opened before, and the caller's retry gets a fresh one (the core redoes a
    failed batch update by update; the outbox, sweeper and campaign loops try again)."""

    def idle_from_now(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < PING_AFTER_IDLE:
            return
        try:
            alive = dialect.do_ping(dbapi)
        except Exception as error:
            raise exc.DisconnectionError() from error
        if not alive:
            raise exc.DisconnectionError()

    event.listen(pool, "connect", idle_from_now)  # just opened: alive
    event.listen(pool, "checkin", idle_from_now)
    event.listen(pool, "checkout", checked_out)


class Database:
    """Owns the engine and hands out sessions. One per process."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # Errors and logs never show statement parameters: they hold chat ids and tip texts.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            db_path = parsed.database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            # One connection: SQLite has one writer anyway, and a single connection lets
            # the WAL pragmas and busy timeout apply without surprises.
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = 60
            # one trip to aiosqlite's thread per statement, not four (bot/sqlite_driver.py)
            kwargs["async_creator"] = sqlite_driver.creator(self.url)
        else:
            # Enough for every lane, the outbox and the campaign loops at once: a checkout
            # beyond the pool opens a connection and closes it again on return, and under
            # load with 10 that churn (asyncpg's connect) was 7 % of the process's CPU.
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 10
            # asyncpg prepares every statement, and after five runs PostgreSQL may switch a
            # prepared statement to a generic plan that ignores the parameters' values: for
            # the statistics (a date range, a list of communes) that plan was up to 10x slower
            kwargs["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            _ping_idle_connections(self.engine.sync_engine.pool, self.engine.dialect)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Long reads (statistics, reports) on SQLite get connections of their own: in WAL
        # mode they read a snapshot beside the writer, instead of holding the one connection
        # every resident's update needs; and a report's sections can be read side by side.
        self.read_engine = self.engine
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            self.read_engine = create_async_engine(
                self.url,
                echo=echo,
                hide_parameters=True,
                pool_size=READERS,
                max_overflow=0,
                pool_timeout=60,
                async_creator=sqlite_driver.creator(self.url),
            )
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_reader_pragmas)
        self.readmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session
            events = session.info.pop(PENDING_EVENTS, None)
            if events and self.is_sqlite:
                columns = _sqlite_event_columns()
                params = [columns.bind([e[c] for c in _EVENT_COLUMNS]) for e in events]

                def write(connection: sqlite3.Connection) -> None:
                    connection.executemany(_SQLITE_EVENTS, params)

                await sqlite_run(session, write)
            elif events:
                async with driver_connection(session) as driver:
                    await driver.execute(
                        _PG_EVENTS, *([e[c] for e in events] for c in _EVENT_COLUMNS)
                    )

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only (statistics, exports, reports): on SQLite one of the
        reader connections, which cannot write; elsewhere the same pool as `session`."""
        async with self.readmaker() as session:  # closing it rolls the reads back
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
