"""A linking attacker holding a copy of the database and the logs, but not the relay keys.

It knows nothing of our schema: it lists the tables and columns the database has, reads every
row, and treats a row as naming a resident when any value in it is that resident's chat id
(as text anywhere: a column, a JSON payload, a key) or a foreign key to that resident's row.
Every value that reads as a time (a timestamp column, an ISO time inside text or JSON, epoch
seconds or milliseconds) is a clock reading. Then, for each secret (a tip, an answer to an
officer, a piece of feedback, whose time the attacker knows from the secret's own row):

- **content**: a row or log line that names a resident and holds the secret's text;
- **time**: the resident named next to the time closest to the secret's (any time finer than
  the local day counts: the rule is that none is kept once a row has done its job);
- **interpolation**: a row naming a resident without a time of its own, placed in time by the
  rows around it in its table's id order that have one (the gap deleted rows leave between a
  chat's surviving rows);
- **order**: the order of the ids of a table's rows naming residents, against the order in
  which those residents acted (the attacker's guess "the resident whose rows sit where the
  tip sits in the sequence"); a table whose order is the order of events leaks it.

The findings name the table, the resident and the secret, so a failure says what leaked.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.db import Database
from bot.models import day_start

__all__ = ["Finding", "Secret", "Snapshot", "attack", "snapshot"]

Key = tuple[str, str]  # channel, chat id
_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?([+-]\d{2}:?\d{2}|Z)?"
)
_DIGITS = re.compile(r"(?<!\d)(\d{10}|\d{13})(?!\d)")


@dataclass(frozen=True)
class Secret:
    """Something a resident confided: what it says and when (the attacker sees both)."""

    kind: str  # tip | answer | feedback | question | draft | unanswered
    sender: Key
    at: datetime
    texts: tuple[str, ...]


@dataclass
class Record:
    """A row of a table (or a log line), as the attacker reads it."""

    source: str
    order: int | None  # the row's integer id, if its table has one
    text: str
    times: list[datetime]
    names: set[Key] = field(default_factory=set)
    #: Column → value as text (rows only).
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Snapshot:
    records: list[Record]
    tables: list[str]


@dataclass(frozen=True)
class Finding:
    attack: str
    source: str
    resident: Key
    secret: str
    detail: str = ""

    #: Whether the resident named is the secret's sender (an attacker would not know).
    right: bool = False

    def __str__(self) -> str:
        verdict = "the sender" if self.right else "a wrong guess, still a lead"
        if self.attack == "order":
            verdict = "the last to act"
        return (
            f"{self.attack}: {self.source} names {self.resident} ({verdict}) for "
            f"{self.secret} {self.detail}"
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return ""  # sealed or binary (photos): nothing readable without the keys
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _times(value: Any, window: tuple[datetime, datetime]) -> list[datetime]:
    if isinstance(value, datetime):
        return [value if value.tzinfo else value.replace(tzinfo=UTC)]
    found = []
    raw = _as_text(value)
    for match in _ISO.finditer(raw):
        stamp = match.group(0).replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            continue
        found.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    lo, hi = window
    for match in _DIGITS.finditer(raw):
        number = int(match.group(1))
        seconds = number / 1000 if len(match.group(1)) == 13 else number
        moment = datetime.fromtimestamp(seconds, UTC)
        if lo <= moment <= hi:
            found.append(moment)
    return found


def fine(moment: datetime) -> bool:
    """A time finer than the local day: it can line up with a secret's."""
    return moment != day_start(moment)


