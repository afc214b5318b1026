"""Daily figures from the raw events, so that the dashboard never scans `event`.

A day is rebuilt whole (delete, then insert what one pass over its events gives), which makes
rebuilding idempotent: the scheduler refreshes today and yesterday every few minutes, and
`antq stats rebuild` redoes every day there are events for. On PostgreSQL an advisory lock
keeps two instances from rebuilding at once.

Per day, channel and commune (0: none chosen): one row per event kind and reference (what
was read, tapped…), new residents, active residents (distinct residents with an event) and
menu paths (consecutive steps of one resident in one day). Per week and month: distinct
active residents. Tips never make events (`handlers.TIP_PAYLOADS`), so none of this can be
lined up with a tip.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.db import Database, dialect_of
from bot.models import Event, Feedback, Resident, StatDaily, StatPeriod

from .calendar import day_bounds, month_start, next_month, week_start
from .counters import ALL_COMMUNES, MESSAGES_IN, MESSAGES_OUT
from .tip_rollup import ensure_tips, rebuild_tips

__all__ = [
    "ACTIVE",
    "ALL_COMMUNES",
    "LEFT",
    "NAVIGATION",
    "NEW_RESIDENTS",
    "PATH",
    "READS",
    "day_bounds",
    "month_start",
    "next_month",
    "rebuild",
    "rebuild_day",
    "refresh",
    "sum_period",
    "week_start",
]

NEW_RESIDENTS = "new_residents"
#: Feedback sent (from the feedback table: feedback makes no event).
FEEDBACK = "feedback"
#: Residents whose unsubscribing (or blocking the bot) fell on the day and who are still out.
LEFT = "left"
ACTIVE = "active"
#: Content items read, every item together (the commune table's column: "content" is kept
#: per item, a year of which is many rows per commune).
READS = "reads"
PATH = "path"
#: Counted as they happen (`counters`): a rebuild keeps them.
COUNTED = (MESSAGES_IN, MESSAGES_OUT)
#: Figures kept by reference (which item, topic, button…): for all channels together, or
#: a year of them would be as many rows as the events they count.
BY_REF = ("content", "topic", "tap", "campaign_tap", PATH)
#: The kinds of event that are a step through the menus (for the paths).
NAVIGATION = ("tap", "topic", "content", "hotlines", "festival", "campaign_tap")
_LOCK_ID = 0x5A7A11  # pg_advisory_xact_lock key for rollups


def _step(kind: str, ref: str | None) -> str:
    return f"{kind}:{ref}" if ref else kind


async def _lock(session: AsyncSession) -> None:
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})


async def rebuild_day(session: AsyncSession, day: date, zone: ZoneInfo) -> int:
    """Recompute `day`'s rows (all but the counted ones); returns how many rows it wrote."""
    start, end = day_bounds(day, zone)
    counts: Counter[tuple[str, str, str, int]] = Counter()
    active: dict[tuple[str, int], set[int]] = {}
    steps: dict[int, list[str]] = {}
    where = (col(Event.created_at) >= start, col(Event.created_at) < end)
    grouped = await session.execute(
        select(
            col(Event.kind),
            col(Event.ref),
            col(Event.channel),
            col(Event.commune_code),
            func.count(),
        )
        .where(*where)
        .group_by(col(Event.kind), col(Event.ref), col(Event.channel), col(Event.commune_code))
    )
    for kind, ref, channel, commune, n in grouped:
        if kind in BY_REF:
            counts[kind, (ref or "")[:120], "", commune or 0] += n
        else:
            counts[kind, "", channel, commune or 0] += n
        if kind == "content":
            counts[READS, "", "", commune or 0] += n
    # one pass over the day's events with a resident, in order: actives and paths
    rows = await session.execute(
        select(
            col(Event.resident_id),
            col(Event.channel),
            col(Event.commune_code),
            col(Event.kind),
            col(Event.ref),
        )
        .where(*where, col(Event.resident_id).is_not(None))
        .order_by(col(Event.resident_id), col(Event.seq), col(Event.created_at), col(Event.id))
    )
    channels: dict[int, tuple[str, int]] = {}  # resident → (channel, commune)
    for resident_id, channel, commune, kind, ref in rows:
        resident = int(resident_id or 0)
        key = (channel, commune or 0)
        active.setdefault(key, set()).add(resident)
        channels[resident] = key
        if kind in NAVIGATION:
            step = _step(kind, ref)
            trail = steps.setdefault(resident, [])
            if not trail or trail[-1] != step:
                trail.append(step)
    for (channel, commune), residents in active.items():
        counts[ACTIVE, "", channel, commune] = len(residents)
    for resident, trail in steps.items():
        channel, commune = channels[resident]
        for a, b in itertools.pairwise(trail):
            counts[PATH, f"{a} → {b}"[:120], "", commune] += 1
    # feedback makes no event (it would name its sender): counted from the feedback itself
    sent = await session.execute(
        select(col(Feedback.channel), col(Feedback.commune_code), func.count())
        .where(col(Feedback.created_at) >= start, col(Feedback.created_at) < end)
        .group_by(col(Feedback.channel), col(Feedback.commune_code))
    )
    for channel, commune, n in sent:
        counts[FEEDBACK, "", channel, commune or 0] += n
    created = await session.execute(
        select(col(Resident.channel), col(Resident.commune_code), func.count())
        .where(col(Resident.created_at) >= start, col(Resident.created_at) < end)
        .group_by(col(Resident.channel), col(Resident.commune_code))
    )
    for channel, commune, n in created:
        counts[NEW_RESIDENTS, "", channel, commune or 0] += n
    left = await session.execute(
        select(col(Resident.channel), col(Resident.commune_code), func.count())
        .where(
            col(Resident.subscribed).is_(False),
            col(Resident.unsubscribed_at) >= start,
            col(Resident.unsubscribed_at) < end,
        )
        .group_by(col(Resident.channel), col(Resident.commune_code))
    )
    for channel, commune, n in left:
        counts[LEFT, "", channel, commune or 0] += n
    # the province's totals (commune ALL_COMMUNES): what a page without a commune filter reads
    province: Counter[tuple[str, str, str, int]] = Counter()
    for (metric, ref, channel, _commune), n in counts.items():
        province[metric, ref, channel, ALL_COMMUNES] += n
    counts.update(province)
    values = [
        {
            "grain": "d",
            "day": day,
            "metric": metric[:32],
            "ref": ref,
            "channel": channel,
            "commune_code": commune,
            "value": n,
        }
        for (metric, ref, channel, commune), n in counts.items()
    ]
    # reads first, writes last: on SQLite the write lock is held only for these statements
    await session.execute(
        delete(StatDaily).where(
            col(StatDaily.grain) == "d",
            col(StatDaily.day) == day,
            col(StatDaily.metric).not_in(COUNTED),
        )
    )
    for at in range(0, len(values), 2000):
        await session.execute(insert(StatDaily.__table__), values[at : at + 2000])  # type: ignore[attr-defined]
    return len(values)


