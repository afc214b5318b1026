"""The async database engine: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from bot import db_fast, sqlite_driver
from bot.db_fast import InsertRows

__all__ = [
    "BUSY_TIMEOUT_MS",
    "PENDING_EVENTS",
    "Database",
    "dialect_of",
    "normalise_url",
]

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


@functools.cache
def _events() -> InsertRows:
    """Engagement events, all of a transaction's in one statement. Ids are random
    (`bot.actions.record_event`): a clash, once in billions, drops that one event."""
    from bot.models import Event

    table = Event.__table__  # type: ignore[attr-defined]
    return InsertRows(table, [column.name for column in table.columns], conflict=("id",))


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
            if events:
                statement = _events()
                rows = [[event[name] for name in statement.columns] for event in events]
                await db_fast.run(session, statement, rows)

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
