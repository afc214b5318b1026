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
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import SqliteColumns, dialect_of, driver_connection, sqlite_run
from bot.models import Resident, random_id

__all__ = [
    "MUTABLE",
    "SEALED",
    "Sealer",
    "Snapshot",
    "load",
    "open_state",
    "restore",
    "save",
    "snapshot",
]

log = logging.getLogger(__name__)

#: The `state` column of a resident whose conversation state is sealed; `state_data` is then
#: {SEALED: token}. Sealed whole, its name too: "tip:description" next to a chat id would say
#: who is writing a tip right now, and the commune they typed.
SEALED = "~"


class Sealer(Protocol):
    """Seals text with the tip-relay keys (`bot.tips.relay.RelayCipher`)."""

    def seal_text(self, text: str) -> str: ...

    def open_text(self, token: str) -> str: ...


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
    "INSERT INTO resident (id, channel, chat_id, language, subscribed, onboarded, state, "
    "state_data, created_at, last_seen_at) "
    "SELECT k.id, k.channel, k.chat_id, $3::varchar, true, false, '', CAST('{}' AS json), "
    "$4::timestamptz, $4::timestamptz "
    "FROM unnest($1::varchar[], $2::varchar[], $5::bigint[]) WITH ORDINALITY "
    "AS k(channel, chat_id, id, n) "
    "ORDER BY k.n ON CONFLICT (channel, chat_id) DO NOTHING "
    f"RETURNING {', '.join(COLUMNS)}"
)
_PG_SAVE = (
    "UPDATE resident AS r SET language = u.language, commune_code = u.commune_code, "
    "subscribed = u.subscribed, onboarded = u.onboarded, state = u.state, "
    "state_data = CAST(u.state_data AS json), last_seen_at = u.last_seen_at, "
    "unsubscribed_at = u.unsubscribed_at "
    "FROM unnest($1::bigint[], $2::varchar[], $3::int[], $4::bool[], $5::bool[], $6::varchar[], "
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
    f"INSERT INTO resident (id, channel, chat_id, {', '.join(_NEW)}) "
    f"VALUES (?, ?, ?, {', '.join('?' for _ in _NEW)}) RETURNING {', '.join(COLUMNS)}"
)
_SQLITE_SAVE = SqliteColumns(_TABLE, MUTABLE)
_SQLITE_UPDATE = f"UPDATE resident SET {', '.join(f'{c} = ?' for c in MUTABLE)} WHERE id = ?"


def _resident(row: Iterable[Any], sealer: Sealer | None) -> Resident:
    # JSON arrives decoded: SQLAlchemy gives asyncpg a codec for it on every connection
    resident = Resident(**dict(zip(COLUMNS, row, strict=True)))
    resident.state, resident.state_data = open_state(resident.state, resident.state_data, sealer)
    return resident


def open_state(
    state: str, data: dict[str, Any], sealer: Sealer | None
) -> tuple[str, dict[str, Any]]:
    """A stored conversation state as the handlers see it (opened if sealed)."""
    if state != SEALED:
        return state, data
    try:
        if sealer is None:
            raise ValueError("no key")
        opened = json.loads(sealer.open_text(str(data.get(SEALED, ""))))
        return str(opened["s"]), dict(opened["d"])
    except Exception:  # sealed under a key since removed: the conversation starts over
        log.warning("a resident's sealed conversation state could not be opened; cleared")
        return "", {}


def _stored_state(state: str, data: str, sealer: Sealer | None) -> tuple[str, str]:
    """`state` and `data` (JSON text) as stored: sealed together when there is a key."""
    if sealer is None or (not state and data == "{}"):
        return state, data
    token = sealer.seal_text(f'{{"s": {json.dumps(state)}, "d": {data}}}')
    return SEALED, json.dumps({SEALED: token})


