"""The residents an update batch comes from: read (and locked) at its start, written back at
its end, outside SQLAlchemy's ORM.

Handlers change `ctx.resident` (state, language, commune…). Through the ORM, loading the
rows and flushing the changes (identity map, unit of work, ORM result rows) was over a quarter of
the CPU a lone update costs: one update at a time through the core and the handlers
(bench/lone.py) took 3.3 ms of CPU on PostgreSQL that way and 2.4 ms this way. Here the rows
are read with one statement, handed out as detached `Resident` objects, and those whose
columns changed are written back with one statement, on the driver's connection
(`bot.db_fast`: one statement for the batch on PostgreSQL, one trip to the connection's
thread on SQLite). Which columns are read, compared and written comes from the model, so a
column added to `Resident` needs nothing here. The objects are never in the session, so
nothing else in the transaction may load a resident through the ORM and change it (nothing
does: handlers change `ctx.resident`, and `bot.actions.mark_blocked` runs in a transaction of
its own).
"""

from __future__ import annotations

import functools
import json
import logging
import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncSession

from bot import db_fast
from bot.db import dialect_of
from bot.db_fast import InsertRows, SelectRows, UpdateRows
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
_TABLE = Resident.__table__  # type: ignore[attr-defined]
#: Every column of a resident, in the table's order (as read).
COLUMNS = tuple(column.name for column in _TABLE.columns)
#: The columns a handler may change (every one but the primary key), in the order `Snapshot`
#: keeps them: a column added to `Resident` is read, compared and written back with no
#: change here.
MUTABLE = tuple(column.name for column in _TABLE.columns if not column.primary_key)
_mutable = operator.attrgetter(*MUTABLE)
#: Which of `MUTABLE` are JSON: kept in a snapshot as their JSON text, so a dict changed in
#: place is seen as changed too.
_JSON_AT = tuple(i for i, name in enumerate(MUTABLE) if isinstance(_TABLE.c[name].type, JSON))
#: A resident's `MUTABLE` columns as loaded (JSON ones as their text).
Snapshot = tuple[Any, ...]

#: Locked on PostgreSQL until the batch's transaction ends: that serialises one chat's
#: updates across processes (its state is read-modify-write).
_LOAD = SelectRows(_TABLE, ("channel", "chat_id"))
_CREATE = InsertRows(_TABLE, COLUMNS, conflict=("channel", "chat_id"), returning=COLUMNS)


def _resident(row: Iterable[Any], sealer: Sealer | None) -> Resident:
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
    found = {(r.channel, r.chat_id): r for r in await _read(session, keys, sealer)}
    missing = [key for key in keys if key not in found]
    if missing:
        new = [
            Resident(
                id=random_id(),
                channel=channel,
                chat_id=chat_id,
                language=language,
                created_at=today,
                last_seen_at=today,
            )
            for channel, chat_id in missing
        ]
        rows = [[getattr(resident, name) for name in COLUMNS] for resident in new]
        created = await db_fast.run(session, _CREATE, rows)
        found.update({(r.channel, r.chat_id): r for r in (_resident(c, sealer) for c in created)})
        if len(found) < len(keys):  # another process created them meanwhile (PostgreSQL)
            found.update({(r.channel, r.chat_id): r for r in await _read(session, keys, sealer)})
    return found


async def _read(session: AsyncSession, keys: list[Key], sealer: Sealer | None) -> list[Resident]:
    return [_resident(row, sealer) for row in await db_fast.run(session, _LOAD, keys)]


def snapshot(resident: Resident) -> Snapshot:
    values = _mutable(resident)
    if not _JSON_AT:
        return values
    listed = list(values)
    for index in _JSON_AT:
        listed[index] = json.dumps(listed[index])
    return tuple(listed)


def restore(resident: Resident, before: Snapshot) -> None:
    """Undo a handler's changes to `resident` (its savepoint undid the rest)."""
    for index, (name, value) in enumerate(zip(MUTABLE, before, strict=True)):
        setattr(resident, name, json.loads(value) if index in _JSON_AT else value)


async def save(
    session: AsyncSession,
    residents: list[tuple[Resident, Snapshot]],
    sealer: Sealer | None = None,
) -> None:
    """Write back the residents whose columns changed since their snapshot, their
    conversation state sealed with `sealer` (when there is one).

    On SQLite only the columns that changed in one of them are written (with the state,
    sealed again): each indexed column in the `SET` list costs SQLite index work even when
    its value is the same, and a lone update mostly changes its state alone. On PostgreSQL
    every column is written: one statement text, which each connection prepares once (a
    round trip), and PostgreSQL compares the values, not the `SET` list, when it decides
    whether an index needs a new entry."""
    changed: list[tuple[Resident, Snapshot]] = []
    everything = dialect_of(session) == "postgresql"
    written = set(range(len(MUTABLE))) if everything else {_STATE, _DATA}
    for resident, before in residents:
        after = snapshot(resident)
        if after != before:
            changed.append((resident, after))
            if not everything:
                pairs = enumerate(zip(before, after, strict=True))
                written.update(i for i, (was, now) in pairs if was != now)
    if not changed:
        return
    picked = tuple(sorted(written))
    rows = []
    for resident, after in changed:
        stored = _stored(resident, after, sealer)
        rows.append([resident.id, *(stored[i] for i in picked)])
    await db_fast.run(session, _update(tuple(MUTABLE[i] for i in picked)), rows)


_STATE, _DATA = MUTABLE.index("state"), MUTABLE.index("state_data")


@functools.lru_cache(maxsize=64)
def _update(names: tuple[str, ...]) -> UpdateRows:
    """The write-back of `names` (a few sets in practice: what handlers change)."""
    return UpdateRows(_TABLE, ("id", *names))


def _stored(resident: Resident, after: Snapshot, sealer: Sealer | None) -> list[Any]:
    """A resident's `MUTABLE` columns as stored: the conversation state and its data sealed
    together when there is a key (`after`: its snapshot, the data as JSON text)."""
    values = list(_mutable(resident))
    state, data = after[_STATE], after[_DATA]
    if sealer is not None and (state or data != "{}"):
        token = sealer.seal_text(f'{{"s": {json.dumps(state)}, "d": {data}}}')
        values[_STATE], values[_DATA] = SEALED, {SEALED: token}
    return values
