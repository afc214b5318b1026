"""The campaign delivery engine: runs start when they are due, deliveries are claimed in the
database and sent at the platforms' pace, outcomes are recorded; nobody gets a run twice.

* **Starting a run** (`start_due`): a campaign whose `next_run_at` has come gets one
  `campaign_run` row per occurrence (unique, so whichever process is first makes it) and one
  `campaign_delivery` row per subscribed resident in its audience, in one INSERT … SELECT
  (unique per run and resident).
* **Claiming**: a sender takes a batch of due deliveries of one channel by setting them to
  `sending` and committing *before* it sends (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
  processes never take the same rows; SQLite has one writer at a time). The batch is small
  (what the platform's pacer lets out in a fifth of a second), so a crash leaves few rows
  behind.
* **Sending** goes through the channel under the platform's `Pacer` (the same one the
  outbox's broadcasts use) and the outbox's platform-wide 429 pause. Outcomes are recorded
  in batches: sent; blocked (the resident is marked unsubscribed); out of Zalo's window;
  failed (permanent, with the reason); transient errors and 429s go back to `pending` with
  a later `next_attempt_at` (backoff), up to `MAX_ATTEMPTS`.
* **After a crash**: rows left in `sending` whose lease ran out are `interrupted`, not sent
  again. A message may or may not have left before the process died; sending it again could
  send it twice, and campaigns promise never to. The results page counts them.
* **Quiet hours**: no campaign message leaves in CAMPAIGN_QUIET_HOURS (local time).

APScheduler only wakes the engine (`wake`); the work itself is claimed in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.actions import mark_blocked
from bot.campaigns.schedule import Schedule
from bot.core.channel import Channel
from bot.core.outbox import Outbox
from bot.core.pacing import Pacer
from bot.core.render import render
from bot.core.sending import Outcome, send_messages
from bot.core.tasks import wind_down
from bot.core.types import Button, Reply
from bot.db import Database, dialect_of
from bot.models import Campaign, CampaignRun, Delivery, Resident, day_start, utcnow
from bot.stats.counters import MESSAGES_OUT, MessageCounter
from content.library import load_library

__all__ = [
    "ACTIVE",
    "MAX_ATTEMPTS",
    "CampaignSender",
    "QuietHours",
    "audience_filter",
    "campaign_replies",
    "finish_runs",
    "recover_interrupted",
    "start_due",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: Campaign statuses whose runs may send.
ACTIVE = frozenset({"scheduled", "sending"})
LEASE = timedelta(seconds=60)
#: How long a batch should last at the platform's pace, in seconds: what a crash can leave
#: claimed but unrecorded (and so `interrupted`) is about this much of sending per channel.
BATCH_SECONDS = 0.2
MAX_BATCH = 500
#: Sending loops per channel at or above FAST_RATE messages a second.
WORKERS = 4
FAST_RATE = 500.0
IDLE_WAIT = 2.0
#: Longest platform pause (429) a claimed batch waits out; longer, it is handed back.
MAX_INLINE_PAUSE = 10.0


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which no campaign message is sent, e.g. 21:00-07:00 (may wrap
    midnight); empty text: none."""

    start: time | None
    end: time | None
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str) -> QuietHours:
        zone = ZoneInfo(timezone)
        if not text.strip():
            return cls(None, None, zone)
        try:
            first, last = (time.fromisoformat(p.strip()) for p in text.split("-"))
        except ValueError as exc:
            raise ValueError(f"CAMPAIGN_QUIET_HOURS: {text!r} is not like 21:00-07:00") from exc
        return cls(first, last, zone)

    def quiet_until(self, moment: datetime) -> datetime | None:
        """The end of the quiet period `moment` falls in (UTC), or None if it does not."""
        if self.start is None or self.end is None or self.start == self.end:
            return None
        local = moment.astimezone(self.zone)
        now = local.time()
        if self.start < self.end:
            quiet = self.start <= now < self.end
            end_day = local.date()
        else:  # wraps midnight
            quiet = now >= self.start or now < self.end
            end_day = local.date() + timedelta(days=1 if now >= self.start else 0)
        if not quiet:
            return None
        end = datetime.combine(end_day, self.end, tzinfo=self.zone)
        return end.astimezone(moment.tzinfo)