async def load(
    session: AsyncSession,
    keys: list[Key],
    language: str,
    today: datetime,
    sealer: Sealer | None = None,
) -> dict[Key, Resident]:
    """The residents of `keys` (channel, chat id), created if new, locked on PostgreSQL;
    their conversation state opened with `sealer` where it was sealed."""
    if not keys:
        return {}
    keys = sorted(set(keys))
    if dialect_of(session) == "postgresql":
        async with driver_connection(session) as driver:
            columns = ([c for c, _ in keys], [c for _, c in keys])
            found = {
                (r.channel, r.chat_id): r
                for r in map(
                    lambda row: _resident(row, sealer), await driver.fetch(_PG_LOAD, *columns)
                )
            }
            missing = [key for key in keys if key not in found]
            if missing:
                created = await driver.fetch(
                    _PG_CREATE,
                    [c for c, _ in missing],
                    [c for _, c in missing],
                    language,
                    today,
                    [random_id() for _ in missing],
                )
                found.update(
                    {
                        (r.channel, r.chat_id): r
                        for r in map(lambda row: _resident(row, sealer), created)
                    }
                )
                if len(found) < len(keys):  # another process created them meanwhile
                    found.update(
                        {
                            (r.channel, r.chat_id): r
                            for r in map(
                                lambda row: _resident(row, sealer),
                                await driver.fetch(_PG_LOAD, *columns),
                            )
                        }
                    )
        return found

    new = _SQLITE_NEW.bind((language, True, False, "", {}, today, today))

    def load_rows(connection: sqlite3.Connection) -> list[Any]:
        rows = []
        for channel, chat_id in keys:
            row = connection.execute(_SQLITE_LOAD, (channel, chat_id)).fetchone()
            if row is None:  # one writer: nobody else creates it meanwhile
                row = connection.execute(
                    _SQLITE_CREATE, (random_id(), channel, chat_id, *new)
                ).fetchone()
            rows.append(row)
        return rows

    rows = await sqlite_run(session, load_rows)
    return {
        (r.channel, r.chat_id): r
        for r in (_resident(_SQLITE_ROW.read(row), sealer) for row in rows)
    }


def snapshot(resident: Resident) -> Snapshot:
    return tuple(
        json.dumps(resident.state_data) if name == "state_data" else getattr(resident, name)
        for name in MUTABLE
    )


def restore(resident: Resident, before: Snapshot) -> None:
    """Undo a handler's changes to `resident` (its savepoint undid the rest)."""
    for name, value in zip(MUTABLE, before, strict=True):
        setattr(resident, name, json.loads(value) if name == "state_data" else value)


async def save(
    session: AsyncSession,
    residents: list[tuple[Resident, Snapshot]],
    sealer: Sealer | None = None,
) -> None:
    """Write back the residents whose columns changed since their snapshot, their
    conversation state sealed with `sealer` (when there is one)."""
    changed = [(r, after) for r, before in residents if (after := snapshot(r)) != before]
    if not changed:
        return
    rows = [(r, _stored(after, sealer)) for r, after in changed]
    if dialect_of(session) == "postgresql":
        async with driver_connection(session) as driver:
            columns = zip(*(values for _, values in rows), strict=True)
            await driver.execute(_PG_SAVE, [r.id for r, _ in rows], *map(list, columns))
        return
    params = [
        (
            *_SQLITE_SAVE.bind([*values[:_DATA], json.loads(values[_DATA]), *values[_DATA + 1 :]]),
            r.id,
        )
        for r, values in rows
    ]

    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(_SQLITE_UPDATE, params)

    await sqlite_run(session, write)


_STATE, _DATA = MUTABLE.index("state"), MUTABLE.index("state_data")


def _stored(values: Snapshot, sealer: Sealer | None) -> Snapshot:
    """A snapshot's values as stored: the state and its data sealed together."""
    state, data = _stored_state(values[_STATE], values[_DATA], sealer)
    stored = list(values)
    stored[_STATE], stored[_DATA] = state, data
    return tuple(stored)
