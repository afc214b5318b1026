"""The residents an update batch comes from: read (and locked) at its start, written back at
its end, outside SQLAlchemy's ORM.

Handlers change `ctx.resident` (state, language, commune…). Through the ORM, loading the
rows and flushing the changes (identity map, unit of work, ORM result rows) was over a quarter of
the CPU a lone update costs: one update at a time through the core and the handlers
(bench/lone.py) took 3.3 ms of CPU on PostgreSQL that way and 2.4 ms this way. Here the rows
are read with one statement, handed out as detached `Resident` objects, and those whose
columns changed are written back with one statement: on PostgreSQL on the driver's
connection (`bot.db.driver_connection`), on SQLite in one trip to the connection's thread
(`bot.db.sqlite_run`). The objects are never in the session, so nothing else in the
transaction may load a resident through the ORM and change it (nothing does: handlers change
`ctx.resident`, and `bot.actions.mark_blocked` runs in a transaction of its own).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import SqliteColumns, dialect_of, driver_connection, sqlite_run
from bot.models import Resident

__all__ = ["MUTABLE", "Snapshot", "load", "restore", "save", "snapshot"]

Key = tuple[str, str]
#: The columns a handler may change, in the order `Snapshot` keeps them.
MUTABLE = (
    "language",
    "commune_code",
    "subscribed",
    "onboarded",
    "state",
    "state_data",
    "last_seen_at",
    "unsubscribed_at",
)
COLUMNS = ("id", "channel", "chat_id", "created_at", *MUTABLE)
#: A resident's changeable columns, `state_data` as its JSON text (so a dict changed in place
#: is seen as changed too).
Snapshot = tuple[Any, ...]

_TABLE = Resident.__table__  # type: ignore[attr-defined]
_SELECT_LIST = ", ".join(f"r.{c}" for c in COLUMNS)
_PG_LOAD = (
    f"SELECT {_SELECT_LIST} FROM resident AS r "
    "JOIN unnest($1::varchar[], $2::varchar[]) AS k(channel, chat_id) "
    "ON r.channel = k.channel AND r.chat_id = k.chat_id "
    # Serialises one chat's updates across processes: state is read-modify-write. Rows are
    # locked in id order, so two processes cannot deadlock on them.
    "ORDER BY r.id FOR UPDATE OF r"
)
_PG_CREATE = (
    "INSERT INTO resident (channel, chat_id, language, subscribed, onboarded, state, "
    "state_data, created_at, last_seen_at) "
    "SELECT k.channel, k.chat_id, $3::varchar, true, false, '', CAST('{}' AS json), "
    "$4::timestamptz, $4::timestamptz "
    "FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS k(channel, chat_id, n) "
    "ORDER BY k.n ON CONFLICT (channel, chat_id) DO NOTHING "
    f"RETURNING {', '.join(COLUMNS)}"
)
_PG_SAVE = (
    "UPDATE resident AS r SET language = u.language, commune_code = u.commune_code, "
    "subscribed = u.subscribed, onboarded = u.onboarded, state = u.state, "
    "state_data = CAST(u.state_data AS json), last_seen_at = u.last_seen_at, "
    "unsubscribed_at = u.unsubscribed_at "
    "FROM unnest($1::int[], $2::varchar[], $3::int[], $4::bool[], $5::bool[], $6::varchar[], "
    "$7::text[], $8::timestamptz[], $9::timestamptz[]) "
    "AS u(id, language, commune_code, subscribed, onboarded, state, state_data, last_seen_at, "
    "unsubscribed_at) "
    "WHERE r.id = u.id"
)


_SQLITE_ROW = SqliteColumns(_TABLE, COLUMNS)
_SQLITE_LOAD = f"SELECT {', '.join(COLUMNS)} FROM resident WHERE channel = ? AND chat_id = ?"
_NEW = ("language", "subscribed", "onboarded", "state", "state_data", "created_at", "last_seen_at")
_SQLITE_NEW = SqliteColumns(_TABLE, _NEW)
_SQLITE_CREATE = (
    f"INSERT INTO resident (channel, chat_id, {', '.join(_NEW)}) "
    f"VALUES (?, ?, {', '.join('?' for _ in _NEW)}) RETURNING {', '.join(COLUMNS)}"
)
_SQLITE_SAVE = SqliteColumns(_TABLE, MUTABLE)
_SQLITE_UPDATE = f"UPDATE resident SET {', '.join(f'{c} = ?' for c in MUTABLE)} WHERE id = ?"


def _resident(row: Iterable[Any]) -> Resident:
    # JSON arrives decoded: SQLAlchemy gives asyncpg a codec for it on every connection
    return Resident(**dict(zip(COLUMNS, row, strict=True)))


async def load(
    session: AsyncSession, keys: list[Key], language: str, today: datetime
) -> dict[Key, Resident]:
    """The residents of `keys` (channel, chat id), created if new, locked on PostgreSQL."""
    if not keys:
        return {}
    keys = sorted(set(keys))
    if dialect_of(session) == "postgresql":
        async with driver_connection(session) as driver:
            columns = ([c for c, _ in keys], [c for _, c in keys])
            found = {
                (r.channel, r.chat_id): r
                for r in map(_resident, await driver.fetch(_PG_LOAD, *columns))
            }
            missing = [key for key in keys if key not in found]
            if missing:
                created = await driver.fetch(
                    _PG_CREATE, [c for c, _ in missing], [c for _, c in missing], language, today
                )
                found.update({(r.channel, r.chat_id): r for r in map(_resident, created)})
                if len(found) < len(keys):  # another process created them meanwhile
                    found.update(
                        {
                            (r.channel, r.chat_id): r
                            for r in map(_resident, await driver.fetch(_PG_LOAD, *columns))
                        }
                    )
        return found

    new = _SQLITE_NEW.bind((language, True, False, "", {}, today, today))

    def load_rows(connection: sqlite3.Connection) -> list[Any]:
        rows = []
        for channel, chat_id in keys:
            row = connection.execute(_SQLITE_LOAD, (channel, chat_id)).fetchone()
            if row is None:  # one writer: nobody else creates it meanwhile
                row = connection.execute(_SQLITE_CREATE, (channel, chat_id, *new)).fetchone()
            rows.append(row)
        return rows

    rows = await sqlite_run(session, load_rows)
    return {(r.channel, r.chat_id): r for r in (_resident(_SQLITE_ROW.read(row)) for row in rows)}


def snapshot(resident: Resident) -> Snapshot:
    return tuple(
        json.dumps(resident.state_data) if name == "state_data" else getattr(resident, name)
        for name in MUTABLE
    )


def restore(resident: Resident, before: Snapshot) -> None:
    """Undo a handler's changes to `resident` (its savepoint undid the rest)."""
    for name, value in zip(MUTABLE, before, strict=True):
        setattr(resident, name, json.loads(value) if name == "state_data" else value)


async def save(session: AsyncSession, residents: list[tuple[Resident, Snapshot]]) -> None:
    """Write back the residents whose columns changed since their snapshot."""
    changed = [(r, after) for r, before in residents if (after := snapshot(r)) != before]
    if not changed:
        return
    if dialect_of(session) == "postgresql":
        async with driver_connection(session) as driver:
            columns = zip(*(after for _, after in changed), strict=True)
            await driver.execute(_PG_SAVE, [r.id for r, _ in changed], *map(list, columns))
        return
    params = [
        (*_SQLITE_SAVE.bind([getattr(r, name) for name in MUTABLE]), r.id) for r, _ in changed
    ]

    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(_SQLITE_UPDATE, params)

    await sqlite_run(session, write)