async def snapshot(
    db: Database,
    chats: Iterable[Key],
    logs: Sequence[tuple[datetime, str]],
    window: tuple[datetime, datetime],
) -> Snapshot:
    """Every row of every table the database has, and every log line, as records naming the
    residents of `chats` they mention."""
    patterns = {
        key: re.compile(rf"(?<![0-9A-Za-z]){re.escape(key[1])}(?![0-9A-Za-z])") for key in chats
    }

    def read(
        connection: Connection,
    ) -> tuple[list[str], list[tuple[str, list[str], dict[str, str], list[dict[str, Any]]]]]:
        inspector = inspect(connection)
        tables = sorted(inspector.get_table_names())
        out = []
        for name in tables:
            pk = inspector.get_pk_constraint(name).get("constrained_columns") or []
            references = {
                fk["constrained_columns"][0]: fk["referred_table"]
                for fk in inspector.get_foreign_keys(name)
                if len(fk["constrained_columns"]) == 1
            }
            rows = [dict(r) for r in connection.execute(text(f'SELECT * FROM "{name}"')).mappings()]
            out.append((name, pk, references, rows))
        return tables, out

    async with db.engine.connect() as connection:
        tables, contents = await connection.run_sync(read)

    records: list[Record] = []
    by_id: dict[tuple[str, str], Key] = {}  # (table, id) → resident, for foreign keys
    for name, pk, _references, rows in contents:
        for row in rows:
            whole = " ".join(_as_text(v) for v in row.values())
            for key, pattern in patterns.items():
                if pattern.search(whole) and len(pk) == 1:
                    by_id[name, str(row[pk[0]])] = key
    for name, pk, references, rows in contents:
        for row in rows:
            whole = " | ".join(f"{k}={_as_text(v)}" for k, v in row.items())
            order = row[pk[0]] if len(pk) == 1 and isinstance(row[pk[0]], int) else None
            times = [t for value in row.values() for t in _times(value, window)]
            record = Record(
                name, order, whole, times, values={k: _as_text(v) for k, v in row.items()}
            )
            record.names = {key for key, pattern in patterns.items() if pattern.search(whole)}
            for column, table in references.items():
                owner = by_id.get((table, str(row[column])))
                if owner is not None:
                    record.names.add(owner)
            records.append(record)
    for moment, line in logs:
        record = Record("log", None, line, [moment, *_times(line, window)])
        record.names = {key for key, pattern in patterns.items() if pattern.search(line)}
        records.append(record)
    return Snapshot(records, tables)


def attack(
    snap: Snapshot,
    secrets: Sequence[Secret],
    acted: dict[Key, datetime] | None = None,
    window: timedelta = timedelta(hours=1),
) -> list[Finding]:
    """Every link the attacks find. `acted`: when each resident first acted, for the order
    attack (a quiet run, where residents act one after another)."""
    findings: list[Finding] = []
    naming = [r for r in snap.records if r.names]
    for secret in secrets:
        label = f"{secret.kind} of {secret.sender}"
        # content: a row naming a resident holds what was confided
        for record in naming:
            for piece in secret.texts:
                if piece and piece in record.text:
                    for key in record.names:
                        findings.append(
                            Finding(
                                "content",
                                record.source,
                                key,
                                label,
                                repr(piece),
                                key == secret.sender,
                            )
                        )
        # time: the resident named next to the closest clock reading
        closest: dict[Key, tuple[timedelta, str]] = {}
        for record in naming:
            for moment in record.times:
                if not fine(moment):
                    continue
                gap = abs(moment - secret.at)
                if gap > window:
                    continue
                for key in record.names:
                    if key not in closest or gap < closest[key][0]:
                        closest[key] = (gap, record.source)
        if closest:
            best = min(closest, key=lambda k: closest[k][0])
            gap, source = closest[best]
            findings.append(
                Finding(
                    "time",
                    source,
                    best,
                    label,
                    f"({gap.total_seconds():.3f} s away)",
                    best == secret.sender,
                )
            )
        # interpolation: rows without a time placed by their neighbours in id order
        bracket: dict[Key, tuple[timedelta, str]] = {}
        for table in snap.tables:
            rows = sorted(
                (r for r in snap.records if r.source == table and r.order is not None),
                key=lambda r: r.order or 0,
            )
            anchors = [
                (i, min(t for t in r.times if fine(t)))
                for i, r in enumerate(rows)
                if any(fine(t) for t in r.times)
            ]
            if not anchors:
                continue
            for i, record in enumerate(rows):
                if not record.names or any(fine(t) for t in record.times):
                    continue
                before = [t for j, t in anchors if j < i]
                after = [t for j, t in anchors if j > i]
                if not before or not after:
                    continue
                lo, hi = sorted((before[-1], after[0]))
                if lo - timedelta(seconds=1) <= secret.at <= hi + timedelta(seconds=1):
                    for key in record.names:
                        width = hi - lo
                        if key not in bracket or width < bracket[key][0]:
                            bracket[key] = (width, table)
        if bracket:
            best = min(bracket, key=lambda k: bracket[k][0])
            width, table = bracket[best]
            findings.append(
                Finding(
                    "interpolation", table, best, label, f"(bracket {width.total_seconds():.3f} s)"
                )
            )
    findings += _markers(snap, secrets, set(acted or ()) | {k for r in naming for k in r.names})
    if acted:
        findings += _order(snap, acted)
    return findings


