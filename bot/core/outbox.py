"""The durable outbox: every message to a resident is a row before it is a request.

Interactive replies are sent as soon as their transaction commits, in order per chat, by the
process that wrote them (it holds a short lease). A sweeper picks up whatever a crashed or
stopped process left behind once its lease has run out, so nothing written is ever lost.
A 429 pauses the whole platform for the time it asks; a block marks the resident unsubscribed.

A row is deleted as soon as it is final, whatever the outcome (sent, blocked, out of the
platform's window, failed): kept, its chat id and exact time would line up with a tip's, an
answer's or a piece of feedback's, and name the resident (docs/anonymity.md). Failures are
logged without the chat or the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot import db_fast
from bot.core.channel import (
    Channel,
)
from bot.core.pacing import Pacer
from bot.core.sending import Outcome, send_messages
from bot.core.tasks import wind_down
from bot.core.types import Reply
from bot.db import Database, dialect_of
from bot.db_fast import InsertRows
from bot.models import OutboxMessage, utcnow

__all__ = ["OnBlocked", "Outbox", "Pending", "insert_pending"]

log = logging.getLogger(__name__)

#: Called with (session, channel, chat id) of a resident who blocked the bot.
OnBlocked = Callable[[AsyncSession, str, str], Awaitable[None]]

MAX_ATTEMPTS = 8
#: Retries inside one send before the row goes back to the table for the sweeper.
IMMEDIATE_RETRIES = 3
#: Longest 429 pause we accept before handing the row back to the sweeper.
MAX_INLINE_PAUSE = 30.0
SWEEP_BATCH = 200


@dataclass(slots=True)
class Pending:
    """An outbox row on its way out (what sending needs of it, no ORM machinery)."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int = 0
    #: "reply" (sent at once) or "broadcast" (paced under the platform's limits).
    kind: str = "reply"


#: Outbox rows, leased to the process writing them; returns their ids.
_INSERT = InsertRows(
    OutboxMessage.__table__,  # type: ignore[attr-defined]
    ("channel", "chat_id", "payload"),
    shared=("kind", "status", "attempts", "lease_until", "created_at"),
    returning=("id",),
)


async def insert_pending(
    session: AsyncSession,
    messages: list[tuple[str, str, dict[str, Any]]],
    lease: timedelta,
    kind: str = "reply",
) -> list[Pending]:
    """Write (channel, chat_id, payload) rows, leased to this process: one statement on
    PostgreSQL, one trip to the connection's thread on SQLite (`bot.db_fast`)."""
    if not messages:
        return []
    now = utcnow()
    records = await db_fast.run(
        session,
        _INSERT,
        messages,
        kind=kind,
        status="pending",
        attempts=0,
        lease_until=now + lease,
        created_at=now,
    )
    # On PostgreSQL the ids come from the sequence as the rows' order hands them to the
    # INSERT, on SQLite row after row: either way the ids sorted are the rows' order (tested).
    ids = sorted(id for (id,) in records)
    return [
        Pending(id, channel, chat_id, payload, kind=kind)
        for id, (channel, chat_id, payload) in zip(ids, messages, strict=True)
    ]


