"""What the dashboard shows, read from the rolled-up tables (engagement) and from `tip` and
`campaign_delivery` with one grouped query each. HTTP-free: `admin.stats` renders these.

Every function takes a `Filters` (local dates, inclusive; communes; channel) already narrowed
to what the viewer may see (`Filters.within`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.platform import Platform
from bot.models import (
    Campaign,
    CampaignRun,
    Delivery,
    Resident,
    StatDaily,
    StatPeriod,
    StatTip,
    Tip,
)
from bot.tips.states import CLOSED

from .counters import ALL_COMMUNES, MESSAGES_IN, MESSAGES_OUT
from .rollup import (
    ACTIVE,
    BY_REF,
    LEFT,
    NEW_RESIDENTS,
    READS,
    day_bounds,
    month_start,
    next_month,
    week_start,
)
from .tip_rollup import FIGURES, grouped_tips

__all__ = [
    "CHANNELS",
    "NO_COMMUNE",
    "CampaignReach",
    "CommuneRow",
    "Engagement",
    "Filters",
    "Series",
    "TipFigures",
    "campaign_reach",
    "commune_table",
    "engagement",
    "popular",
    "tip_figures",
]

#: The dashboard's channels: the names residents and figures are stored under.
CHANNELS = tuple(Platform)
#: A commune code no row has (not ALL_COMMUNES, which names the province's totals).
NO_COMMUNE = -2
#: Most days one chart shows; longer ranges are drawn by week, then by month.
MAX_DAILY_POINTS = 92
MAX_WEEKLY_POINTS = 106


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    communes: tuple[int, ...] = ()  # empty: every commune the viewer may see
    channel: str = ""  # empty: all
    timezone: str = "Asia/Ho_Chi_Minh"
    granularity: str = ""  # "d", "w" or "m" to choose; empty: by the range's length

    @classmethod
    def default(cls, today: date, timezone: str) -> Filters:
        return cls(start=today - timedelta(days=29), end=today, timezone=timezone)

    def within(self, allowed: frozenset[int] | None) -> Filters:
        """Narrowed to the communes a viewer may see (None: all). A viewer limited to some
        communes who picked none sees all of theirs."""
        if allowed is None:
            return self
        # a viewer allowed none sees nothing, not everything
        chosen = (
            tuple(c for c in self.communes if c in allowed)
            or tuple(sorted(allowed))
            or (NO_COMMUNE,)
        )
        return replace(self, communes=chosen)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_range(self) -> tuple[datetime, datetime]:
        return day_bounds(self.start, self.zone)[0], day_bounds(self.end, self.zone)[1]

    def bucket(self) -> str:
        """How a series over this range is drawn: "d"ays, "w"eeks or "m"onths."""
        if self.granularity in ("d", "w", "m"):
            return self.granularity
        if self.days <= MAX_DAILY_POINTS:
            return "d"
        if self.days <= MAX_WEEKLY_POINTS * 7:
            return "w"
        return "m"

    def buckets(self) -> list[date]:
        kind = self.bucket()
        first = {"d": self.start, "w": week_start(self.start), "m": month_start(self.start)}[kind]
        out: list[date] = []
        day = first
        while day <= self.end:
            out.append(day)
            if kind == "d":
                day += timedelta(days=1)
            elif kind == "w":
                day += timedelta(days=7)
            else:
                day = next_month(day)
        return out

    def bucket_of(self, day: date) -> date:
        kind = self.bucket()
        return {"d": day, "w": week_start(day), "m": month_start(day)}[kind]


@dataclass
class Series:
    """Values per bucket (dates) for named lines."""

    buckets: list[date]
    lines: dict[str, list[int]] = field(default_factory=dict)

    def total(self, name: str) -> int:
        return sum(self.lines.get(name, []))


def _stat_where(
    f: Filters, table: Any = StatDaily, by_ref: bool = False
) -> list[ColumnElement[bool]]:
    """The commune and channel filters. Figures by reference are for all channels together:
    the channel filter does not apply to them."""
    where: list[ColumnElement[bool]] = []
    if f.communes:
        where.append(col(table.commune_code).in_(f.communes))
    elif table is StatDaily:  # the province's totals, not every commune's rows
        where.append(col(table.commune_code) == ALL_COMMUNES)
    if f.channel and not by_ref:
        where.append(col(table.channel) == f.channel)
    return where


def pieces(start: date, end: date) -> list[tuple[str, date]]:
    """The days `start`..`end` (inclusive) as whole months, whole weeks and single days, in
    order: what the rolled-up rows are read as. A week is not taken across the 1st of a month
    that fits whole, so a year is about 11 months, a few weeks and a few days."""
    out: list[tuple[str, date]] = []
    day = start
    while day <= end:
        following = next_month(day)
        if day.day == 1 and following - timedelta(days=1) <= end:
            out.append(("m", day))
            day = following
            continue
        week_end = day + timedelta(days=6)
        crosses = day < following <= week_end and next_month(following) - timedelta(days=1) <= end
        if day.weekday() == 0 and week_end <= end and not crosses:
            out.append(("w", day))
            day += timedelta(days=7)
            continue
        out.append(("d", day))
        day += timedelta(days=1)
    return out


def _in_pieces(chosen: list[tuple[str, date]]) -> ColumnElement[bool]:
    by_grain: dict[str, list[date]] = defaultdict(list)
    for grain, day in chosen:
        by_grain[grain].append(day)
    if not by_grain:
        return false()
    exact = or_(
        *(
            and_(col(StatDaily.grain) == grain, col(StatDaily.day).in_(days))
            for grain, days in by_grain.items()
        )
    )
    # the two IN lists let SQLite walk the (metric, grain, day) index; an OR alone made it
    # scan every row of the metric (5x slower over a year)
    return and_(
        col(StatDaily.grain).in_(list(by_grain)),
        col(StatDaily.day).in_(sorted({day for _grain, day in chosen})),
        exact,
    )


def _series_pieces(f: Filters) -> list[tuple[str, date]]:
    """Each bucket of the range (clipped to it) as pieces: no piece crosses a bucket."""
    out: list[tuple[str, date]] = []
    buckets = f.buckets()
    for i, first in enumerate(buckets):
        last = buckets[i + 1] - timedelta(days=1) if i + 1 < len(buckets) else f.end
        out += pieces(max(first, f.start), min(last, f.end))
    return out


async def _daily(
    session: AsyncSession, f: Filters, metrics: tuple[str, ...], by: str = "channel"
) -> dict[str, dict[date, int]]:
    """{metric or metric/channel: {piece's first day: value}} over the range's buckets."""
    group = col(StatDaily.channel) if by == "channel" else col(StatDaily.metric)
    rows = await session.execute(
        select(col(StatDaily.metric), group, col(StatDaily.day), func.sum(col(StatDaily.value)))
        .where(
            col(StatDaily.metric).in_(metrics),
            _in_pieces(_series_pieces(f)),
            *_stat_where(f),
        )
        .group_by(col(StatDaily.metric), group, col(StatDaily.day))
    )
    out: dict[str, dict[date, int]] = defaultdict(dict)
    for metric, key, day, value in rows:
        name = f"{metric}/{key}" if by == "channel" else metric
        out[name][day] = out[name].get(day, 0) + int(value or 0)
    return out


def _bucketed(f: Filters, values: dict[date, int]) -> list[int]:
    buckets = f.buckets()
    index = {b: i for i, b in enumerate(buckets)}
    out = [0] * len(buckets)
    for day, value in values.items():
        i = index.get(f.bucket_of(day))
        if i is not None:
            out[i] += value
    return out


@dataclass
class Engagement:
    subscribers: Series  # per channel, at the end of each bucket
    subscribers_now: dict[str, int]
    new_residents: Series  # per channel
    left: Series
    active: Series  # "day", "week", "month": per bucket of the range's kind
    messages: Series  # "in", "out"
    active_latest: dict[str, int] = field(default_factory=dict)


async def engagement(session: AsyncSession, f: Filters) -> Engagement:
    channels = [f.channel] if f.channel else list(CHANNELS)
    daily = await _daily(session, f, (NEW_RESIDENTS, LEFT, ACTIVE, MESSAGES_IN, MESSAGES_OUT))
    buckets = f.buckets()
    # subscribers: everyone who arrived before, less who left, then day by day
    before = await session.execute(
        select(col(StatDaily.channel), col(StatDaily.metric), func.sum(col(StatDaily.value)))
        .where(
            col(StatDaily.metric).in_((NEW_RESIDENTS, LEFT)),
            # whole months before the start's month, then that month's days before the start
            or_(
                and_(col(StatDaily.grain) == "m", col(StatDaily.day) < month_start(f.start)),
                and_(
                    col(StatDaily.grain) == "d",
                    col(StatDaily.day) >= month_start(f.start),
                    col(StatDaily.day) < f.start,
                ),
            ),
            *_stat_where(f),
        )
        .group_by(col(StatDaily.channel), col(StatDaily.metric))
    )
    base: dict[str, int] = defaultdict(int)
    for channel, metric, value in before:
        base[channel] += int(value or 0) * (1 if metric == NEW_RESIDENTS else -1)
    subscribers = Series(buckets)
    new = Series(buckets)
    left = Series(buckets)
    for channel in channels:
        arrived = _bucketed(f, daily.get(f"{NEW_RESIDENTS}/{channel}", {}))
        gone = _bucketed(f, daily.get(f"{LEFT}/{channel}", {}))
        running = base.get(channel, 0)
        line = []
        for a, g in zip(arrived, gone, strict=True):
            running += a - g
            line.append(running)
        subscribers.lines[channel] = line
        new.lines[channel] = arrived
        left.lines[channel] = gone
    now = await session.execute(
        select(col(Resident.channel), func.count())
        .where(col(Resident.subscribed).is_(True), *_stat_where(f, Resident))
        .group_by(col(Resident.channel))
    )
    subscribers_now = {channel: int(n) for channel, n in now}

    active = Series(buckets)
    per_day: dict[date, int] = defaultdict(int)
    for channel in channels:
        for day, value in daily.get(f"{ACTIVE}/{channel}", {}).items():
            per_day[day] += value
    if f.bucket() == "d":
        active.lines["day"] = [per_day.get(b, 0) for b in buckets]
    else:  # a week or month's actives are not the sum of its days': the average day
        # weeks' and months' rows hold the sum of their days' actives: divide by the days
        sums = _bucketed(f, dict(per_day))
        lengths = [
            (min(nxt - timedelta(days=1), f.end) - max(b, f.start)).days + 1
            for b, nxt in zip(buckets, [*buckets[1:], f.end + timedelta(days=1)], strict=True)
        ]
        active.lines["day"] = [s // n if n else 0 for s, n in zip(sums, lengths, strict=True)]
    for period, name in (("w", "week"), ("m", "month")):
        rows = await session.execute(
            select(col(StatPeriod.start), func.sum(col(StatPeriod.residents)))
            .where(
                col(StatPeriod.period) == period,
                col(StatPeriod.start) >= (week_start if period == "w" else month_start)(f.start),
                col(StatPeriod.start) <= f.end,
                *_stat_where(f, StatPeriod),
            )
            .group_by(col(StatPeriod.start))
        )
        values = {start: int(v or 0) for start, v in rows}
        # each bucket shows the period it falls in (a week's figure on each of its days)
        starter = week_start if period == "w" else month_start
        if f.bucket() == "d" or (f.bucket() == "w" and period == "m"):
            active.lines[name] = [values.get(starter(b), 0) for b in buckets]
        elif f.bucket() == period:
            active.lines[name] = [values.get(b, 0) for b in buckets]
        else:  # weeks inside monthly buckets: the largest week of the month
            line = []
            for b in buckets:
                end = next_month(b)
                line.append(max((v for s, v in values.items() if b <= s < end), default=0))
            active.lines[name] = line
    latest = {name: line[-1] if line else 0 for name, line in active.lines.items()}

    messages = Series(buckets)
    for metric, name in ((MESSAGES_IN, "in"), (MESSAGES_OUT, "out")):
        merged: dict[date, int] = defaultdict(int)
        for channel in channels:
            for day, value in daily.get(f"{metric}/{channel}", {}).items():
                merged[day] += value
        messages.lines[name] = _bucketed(f, dict(merged))
    return Engagement(
        subscribers=subscribers,
        subscribers_now=subscribers_now,
        new_residents=new,
        left=left,
        active=active,
        messages=messages,
        active_latest=latest,
    )


async def popular(
    session: AsyncSession, f: Filters, metric: str, limit: int = 15
) -> list[tuple[str, int]]:
    """The most frequent references of `metric` (content read, topics, taps, paths…)."""
    total = func.sum(col(StatDaily.value))
    rows = await session.execute(
        select(col(StatDaily.ref), total)
        .where(
            col(StatDaily.metric) == metric,
            _in_pieces(pieces(f.start, f.end)),
            *_stat_where(f, by_ref=True),
        )
        .group_by(col(StatDaily.ref))
        .order_by(total.desc(), col(StatDaily.ref))
        .limit(limit)
    )
    return [(ref, int(n or 0)) for ref, n in rows]


async def metric_totals(
    session: AsyncSession, f: Filters, metrics: tuple[str, ...]
) -> dict[str, int]:
    rows = await session.execute(
        select(col(StatDaily.metric), func.sum(col(StatDaily.value)))
        .where(
            col(StatDaily.metric).in_(metrics),
            _in_pieces(pieces(f.start, f.end)),
            *_stat_where(f, by_ref=True),
            # by-reference figures are for all channels: the channel filter skips them
            or_(col(StatDaily.metric).in_(BY_REF), col(StatDaily.channel) == f.channel)
            if f.channel
            else true(),
        )
        .group_by(col(StatDaily.metric))
    )
    return {metric: int(n or 0) for metric, n in rows}


@dataclass
class CampaignReach:
    id: int
    title: str
    started: datetime | None
    by_status: dict[str, int]
    taps: int
    unsubscribed_after: int

    @property
    def delivered(self) -> int:
        return self.by_status.get("sent", 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def campaign_reach(session: AsyncSession, f: Filters) -> list[CampaignReach]:
    """Campaigns with a run started in the range: deliveries by outcome, taps on their
    buttons (in the range), residents who received one and unsubscribed after. The commune
    filter uses the resident's commune when the run started."""
    first, last = f.utc_range()
    runs = (
        await session.execute(
            select(col(Campaign.id), col(Campaign.title), func.min(col(CampaignRun.started_at)))
            .join(CampaignRun, col(CampaignRun.campaign_id) == col(Campaign.id))
            .where(col(CampaignRun.started_at) >= first, col(CampaignRun.started_at) < last)
            .group_by(col(Campaign.id), col(Campaign.title))
            .order_by(func.min(col(CampaignRun.started_at)).desc())
            .limit(50)
        )
    ).all()
    if not runs:
        return []
    ids = [r[0] for r in runs]
    # the runs started in the range (a monthly bulletin's earlier runs are not counted)
    in_range: list[ColumnElement[bool]] = [
        col(CampaignRun.campaign_id).in_(ids),
        col(CampaignRun.started_at) >= first,
        col(CampaignRun.started_at) < last,
    ]
    delivered: list[ColumnElement[bool]] = []
    if f.communes:  # the resident's commune when the run started
        delivered.append(col(Delivery.commune_code).in_(f.communes))
    if f.channel:
        delivered.append(col(Delivery.channel) == f.channel)
    where = in_range + delivered
    started = await session.execute(
        select(col(CampaignRun.id), col(CampaignRun.campaign_id)).where(*in_range)
    )
    run_of: dict[int, int] = {int(run or 0): int(campaign) for run, campaign in started}
    # by run, in the order of the (run, status, commune) index: counted from the index alone
    counts = await session.execute(
        select(col(Delivery.run_id), col(Delivery.status), func.count())
        .where(col(Delivery.run_id).in_(list(run_of)), *delivered)
        .group_by(col(Delivery.run_id), col(Delivery.status))
    )
    by_campaign: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, status, n in counts:
        statuses = by_campaign[run_of[run_id]]
        statuses[status] = statuses.get(status, 0) + int(n)
    # from the few who unsubscribed to their deliveries (not from every delivery to them)
    after = await session.execute(
        select(col(CampaignRun.campaign_id), func.count())
        .select_from(Resident)
        .join(Delivery, col(Delivery.resident_id) == col(Resident.id))
        .join(CampaignRun, col(CampaignRun.id) == col(Delivery.run_id))
        .where(
            col(Resident.subscribed).is_(False),
            # drives the join from the few unsubscribed residents (SQLite would otherwise walk
            # every sent delivery: 30 ms instead of 250 over a year)
            col(Delivery.resident_id).in_(
                select(col(Resident.id)).where(col(Resident.subscribed).is_(False))
            ),
            col(Delivery.status) == "sent",
            col(Resident.unsubscribed_at) >= col(Delivery.sent_at),
            *where,
        )
        .group_by(col(CampaignRun.campaign_id))
    )
    unsubscribed = {campaign_id: int(n) for campaign_id, n in after}
    taps = await session.execute(
        select(col(StatDaily.ref), func.sum(col(StatDaily.value)))
        .where(
            col(StatDaily.metric) == "campaign_tap",
            col(StatDaily.ref).in_([str(i) for i in ids]),
            _in_pieces(pieces(f.start, max(f.end, f.start))),
            *_stat_where(f, by_ref=True),
        )
        .group_by(col(StatDaily.ref))
    )
    tapped = {int(ref): int(n or 0) for ref, n in taps}
    return [
        CampaignReach(
            id=int(campaign_id or 0),
            title=title,
            started=started,
            by_status=by_campaign.get(int(campaign_id or 0), {}),
            taps=tapped.get(int(campaign_id or 0), 0),
            unsubscribed_after=unsubscribed.get(int(campaign_id or 0), 0),
        )
        for campaign_id, title, started in runs
    ]


@dataclass
class TipFigures:
    total: int = 0
    open: int = 0
    overdue: int = 0  # open, not yet taken up, past the first-response deadline
    escalated: int = 0
    urgent: int = 0
    by_commune: dict[int, int] = field(default_factory=dict)  # 0: place unknown
    by_category: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_month: dict[date, int] = field(default_factory=dict)
    responded: int = 0
    responded_in_time: int = 0
    response_hours: float | None = None  # mean time to first response
    closed: int = 0
    close_days: float | None = None  # mean time to close
    overdue_by_commune: dict[int, int] = field(default_factory=dict)
    open_by_commune: dict[int, int] = field(default_factory=dict)
    response_by_commune: dict[int, float] = field(default_factory=dict)


def _commune_where(f: Filters) -> list[ColumnElement[bool]]:
    """The filters of `tip` other than the range."""
    return [col(Tip.commune_code).in_(f.communes)] if f.communes else []


def _tip_where(f: Filters) -> list[ColumnElement[bool]]:
    first, last = f.utc_range()
    return [col(Tip.created_at) >= first, col(Tip.created_at) < last, *_commune_where(f)]


#: Tips of one commune in one status: (commune, status, *FIGURES).
StatusRow = tuple[Any, ...]


async def tip_figures(
    session: AsyncSession, f: Filters, now: datetime | None = None, months: bool = True
) -> TipFigures:
    """Tips created in the range: its whole months from the tip rollup (`stat_tip`), the days
    before and after them from `tip`, overdue ones (the clock decides) from the few
    unanswered tips, and (with `months`) the tips of each local month."""
    rows, by_category = await _tips_by_status(session, f)
    out = _tally(rows, by_category)
    await _add_overdue(session, f, out, now or datetime.now(UTC))
    if months:
        out.by_month = await _tips_by_month(session, f)
    return out


async def _tips_by_status(
    session: AsyncSession, f: Filters
) -> tuple[list[StatusRow], Counter[str]]:
    """The range's tips by commune and status, and by category: its whole months
    [first_month, after_months) from the rollup, the days before and after them from `tip`."""
    first_month = f.start if f.start.day == 1 else next_month(f.start)
    after_months = month_start(f.end + timedelta(days=1))
    rows: list[StatusRow] = []
    by_category: Counter[str] = Counter()
    if first_month < after_months:
        rows, by_category = await _rolled_up_months(session, f, first_month, after_months)
        edges = [(f.start, first_month), (after_months, f.end + timedelta(days=1))]
    else:
        edges = [(f.start, f.end + timedelta(days=1))]
    for begin, end in edges:  # local days [begin, end)
        if begin < end:
            day_rows, day_categories = await _tips_of_days(session, f, begin, end)
            rows += day_rows
            by_category.update(day_categories)
    return rows, by_category


async def _rolled_up_months(
    session: AsyncSession, f: Filters, first_month: date, after_months: date
) -> tuple[list[StatusRow], Counter[str]]:
    """The rollup's figures of the months [first_month, after_months)."""
    months_in = (col(StatTip.month) >= first_month, col(StatTip.month) < after_months)
    commune_rows = (
        col(StatTip.commune_code).in_(f.communes)
        if f.communes
        else col(StatTip.commune_code) != ALL_COMMUNES
    )
    rolled = await session.execute(
        select(
            col(StatTip.commune_code),
            col(StatTip.status),
            *(func.sum(getattr(StatTip, name)) for name in FIGURES),
        )
        .where(col(StatTip.category) == "", *months_in, commune_rows)
        .group_by(col(StatTip.commune_code), col(StatTip.status))
    )
    categories = await session.execute(
        select(col(StatTip.category), func.sum(col(StatTip.tips)))
        .where(
            col(StatTip.status) == "",
            col(StatTip.commune_code).in_(f.communes)
            if f.communes
            else col(StatTip.commune_code) == ALL_COMMUNES,
            *months_in,
        )
        .group_by(col(StatTip.category))
    )
    by_category: Counter[str] = Counter()
    for category, n in categories:
        by_category[category] += int(n or 0)
    return [tuple(row) for row in rolled], by_category


async def _tips_of_days(
    session: AsyncSession, f: Filters, begin: date, end: date
) -> tuple[list[StatusRow], Counter[str]]:
    """The figures of the tips created on the local days [begin, end), from `tip`."""
    span = [
        col(Tip.created_at) >= day_bounds(begin, f.zone)[0],
        col(Tip.created_at) < day_bounds(end, f.zone)[0],
    ]
    rows: list[StatusRow] = []
    by_category: Counter[str] = Counter()
    for commune, category, status, *figures in await grouped_tips(
        session, [*span, *_commune_where(f)]
    ):
        rows.append((commune, status, *figures))
        by_category[category] += int(figures[0] or 0)
    return rows, by_category


def _tally(rows: list[StatusRow], by_category: Counter[str]) -> TipFigures:
    """The totals, the breakdowns by commune and status, and the mean times of `rows`."""
    out = TipFigures()
    out.by_category = {category: n for category, n in by_category.items() if n}
    response_sum = close_sum = 0.0
    commune_response: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for commune, status, *figures in rows:
        n, escalated, urgent, responded, ok, rsum, closed, csum = (int(v or 0) for v in figures)
        code = commune or 0
        if not n:
            continue
        out.total += n
        if status not in CLOSED:
            out.open += n
            out.open_by_commune[code] = out.open_by_commune.get(code, 0) + n
        out.escalated += escalated
        out.urgent += urgent
        out.by_commune[code] = out.by_commune.get(code, 0) + n
        out.by_status[status] = out.by_status.get(status, 0) + n
        out.overdue_by_commune.setdefault(code, 0)
        out.responded += responded
        out.responded_in_time += ok
        response_sum += rsum
        commune_response[code][0] += rsum
        commune_response[code][1] += responded
        out.closed += closed
        close_sum += csum
    if out.responded:
        out.response_hours = response_sum / out.responded / 3600
    if out.closed:
        out.close_days = close_sum / out.closed / 86400
    out.response_by_commune = {
        code: total / n / 3600 for code, (total, n) in commune_response.items() if n
    }
    return out


async def _add_overdue(session: AsyncSession, f: Filters, out: TipFigures, now: datetime) -> None:
    """Open tips never answered and past their deadline at `now` (read from the unanswered
    tips' index: the clock decides, no rollup can)."""
    late = await session.execute(
        select(col(Tip.commune_code), func.count())
        .where(
            col(Tip.first_response_at).is_(None),
            *_tip_where(f),
            col(Tip.status).not_in(CLOSED),
            col(Tip.first_response_due) < now,
        )
        .group_by(col(Tip.commune_code))
    )
    for commune, n in late:
        out.overdue += int(n)
        out.overdue_by_commune[commune or 0] = int(n)


async def _tips_by_month(session: AsyncSession, f: Filters) -> dict[date, int]:
    """The tips of each local month of the range (its first day → count; none: left out)."""
    spans: list[tuple[date, datetime, datetime]] = []
    month = month_start(f.start)
    while month <= f.end:
        following = next_month(month)
        spans.append(
            (
                month,
                day_bounds(max(month, f.start), f.zone)[0],
                day_bounds(min(following - timedelta(days=1), f.end), f.zone)[1],
            )
        )
        month = following
    # one count per month, each an index range (one pass with a CASE per month, or the
    # month formatted from every row's date, cost more)
    communes = _commune_where(f)
    counted = (
        await session.execute(
            select(
                *(
                    select(func.count())
                    .select_from(Tip)
                    .where(col(Tip.created_at) >= a, col(Tip.created_at) < b, *communes)
                    .scalar_subquery()
                    for _m, a, b in spans
                )
            )
        )
    ).one()
    return {first_day: int(n) for (first_day, _a, _b), n in zip(spans, counted, strict=True) if n}


@dataclass
class CommuneRow:
    code: int
    subscribers: int = 0
    new_residents: int = 0
    active_month: int = 0
    reads: int = 0
    tips: int | None = None
    open_tips: int | None = None
    overdue: int | None = None
    response_hours: float | None = None


async def commune_table(
    session: AsyncSession, f: Filters, codes: list[int], tips: TipFigures | None
) -> list[CommuneRow]:
    """One row per commune in `codes` (the viewer's): subscribers now, new and content reads
    in the range, residents active in the range's last month, and (for tip viewers) tips."""
    rows = {code: CommuneRow(code) for code in codes}
    where_resident: list[ColumnElement[bool]] = [col(Resident.subscribed).is_(True)]
    if f.channel:
        where_resident.append(col(Resident.channel) == f.channel)
    # grouped in the order of the (subscribed, channel, commune) index: no sort, no table
    subs = await session.execute(
        select(col(Resident.channel), col(Resident.commune_code), func.count())
        .where(*where_resident)
        .group_by(col(Resident.channel), col(Resident.commune_code))
    )
    for _channel, code, n in subs:
        if code in rows:
            rows[code].subscribers += int(n)
    daily = await session.execute(
        select(col(StatDaily.commune_code), col(StatDaily.metric), func.sum(col(StatDaily.value)))
        .where(
            col(StatDaily.metric).in_((NEW_RESIDENTS, READS)),
            _in_pieces(pieces(f.start, f.end)),
            col(StatDaily.commune_code) != ALL_COMMUNES,
            # content reads are for all channels: the channel filter applies to arrivals
            or_(col(StatDaily.metric) == READS, col(StatDaily.channel) == f.channel)
            if f.channel
            else true(),
        )
        .group_by(col(StatDaily.commune_code), col(StatDaily.metric))
    )
    for code, metric, n in daily:
        if code in rows:
            if metric == NEW_RESIDENTS:
                rows[code].new_residents = int(n or 0)
            else:
                rows[code].reads = int(n or 0)
    monthly = await session.execute(
        select(col(StatPeriod.commune_code), func.sum(col(StatPeriod.residents)))
        .where(
            col(StatPeriod.period) == "m",
            col(StatPeriod.start) == month_start(f.end),
            col(StatPeriod.channel) == f.channel if f.channel else true(),
        )
        .group_by(col(StatPeriod.commune_code))
    )
    for code, n in monthly:
        if code in rows:
            rows[code].active_month = int(n or 0)
    if tips is not None:
        for code, row in rows.items():
            row.tips = tips.by_commune.get(code, 0)
            row.open_tips = tips.open_by_commune.get(code, 0)
            row.overdue = tips.overdue_by_commune.get(code, 0)
            row.response_hours = tips.response_by_commune.get(code)
    return list(rows.values())