def _rowcount(result: Any) -> int:
    """Rows an INSERT/UPDATE touched (a `CursorResult`; -1 where the driver cannot say)."""
    return int(getattr(result, "rowcount", -1) or 0)


def audience_filter(audience: Mapping[str, Any], channels: list[str]) -> list[Any]:
    """WHERE conditions on `resident` for a campaign's audience, on the given channels."""
    conditions: list[Any] = [col(Resident.subscribed).is_(True)]
    wanted = [c for c in audience.get("channels") or channels if c in channels]
    conditions.append(col(Resident.channel).in_(wanted))
    if audience.get("communes"):
        conditions.append(col(Resident.commune_code).in_([int(c) for c in audience["communes"]]))
    if audience.get("languages"):
        conditions.append(col(Resident.language).in_(list(audience["languages"])))
    return conditions


async def start_due(
    session: AsyncSession, channels: list[str], now: datetime | None = None
) -> list[int]:
    """Start the runs of campaigns that are due; returns the ids of runs started here."""
    now = now or utcnow()
    due = (
        (
            await session.execute(
                select(Campaign)
                .where(
                    col(Campaign.status).in_(ACTIVE),
                    col(Campaign.next_run_at).is_not(None),
                    col(Campaign.next_run_at) <= now,
                )
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    started = []
    for campaign in due:
        assert campaign.id is not None and campaign.next_run_at is not None
        occurrence = campaign.next_run_at
        exists = await session.execute(
            select(col(CampaignRun.id)).where(
                col(CampaignRun.campaign_id) == campaign.id,
                col(CampaignRun.scheduled_for) == occurrence,
            )
        )
        if exists.first() is None:
            run = CampaignRun(campaign_id=campaign.id, scheduled_for=occurrence, started_at=now)
            session.add(run)
            await session.flush()
            assert run.id is not None
            table = Delivery.__table__  # type: ignore[attr-defined]
            chosen = select(
                literal(run.id),
                col(Resident.id),
                col(Resident.channel),
                col(Resident.chat_id),
                col(Resident.language),
                col(Resident.commune_code),
                literal("pending"),
                literal(0),
                literal(now, type_=table.c.next_attempt_at.type),
                literal(""),
            ).where(*audience_filter(campaign.audience, channels))
            result = await session.execute(
                insert(table).from_select(
                    [
                        "run_id",
                        "resident_id",
                        "channel",
                        "chat_id",
                        "language",
                        "commune_code",
                        "status",
                        "attempts",
                        "next_attempt_at",
                        "error",
                    ],
                    chosen,
                )
            )
            run.total = max(_rowcount(result), 0)
            started.append(run.id)
        following = Schedule.from_json(campaign.schedule).next_after(occurrence)
        campaign.next_run_at = following
        campaign.status = "sending"
        campaign.updated_at = now
    return started


def _done_with(now: datetime) -> dict[str, Any]:
    """What a delivery keeps once final: who it was for (the results, and never twice), not
    their chat id, and its times only to the day (docs/anonymity.md)."""
    return {"chat_id": "", "lease_until": None, "next_attempt_at": day_start(now)}


async def recover_interrupted(session: AsyncSession, now: datetime | None = None) -> int:
    """Deliveries a dead sender had claimed: `interrupted`, never sent again."""
    now = now or utcnow()
    result = await session.execute(
        update(Delivery)
        .where(col(Delivery.status) == "sending", col(Delivery.lease_until) < now)
        .values(
            status="interrupted",
            error="the sender stopped while sending",
            **_done_with(now),
        )
    )
    return max(_rowcount(result), 0)


async def finish_runs(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Runs with nothing left to send are done; a campaign with no run sending and no next
    occurrence is done too. Returns the finished run ids."""
    now = now or utcnow()
    open_work = (
        select(col(Delivery.id))
        .where(
            col(Delivery.run_id) == col(CampaignRun.id),
            col(Delivery.status).in_(("pending", "sending")),
        )
        .exists()
    )
    finished = list(
        (
            await session.execute(
                update(CampaignRun)
                .where(col(CampaignRun.status) == "sending", ~open_work)
                .values(status="done", finished_at=now)
                .returning(col(CampaignRun.campaign_id))
            )
        )
        .scalars()
        .all()
    )
    for campaign_id in set(finished):
        campaign = await session.get(Campaign, campaign_id, with_for_update=True)
        still = await session.execute(
            select(col(CampaignRun.id)).where(
                col(CampaignRun.campaign_id) == campaign_id,
                col(CampaignRun.status).in_(("sending", "paused")),
            )
        )
        if campaign is not None and campaign.status == "sending" and still.first() is None:
            campaign.status = "scheduled" if campaign.next_run_at is not None else "done"
            campaign.updated_at = now
    return finished


def campaign_replies(campaign: Campaign, language: str) -> Reply:
    """The neutral message of `campaign` for a resident reading `language`."""
    text = campaign.text_en if language == "en" and campaign.text_en else campaign.text_vi
    library = load_library()
    rows = []
    for item_id in campaign.items:
        try:
            item = library.item(item_id)
        except KeyError:
            continue
        rows.append([Button(item.title.get(language), f"cmp:{campaign.id}:{item_id}")])
    return Reply(text=text, buttons=rows, photo=campaign.image_url or None)


@dataclass
class _Claimed:
    id: int
    run_id: int
    chat_id: str
    language: str
    attempts: int


@dataclass
class CampaignSender:
    """Sends the deliveries of running campaigns, one loop per channel."""

    db: Database
    channels: Mapping[str, Channel]
    pacers: Mapping[str, Pacer]
    outbox: Outbox
    quiet: QuietHours
    lease: timedelta = LEASE
    counter: MessageCounter | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _wake: dict[str, asyncio.Event] = field(default_factory=dict)
    _messages: dict[tuple[int, str, str], list[Reply]] = field(default_factory=dict)
    _ticking: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: bool = False
    sent_count: int = 0

    async def start(self) -> None:
        for name in self.channels:
            self._wake[name] = asyncio.Event()
            # Unpaced (a platform's paid tier, or a fast fake), several batches are in flight
            # at once so the database round trips overlap the sending; paced, one is enough
            # and keeps what a crash can interrupt to a fifth of a second's worth.
            pacer = self.pacers.get(name)
            workers = WORKERS if pacer is None or pacer.interval <= 1 / FAST_RATE else 1
            for n in range(workers):
                task = asyncio.create_task(self._loop(name), name=f"campaigns-{name}-{n}")
                self._tasks.append(task)

    async def stop(self) -> None:
        self._stopping = True
        for event in self._wake.values():
            event.set()
        # a batch being sent is finished and recorded rather than cut off mid-transaction
        await wind_down([*self._tasks, *self._ticking])
        self._tasks.clear()
        if self.sent_count:
            log.info("campaign sender stopped: %d campaign messages sent", self.sent_count)

    def wake(self) -> None:
        """Something may be due now (a campaign approved for "now", resumed): start runs
        without waiting for the scheduler's next tick, and wake the sending loops."""
        for event in self._wake.values():
            event.set()
        if not self._ticking:
            task = asyncio.get_running_loop().create_task(self._tick_logged())
            self._ticking.add(task)
            task.add_done_callback(self._ticking.discard)

    async def scheduled(self) -> None:
        """What APScheduler calls: the tick runs as this sender's own task, so stopping the
        sender cancels and awaits it (a job cancelled by the loop's end would be logged as a
        crash)."""
        self.wake()

    async def _tick_logged(self) -> None:
        try:
            await self.tick()
        except Exception:  # the next tick tries again
            log.exception("campaign tick failed")

    async def tick(self) -> None:
        """Recover a dead sender's claims, start due runs, close finished ones."""
        async with self.db.session() as session:
            interrupted = await recover_interrupted(session)
            started = await start_due(session, list(self.channels))
        async with self.db.session() as session:
            finished = await finish_runs(session)
        if interrupted:
            log.warning("%d campaign deliveries interrupted by a stopped sender", interrupted)
        if finished:
            log.info("campaign runs finished: %s", finished)
        if started:
            log.info("campaign runs started: %s", started)
            for event in self._wake.values():
                event.set()

    async def _loop(self, channel: str) -> None:
        while not self._stopping:
            try:
                quiet_until = self.quiet.quiet_until(utcnow())
                sent = 0 if quiet_until is not None else await self.send_batch(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign sender for %s failed; retrying", channel)
                sent = 0
            if sent == 0:
                event = self._wake[channel]
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the event is set, and `stop` would wait forever
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_WAIT):
                        await event.wait()
                event.clear()

    def _batch_size(self, channel: str) -> int:
        pacer = self.pacers.get(channel)
        if pacer is None:
            return MAX_BATCH
        return max(1, min(MAX_BATCH, int(BATCH_SECONDS / pacer.interval)))

    async def claim(self, channel: str, limit: int) -> list[_Claimed]:
        """Take up to `limit` due deliveries of `channel` (committed as `sending`)."""
        now = utcnow()
        async with self.db.session() as session:
            runnable = (
                select(col(CampaignRun.id))
                .where(col(CampaignRun.status) == "sending")
                .scalar_subquery()
            )
            ids = (
                select(col(Delivery.id))
                .where(
                    col(Delivery.status) == "pending",
                    col(Delivery.channel) == channel,
                    col(Delivery.next_attempt_at) <= now,
                    col(Delivery.run_id).in_(runnable),
                )
                # no ORDER BY: the claim index gives rows in `next_attempt_at` order and the
                # LIMIT stops the scan; sorting 100,000 pending rows by id on every claim cost
                # a fifth of the engine's time
                .limit(limit)
            )
            if dialect_of(session) == "postgresql":
                ids = ids.with_for_update(skip_locked=True)
            rows = (
                await session.execute(
                    update(Delivery)
                    .where(col(Delivery.id).in_(ids.scalar_subquery()))
                    .values(status="sending", lease_until=now + self.lease)
                    .returning(
                        col(Delivery.id),
                        col(Delivery.run_id),
                        col(Delivery.chat_id),
                        col(Delivery.language),
                        col(Delivery.attempts),
                    )
                )
            ).all()
        return sorted(
            (
                _Claimed(i or 0, run, chat, language, attempts)
                for i, run, chat, language, attempts in rows
            ),
            key=lambda c: c.id,
        )

    async def _message(self, run_id: int, language: str, channel: str) -> list[Reply]:
        key = (run_id, language, channel)
        if key not in self._messages:
            async with self.db.session() as session:
                campaign = (
                    await session.execute(
                        select(Campaign)
                        .join(CampaignRun, col(CampaignRun.campaign_id) == col(Campaign.id))
                        .where(col(CampaignRun.id) == run_id)
                    )
                ).scalar_one()
            reply = campaign_replies(campaign, language)
            caps = self.channels[channel].caps
            if not caps.buttons:  # numbered choices would need per-resident state: left out
                reply.buttons = []
            if len(self._messages) > 1000:
                self._messages.clear()
            self._messages[key] = render(reply, caps)
        return self._messages[key]

    async def send_batch(self, channel: str) -> int:
        """Claim and send one batch; returns how many were claimed."""
        claimed = await self.claim(channel, self._batch_size(channel))
        if not claimed:
            return 0
        # each message once per batch, before the sends (not one lookup per delivery)
        messages = {
            key: await self._message(*key, channel)
            for key in dict.fromkeys((d.run_id, d.language) for d in claimed)
        }
        outcomes = await asyncio.gather(
            *(self._send(channel, d, messages[d.run_id, d.language]) for d in claimed)
        )
        await self._record(channel, claimed, outcomes)
        return len(claimed)

    async def _send(
        self, channel: str, delivery: _Claimed, messages: list[Reply]
    ) -> tuple[str, str]:
        """(status, error) for one delivery: sent, blocked, out_of_window, failed, retry."""
        pacer = self.pacers.get(channel)
        wait = self.outbox.paused_for(channel)
        if wait > MAX_INLINE_PAUSE:  # hand it back rather than hold the claim past its lease
            return "defer", f"{wait:.0f}"
        if wait > 0:
            await asyncio.sleep(wait)
        sent = await send_messages(self.channels[channel], delivery.chat_id, messages, pacer)
        if sent.outcome is Outcome.PAUSE:
            self.outbox.pause(channel, sent.seconds)
            return "defer", f"{sent.seconds:g}"
        return sent.outcome.value, sent.error[:300]

    async def _record(
        self, channel: str, claimed: list[_Claimed], outcomes: list[tuple[str, str]]
    ) -> None:
        now = utcnow()
        by_status: dict[str, list[int]] = {}
        retries: list[tuple[_Claimed, str]] = []
        blocked: list[str] = []
        errors: dict[int, str] = {}
        deferred: list[tuple[int, float]] = []
        for delivery, (status, error) in zip(claimed, outcomes, strict=True):
            if status == "defer":  # the platform asked us to wait: not a failed attempt
                deferred.append((delivery.id, float(error)))
                continue
            if status == "retry":
                retries.append((delivery, error))
                continue
            by_status.setdefault(status, []).append(delivery.id)
            if error:
                errors[delivery.id] = error
            if status == "blocked":
                blocked.append(delivery.chat_id)
        # Only rows still ours (`sending`): were this batch ever slower than its lease, a
        # row recovered as `interrupted` meanwhile keeps that status.
        ours = col(Delivery.status) == "sending"
        async with self.db.session() as session:
            for status, ids in by_status.items():
                values: dict[str, Any] = {"status": status, **_done_with(now)}
                if status == "sent":
                    values["sent_at"] = day_start(now)
                await session.execute(
                    update(Delivery).where(col(Delivery.id).in_(ids), ours).values(**values)
                )
            for delivery_id, seconds in deferred:
                await session.execute(
                    update(Delivery)
                    .where(col(Delivery.id) == delivery_id, ours)
                    .values(
                        status="pending",
                        lease_until=None,
                        next_attempt_at=now + timedelta(seconds=max(seconds, 1.0)),
                    )
                )
            for delivery_id, error in errors.items():
                await session.execute(
                    update(Delivery)
                    .where(col(Delivery.id) == delivery_id, ours)
                    .values(error=error)
                )
            for delivery, error in retries:
                attempts = delivery.attempts + 1
                values = {"status": "pending", "attempts": attempts, "error": error}
                if attempts >= MAX_ATTEMPTS:
                    values.update(status="failed", **_done_with(now))
                else:
                    values.update(
                        lease_until=None,
                        next_attempt_at=now + timedelta(seconds=min(2.0 * 2**attempts, 600)),
                    )
                await session.execute(
                    update(Delivery).where(col(Delivery.id) == delivery.id, ours).values(**values)
                )
            for chat_id in blocked:
                await mark_blocked(session, channel, chat_id)
        self.sent_count += len(by_status.get("sent", []))
        if self.counter is not None:  # campaign messages carry no commune: province-wide
            self.counter.add(MESSAGES_OUT, channel, None, len(by_status.get("sent", [])))