def _markers(snap: Snapshot, secrets: Sequence[Secret], residents: set[Key]) -> list[Finding]:
    """A value of a column of kinds (a kind, a state, a flag) found in rows naming exactly
    the senders of one kind of secret and nobody else: "the resident with an event
    'feedback' today", "the one whose state reads tip:…"."""
    findings = []
    holders: dict[tuple[str, str, str], set[Key]] = {}
    for record in snap.records:
        if not record.names:
            continue
        for column, value in record.values.items():
            if value:
                holders.setdefault((record.source, column, value), set()).update(record.names)
    # a column of kinds, not of identities: some value of it is shared by residents
    shared = {(table, column) for (table, column, _), named in holders.items() if len(named) > 1}
    holders = {key: named for key, named in holders.items() if key[:2] in shared}
    for kind in sorted({s.kind for s in secrets}):
        senders = {s.sender for s in secrets if s.kind == kind}
        if senders == residents:
            continue  # everyone did it: nothing to tell apart
        for (table, column, value), named in holders.items():
            if named == senders:
                for key in sorted(senders):
                    findings.append(
                        Finding(
                            "marker", table, key, f"every {kind}", f"({column} = {value!r})", True
                        )
                    )
    return findings


def _order(snap: Snapshot, acted: dict[Key, datetime]) -> list[Finding]:
    """A table whose ids put the residents in the order they acted (eight or more of them:
    a random order does that once in 40,320)."""
    findings = []
    truth = sorted(acted, key=lambda k: acted[k])
    for table in snap.tables:
        first: dict[Key, int] = {}
        for record in snap.records:
            if record.source != table or record.order is None:
                continue
            for key in record.names & set(acted):
                first[key] = min(first.get(key, record.order), record.order)
        if len(first) < 8:
            continue
        by_id = sorted(first, key=lambda k: first[k])
        expected = [k for k in truth if k in first]
        if by_id == expected:
            findings.append(
                Finding(
                    "order",
                    table,
                    by_id[-1],
                    "every secret",
                    "(ids follow the order residents acted in)",
                )
            )
    return findings


ALWAYS = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


async def _main(url: str, log_path: str | None) -> int:
    """Attack a copy: every lead (content, time, interpolation) against every tip, answer and
    feedback the copy holds. The copy does not say who sent them, so no lead is scored."""
    db = Database(url)
    nobody = ("?", "?")
    secrets: list[Secret] = []
    async with db.engine.connect() as connection:
        rows = await connection.execute(text("SELECT channel, chat_id FROM resident"))
        residents = [(str(channel), str(chat)) for channel, chat in rows]
        tips = await connection.execute(
            text("SELECT code, description, place_detail, created_at FROM tip")
        )
        for code, description, place, at in tips:
            secrets.append(Secret("tip", nobody, _times(at, ALWAYS)[0], (code, description, place)))
        for kind, query in (
            ("answer", "SELECT text, created_at FROM tip_message WHERE kind = 'tipster'"),
            ("feedback", "SELECT text, created_at FROM feedback"),
        ):
            for words, at in await connection.execute(text(query)):
                secrets.append(Secret(kind, nobody, _times(at, ALWAYS)[0], (words,)))
        # unanswered questions keep only their (local) day: placed at its start
        questions = await connection.execute(text("SELECT text, day FROM unanswered_question"))
        for words, day in questions:
            at = datetime.fromisoformat(str(day)).replace(tzinfo=UTC)
            secrets.append(Secret("unanswered", nobody, at, (words,)))
    logs: list[tuple[datetime, str]] = []
    if log_path:
        raw = await asyncio.to_thread(Path(log_path).read_text, "utf-8", "replace")
        for line in raw.splitlines():
            found = _times(line, ALWAYS)
            if found:
                logs.append((found[0], line))
    start = min((s.at for s in secrets), default=datetime.now(UTC)) - timedelta(days=2)
    snap = await snapshot(db, residents, logs, (start, datetime.now(UTC) + timedelta(days=2)))
    await db.dispose()
    findings = attack(snap, secrets)
    named = sum(1 for r in snap.records if r.names)
    counts = ", ".join(
        f"{k}: {sum(s.kind == k for s in secrets)}"
        for k in ("tip", "answer", "feedback", "unanswered")
    )
    print(
        f"{len(snap.tables)} tables, {len(snap.records)} rows and log lines, {named} naming one "
        f"of {len(residents)} residents; secrets: {counts}"
    )
    for finding in findings:
        print(f"LEAD {finding.attack}: {finding.source} names {finding.resident}", end=" ")
        print(f"for {finding.secret} {finding.detail}")
    print("no lead" if not findings else f"{len(findings)} leads")
    return 1 if findings else 0


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m tests.attack DATABASE_URL [LOG_FILE]")
    sys.exit(asyncio.run(_main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)))