class Outbox:
    """Sends outbox rows through their channels and records the outcome."""

    def __init__(
        self,
        db: Database,
        channels: dict[str, Channel] | None = None,
        *,
        sweep_interval: float = 5.0,
        lease: timedelta = timedelta(seconds=30),
        pacers: dict[str, Pacer] | None = None,
        on_blocked: OnBlocked | None = None,
    ) -> None:
        self.db = db
        #: What to do when a resident turns out to have blocked the bot (the runtime passes
        #: `bot.actions.mark_blocked`): the core changes no resident itself.
        self.on_blocked = on_blocked
        self.channels: dict[str, Channel] = dict(channels or {})
        #: Broadcast pacing per channel (interactive replies are not paced: they answer
        #: someone who just wrote, and only a 429 slows them down).
        self.pacers: dict[str, Pacer] = dict(pacers or {})
        self.sweep_interval = sweep_interval
        self.lease = lease
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: Rows queued in this process and not finished: their leases are kept alive, so a
        #: long paced broadcast is never taken over (and sent again) by a sweeper.
        self._held: set[int] = set()
        self._paused_until: dict[str, float] = defaultdict(float)
        self._sent_ids: list[int] = []
        self._flush_wanted = asyncio.Event()
        #: One flush at a time: `flush()` must not return while the flusher task is still
        #: writing the rows it took (they would still read as pending).
        self._flushing = asyncio.Lock()
        self._stop_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.sent_count = 0
        self.failed_count = 0

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._stop_wanted.clear()
        self._tasks = [
            asyncio.create_task(self._flusher(), name="outbox-flusher"),
            asyncio.create_task(self._sweeper(), name="outbox-sweeper"),
        ]

    async def stop(self) -> None:
        """Finish what is in flight, record it, and stop."""
        self._stopping = True
        tails = list(self._tails.values())
        if tails:
            await asyncio.gather(*tails, return_exceptions=True)
        self._stop_wanted.set()
        self._flush_wanted.set()
        await wind_down(self._tasks)
        await self._flush()

    # --- sending --------------------------------------------------------------------------
    def send_soon(self, rows: Iterable[Pending]) -> None:
        """Send committed rows now, in order per chat, without blocking the caller."""
        by_chat: dict[tuple[str, str], list[Pending]] = defaultdict(list)
        unrecorded = set(self._sent_ids)
        for row in rows:
            if row.id in self._held:  # already queued here (the sweeper met it again)
                continue
            if row.id in unrecorded:  # sent, not yet recorded (the database was away)
                continue
            self._held.add(row.id)
            by_chat[(row.channel, row.chat_id)].append(row)
        for key, chat_rows in by_chat.items():
            previous = self._tails.get(key)
            task = asyncio.create_task(self._send_chat(key, previous, chat_rows))
            self._tails[key] = task

    async def _send_chat(
        self,
        key: tuple[str, str],
        previous: asyncio.Task[None] | None,
        rows: list[Pending],
    ) -> None:
        if previous is not None and not previous.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        try:
            for row in rows:
                try:
                    go_on = await self._send_one(row)
                except Exception:
                    # A bug or a database hiccup: the row stays pending for the sweeper.
                    log.exception("outbox: sending row %s failed unexpectedly", row.id)
                    go_on = False
                self._held.discard(row.id)
                if not go_on:
                    break
        finally:
            # Rows not sent (the chat stopped early) are let go: the sweeper takes them once
            # their lease runs out.
            self._held.difference_update(row.id for row in rows)
            if self._tails.get(key) is asyncio.current_task():
                del self._tails[key]

    def paused_for(self, channel: str) -> float:
        """Seconds the platform asked us to wait (a 429), counted from now; 0 if none."""
        return max(0.0, self._paused_until[channel] - asyncio.get_running_loop().time())

    def pause(self, channel: str, seconds: float) -> None:
        """Hold every send to `channel` (replies, broadcasts, campaigns) for `seconds`."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until[channel] = max(self._paused_until[channel], until)
        log.warning("%s asked to retry after %ss", channel, seconds)

    async def _send_one(self, row: Pending) -> bool:
        """Send a row; True to go on with the chat's next message."""
        channel = self.channels.get(row.channel)
        if channel is None:
            log.error("no channel %r for outbox row %s", row.channel, row.id)
            return False
        message = Reply.from_json(row.payload)
        loop = asyncio.get_running_loop()
        pacer = self.pacers.get(row.channel) if row.kind == "broadcast" else None
        for attempt in range(IMMEDIATE_RETRIES):
            wait = self._paused_until[row.channel] - loop.time()
            if wait > MAX_INLINE_PAUSE:
                await self._reschedule(row, wait, "paused by 429")
                return False
            if wait > 0:
                await asyncio.sleep(wait)
            sent = await send_messages(channel, row.chat_id, [message], pacer)
            if sent.outcome is Outcome.PAUSE:
                self.pause(row.channel, sent.seconds)
                continue
            if sent.outcome is Outcome.BLOCKED:
                await self._finish(row, sent.outcome, sent.error)
                if row.kind != "private" and self.on_blocked is not None:
                    # Not for a private message (an officer's question to a tipster, a tip's
                    # code): "left on the day an officer asked something" would point at the
                    # tipster. The next ordinary message or campaign finds the block instead.
                    async with self.db.session() as session:
                        await self.on_blocked(session, row.channel, row.chat_id)
                return False
            if sent.outcome is Outcome.OUT_OF_WINDOW:
                await self._finish(row, sent.outcome, sent.error)
                return False
            if sent.outcome is Outcome.FAILED:
                await self._finish(row, sent.outcome, sent.error)
                return True
            if sent.outcome is Outcome.RETRY:
                log.warning(
                    "send to %s failed (attempt %s): %s", row.channel, attempt + 1, sent.error
                )
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            self._sent_ids.append(row.id)
            self.sent_count += 1
            if len(self._sent_ids) >= 100:
                self._flush_wanted.set()
            return True
        await self._reschedule(row, 2.0 * 2 ** min(row.attempts, 6), "retries exhausted")
        return False

    async def _finish(self, row: Pending, status: str, error: str) -> None:
        """A message that will never be sent: logged (never its chat or text) and deleted."""
        self.failed_count += 1
        log.warning(
            "outbox: a %s message to %s was not sent (%s): %s",
            row.kind,
            row.channel,
            status,
            error[:300],
        )
        async with self.db.session() as session:
            await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == row.id))

    async def _reschedule(self, row: Pending, delay: float, reason: str) -> None:
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self._finish(row, "failed", f"{reason} after {attempts} attempts")
            return
        values = {
            "attempts": attempts,
            "error": reason,
            "lease_until": utcnow() + timedelta(seconds=delay),
        }
        async with self.db.session() as session:
            await session.execute(
                update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(**values)
            )

    # --- recording ------------------------------------------------------------------------
    async def _flush(self) -> None:
        async with self._flushing:
            await self._record_sent()

    async def _record_sent(self) -> None:
        ids, self._sent_ids = self._sent_ids, []
        if not ids:
            return
        try:
            async with self.db.session() as session:
                # delivered: nothing of it stays next to the chat id
                await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
        except BaseException:
            # The database is down or full: these were sent all the same. Keep them to record
            # at the next flush, and never send them again meanwhile (`send_soon`).
            self._sent_ids[:0] = ids
            raise

    async def _flusher(self) -> None:
        while not self._stopping:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the event is set, and `stop` would wait forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self._flush_wanted.wait()
            self._flush_wanted.clear()
            try:
                await self._flush()
            except Exception:  # the rows stay pending and are re-sent: log, keep serving
                log.exception("could not record sent outbox rows")

    async def flush(self) -> None:
        """Wait for in-flight sends and record them (tests and shutdown use this)."""
        tails = list(self._tails.values())
        if tails:
            await asyncio.gather(*tails, return_exceptions=True)
        await self._flush()

    # --- recovery -------------------------------------------------------------------------
    async def claim_expired(self, limit: int = SWEEP_BATCH) -> list[Pending]:
        """Take pending rows whose lease ran out (their writer died or gave them back)."""
        now = utcnow()
        async with self.db.session() as session:
            pick = (
                select(col(OutboxMessage.id))
                .where(
                    col(OutboxMessage.status) == "pending",
                    or_(
                        col(OutboxMessage.lease_until).is_(None),
                        col(OutboxMessage.lease_until) < now,
                    ),
                )
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
            if dialect_of(session) == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            stmt = (
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(pick.scalar_subquery()))
                .values(lease_until=now + self.lease)
                .returning(OutboxMessage)
            )
            claimed = (await session.execute(stmt)).scalars().all()
        rows = [
            Pending(r.id or 0, r.channel, r.chat_id, r.payload, r.attempts, r.kind) for r in claimed
        ]
        rows.sort(key=lambda r: r.id)
        return rows

    async def renew_leases(self) -> None:
        """Extend the leases of the rows this process still holds."""
        held = sorted(self._held)
        until = utcnow() + self.lease
        for start in range(0, len(held), 500):
            chunk = held[start : start + 500]
            async with self.db.session() as session:
                await session.execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(chunk), col(OutboxMessage.status) == "pending")
                    .values(lease_until=until)
                )

    async def sweep_once(self) -> int:
        await self.renew_leases()
        rows = await self.claim_expired()
        if rows:
            log.info("outbox: resending %s message(s) left pending", len(rows))
            self.send_soon(rows)
        return len(rows)

    async def _sweeper(self) -> None:
        while not self._stopping:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("outbox sweep failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.sweep_interval):
                    await self._stop_wanted.wait()