async def rebuild_period(session: AsyncSession, period: str, start: date, zone: ZoneInfo) -> None:
    """Distinct active residents of the week ("w") or month ("m") starting on `start`."""
    end = start + timedelta(days=7) if period == "w" else next_month(start)
    first, _ = day_bounds(start, zone)
    last, _ = day_bounds(end, zone)
    rows = await session.execute(
        select(
            col(Event.channel),
            col(Event.commune_code),
            func.count(func.distinct(col(Event.resident_id))),
        )
        .where(
            col(Event.created_at) >= first,
            col(Event.created_at) < last,
            col(Event.resident_id).is_not(None),
        )
        .group_by(col(Event.channel), col(Event.commune_code))
    )
    values = [
        {
            "period": period,
            "start": start,
            "channel": channel,
            "commune_code": commune or 0,
            "residents": n,
        }
        for channel, commune, n in rows
    ]
    await session.execute(
        delete(StatPeriod).where(col(StatPeriod.period) == period, col(StatPeriod.start) == start)
    )
    if values:
        await session.execute(insert(StatPeriod.__table__), values)  # type: ignore[attr-defined]


async def sum_period(session: AsyncSession, period: str, start: date) -> None:
    """A week's or month's rows: the sums of its days' rows (counted messages included)."""
    end = start + timedelta(days=7) if period == "w" else next_month(start)
    await session.execute(
        delete(StatDaily).where(col(StatDaily.grain) == period, col(StatDaily.day) == start)
    )
    table = StatDaily.__table__  # type: ignore[attr-defined]
    sums = (
        select(
            literal(period),
            literal(start, type_=table.c.day.type),
            col(StatDaily.metric),
            col(StatDaily.ref),
            col(StatDaily.channel),
            col(StatDaily.commune_code),
            func.sum(col(StatDaily.value)),
        )
        .where(
            col(StatDaily.grain) == "d",
            col(StatDaily.day) >= start,
            col(StatDaily.day) < end,
        )
        .group_by(
            col(StatDaily.metric),
            col(StatDaily.ref),
            col(StatDaily.channel),
            col(StatDaily.commune_code),
        )
    )
    await session.execute(
        insert(table).from_select(
            ["grain", "day", "metric", "ref", "channel", "commune_code", "value"], sums
        )
    )


async def _period(db: Database, period: str, start: date, zone: ZoneInfo) -> None:
    async with db.session() as session:
        await _lock(session)
        await rebuild_period(session, period, start, zone)
        await sum_period(session, period, start)


def _periods(days: Iterable[date]) -> list[tuple[str, date]]:
    found = {("w", week_start(d)) for d in days} | {("m", month_start(d)) for d in days}
    return sorted(found, key=lambda p: (p[1], p[0]))


async def refresh(db: Database, timezone: str, now: datetime | None = None) -> None:
    """Today and yesterday (local), and their weeks and months: what the scheduler runs."""
    zone = ZoneInfo(timezone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    days = [today - timedelta(days=1), today]
    for day in days:  # one transaction each: reads first, then a short write
        async with db.session() as session:
            await _lock(session)
            await rebuild_day(session, day, zone)
    for period, start in _periods(days):
        await _period(db, period, start, zone)
    await ensure_tips(db, zone)


async def rebuild(
    db: Database,
    timezone: str,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> int:
    """The tips' rollup, then every day from the first event or resident to today, with
    `progress(done, total)`.
    Each day is its own transaction; returns the number of days."""
    zone = ZoneInfo(timezone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    async with db.session() as session:
        await rebuild_tips(session, zone)
    async with db.session() as session:
        first_event = (await session.execute(select(func.min(col(Event.created_at))))).scalar()
        first_resident = (
            await session.execute(select(func.min(col(Resident.created_at))))
        ).scalar()
    firsts = [f for f in (first_event, first_resident) if f is not None]
    if not firsts:
        return 0
    first = min(f if f.tzinfo else f.replace(tzinfo=UTC) for f in firsts).astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    periods = _periods(days)
    total = len(days) + len(periods)
    done = 0
    for day in days:
        async with db.session() as session:
            await _lock(session)
            await rebuild_day(session, day, zone)
        done += 1
        if progress is not None:
            progress(done, total)
    for period, start in periods:
        await _period(db, period, start, zone)
        done += 1
        if progress is not None:
            progress(done, total)
    return len(days)
