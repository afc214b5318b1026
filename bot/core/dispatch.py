"""The conversation core: one inbound update -> one transaction -> replies in the outbox.

The update is recorded (deduplicated by channel + update id) in the same transaction as its
effects and its outbox rows, and the transaction commits before the webhook answers. A crash
before the commit makes the platform redeliver; a redelivery after it is recognised and dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import db_fast
from bot.core import residents as stored
from bot.core.context import Context
from bot.core.outbox import Outbox, Pending, insert_pending
from bot.core.render import choices_of, render, resolve_choice
from bot.core.text import normalise
from bot.core.types import Capabilities, Inbound
from bot.db import Database
from bot.db_fast import InsertRows
from bot.models import InboundUpdate, Resident, day_start
from bot.settings import Settings
from bot.stats.counters import MESSAGES_IN, MESSAGES_OUT, MessageCounter

__all__ = ["Core", "Handler", "Prepare", "apology"]

log = logging.getLogger(__name__)

Handler = Callable[[Context], Awaitable[None]]
#: Work on an update that must happen before its transaction (network I/O, such as fetching
#: a photo: see bot/tips/photo_fetch.py). It returns the update, possibly with more on it.
Prepare = Callable[[Inbound], Awaitable[Inbound]]

#: How long the process that wrote an outbox row has to send it before others may.
SEND_LEASE = timedelta(seconds=30)
MAX_TEXT_CHARS = 4000
#: Most updates handled in one transaction (Telegram sends at most 40 at once by default).
MAX_BATCH = 100
#: Transactions of inbound updates running side by side on PostgreSQL (see `Core`). Each
#: lane's transaction costs its fixed CPU (about 3 ms through SQLAlchemy) for fewer updates
#: the more lanes share them: under bench/load.py 4 lanes took 2.5 ms of CPU an update, 2
#: took 2.2 and 1 took 2.0, with the same throughput from 2; 2 keep a batch going while
#: another waits on a commit or on a chat's row locked by another instance.
POSTGRES_LANES = 2


#: Deduplication records, one per update, in the order given (see `Core._record_once`);
#: returns those that were not there yet.
_RECORD = InsertRows(
    InboundUpdate.__table__,  # type: ignore[attr-defined]
    ("channel", "update_id"),
    shared=("received_at",),
    conflict=("channel", "update_id"),
    returning=("channel", "update_id"),
)


def apology(ctx: Context) -> str:
    """The text shown when handling an update failed."""
    return ctx._(
        "Sorry, something went wrong on our side. Please try again; in an emergency call 113."
    )


def _apologise(ctx: Context) -> None:
    ctx.clear_state()
    ctx.reply(apology(ctx))


class Core:
    """Runs handlers for inbound updates and hands their replies to the outbox."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        handler: Handler,
        outbox: Outbox,
        capabilities: dict[str, Capabilities],
        on_error: Callable[[Context], None] | None = None,
        prepare: Prepare | None = None,
        counter: MessageCounter | None = None,
        sealer: stored.Sealer | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.handler = handler
        self.outbox = outbox
        self.capabilities = capabilities
        #: What the resident is told when a handler fails (it must not fail itself).
        self.on_error = on_error or _apologise
        self.prepare = prepare
        #: Messages in and out per day, channel and commune, for the statistics.
        self.counter = counter
        #: Seals residents' conversation states (the tip-relay keys), if there are keys.
        self.sealer = sealer
        #: Group commit in lanes: a chat's updates always go to the same lane, in order, and
        #: each lane runs one transaction at a time. SQLite has one writer, so one lane;
        #: PostgreSQL runs the lanes' transactions side by side (as it does those of
        #: several instances), so one batch's round trips and commit do not hold up all.
        self._lanes = 1 if db.is_sqlite else POSTGRES_LANES
        self._queues: list[list[tuple[Inbound, asyncio.Future[bool]]]] = [
            [] for _ in range(self._lanes)
        ]
        self._drainers: list[asyncio.Task[None] | None] = [None] * self._lanes

    async def handle(self, inbound: Inbound) -> bool:
        """Handle one update; returns once it is committed (False: it was a duplicate).

        Updates arriving while a transaction is running are handled together in the next one
        (group commit): the cost of a transaction is shared, and each caller still answers its
        webhook only after its own update is durable. `prepare` runs first, outside any
        transaction, so its network I/O never holds up the batch.
        """
        if self.prepare is not None:
            inbound = await self.prepare(inbound)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._enqueue(inbound, future)
        return await future

    def _enqueue(self, inbound: Inbound, future: asyncio.Future[bool]) -> None:
        lane = hash((inbound.channel, inbound.chat_id)) % self._lanes if self._lanes > 1 else 0
        self._queues[lane].append((inbound, future))
        drainer = self._drainers[lane]
        if drainer is None or drainer.done():
            self._drainers[lane] = asyncio.create_task(self._drain(lane), name="core-drain")

    async def _drain(self, lane: int) -> None:
        queue = self._queues[lane]
        while queue:
            batch = queue[:MAX_BATCH]
            del queue[:MAX_BATCH]
            try:
                await self._run_batch(batch)
            except BaseException as exc:
                # Never leave a webhook waiting: whatever is unanswered fails (and is redelivered).
                failure = exc if isinstance(exc, Exception) else RuntimeError("shutting down")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise
                log.exception("handling a batch of %s updates failed", len(batch))

    async def _run_batch(self, batch: list[tuple[Inbound, asyncio.Future[bool]]]) -> None:
        try:
            results, rows = await self._transaction(batch, isolate=False)
        except Exception:
            # Something in the batch failed: redo each update in its own transaction, where
            # a failing handler only costs its own update an apology.
            if len(batch) > 1:
                log.warning("batch of %s updates failed; handling them one by one", len(batch))
            results, rows = await self._one_by_one(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self.outbox.send_soon(rows)

    async def _one_by_one(
        self, batch: list[tuple[Inbound, asyncio.Future[bool]]]
    ) -> tuple[list[bool | BaseException], list[Pending]]:
        results: list[bool | BaseException] = []
        rows: list[Pending] = []
        for entry in batch:
            try:
                [result], new_rows = await self._transaction([entry], isolate=True)
            except Exception as exc:  # the database itself failed: the platform will redeliver
                log.exception("update %s/%s not handled", entry[0].channel, entry[0].update_id)
                results.append(exc)
                continue
            results.append(result)
            rows.extend(new_rows)
        return results, rows

    async def _transaction(
        self, batch: list[tuple[Inbound, asyncio.Future[bool]]], *, isolate: bool
    ) -> tuple[list[bool | BaseException], list[Pending]]:
        """One transaction for `batch`. With `isolate`, a failing handler gets a savepoint
        rollback and an apology; without, any failure aborts the whole transaction."""
        inbounds = [inbound for inbound, _ in batch]
        messages: list[tuple[str, str, dict[str, Any], str]] = []
        tally: list[tuple[str, int | None, int]] = []  # channel, commune, replies
        today = day_start()
        async with self.db.session() as session:
            fresh = await self._record_once(session, inbounds)
            new_ones = [i for i, new in zip(inbounds, fresh, strict=True) if new]
            residents = await stored.load(
                session,
                [(i.channel, i.chat_id) for i in new_ones],
                self.settings.default_language,
                today,
                self.sealer,
            )
            # as loaded: what changed is written back at the end (`stored.save`)
            loaded = [(r, stored.snapshot(r)) for r in residents.values()]
            for resident in residents.values():
                if resident.last_seen_at != today:
                    resident.last_seen_at = today
            for inbound, new in zip(inbounds, fresh, strict=True):
                if not new:
                    log.info("duplicate update %s/%s ignored", inbound.channel, inbound.update_id)
                    continue
                caps = self.capabilities[inbound.channel]
                resident = residents[(inbound.channel, inbound.chat_id)]
                ctx = self._context(session, resident, inbound, caps)
                if isolate:
                    before = stored.snapshot(resident)
                    try:
                        async with session.begin_nested():
                            await self.handler(ctx)
                    except Exception:
                        # A bug must not become silence or an endless redelivery: undo the
                        # handler's writes, keep the update recorded, and say sorry.
                        log.exception(
                            "handler failed on %s update %s", inbound.channel, inbound.update_id
                        )
                        stored.restore(resident, before)
                        ctx = self._context(session, resident, inbound, caps)
                        self.on_error(ctx)
                else:
                    await self.handler(ctx)
                replies = self._outbox_messages(ctx, caps)
                if not ctx.confidential:
                    tally.append((inbound.channel, resident.commune_code, len(replies)))
                messages.extend(replies)
            await stored.save(session, loaded, self.sealer)
            rows = []
            # consecutive runs of one kind, so the chat's order is kept
            for kind, run in itertools.groupby(messages, key=lambda m: m[3]):
                run_messages = [(channel, chat, payload) for channel, chat, payload, _ in run]
                rows += await insert_pending(session, run_messages, SEND_LEASE, kind=kind)
        if self.counter is not None:  # committed: count them
            for channel, commune, replies_n in tally:
                self.counter.add(MESSAGES_IN, channel, commune)
                self.counter.add(MESSAGES_OUT, channel, commune, replies_n)
        return list(fresh), rows

    async def _record_once(self, session: AsyncSession, inbounds: list[Inbound]) -> list[bool]:
        """Record the updates; for each, True if it was not seen before (in or out of batch).
        Recorded to the day: the exact times of a chat's updates would frame a tip's."""
        now = day_start()
        # Sorted: two processes inserting overlapping batches take the index locks in the same
        # order, so they wait for each other instead of deadlocking.
        keys = sorted({(i.channel, i.update_id) for i in inbounds})
        records = await db_fast.run(session, _RECORD, keys, received_at=now)
        inserted = {(channel, update_id) for channel, update_id in records}
        fresh = []
        for inbound in inbounds:
            key = (inbound.channel, inbound.update_id)
            fresh.append(key in inserted)
            inserted.discard(key)  # the same update twice in one batch: only the first
        return fresh

    def _context(
        self, session: AsyncSession, resident: Resident, inbound: Inbound, caps: Capabilities
    ) -> Context:
        text = normalise(inbound.text)[:MAX_TEXT_CHARS]
        payload = inbound.payload
        if not payload and text and inbound.kind == "text":
            payload = resolve_choice(text, resident.state_data.get("_choices", [])) or ""
        return Context(
            inbound=inbound,
            resident=resident,
            session=session,
            settings=self.settings,
            caps=caps,
            payload=payload,
            text=text,
        )

    def _outbox_messages(
        self, ctx: Context, caps: Capabilities
    ) -> list[tuple[str, str, dict[str, Any], str]]:
        """The rendered replies as (channel, chat_id, payload, outbox kind), in order."""
        resident = ctx.resident
        # Remember what the numbers mean, so "2" picks the second choice on any channel.
        data = dict(resident.state_data)
        choices = choices_of(ctx.replies)
        if choices:
            data["_choices"] = choices
        else:
            data.pop("_choices", None)
        resident.state_data = data
        return [
            (
                resident.channel,
                resident.chat_id,
                message.to_json(),
                "private" if message.private else "reply",
            )
            for reply in ctx.replies
            for message in render(reply, caps)
        ]
