"""The statistics pages: engagement, content, campaigns, tips and the commune table, each
with date-range, commune and channel filters, charts beside accessible tables, and CSV and
Excel exports of every table with the filters applied.

Who sees what: administrators everything; officers their communes (engagement and tips);
propaganda staff engagement only, province-wide, never a tip figure. Tip counts below the
privacy threshold are masked everywhere (`bot.stats.privacy`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from admin import charts
from admin._web import DEPS, STAFF, language_of, platform_label, render, translator, whole
from bot.i18n import N_, format_date, format_number
from bot.staff import Staff
from bot.stats import queries
from bot.stats.privacy import Count, mask, order_key, suppress, total_shown
from bot.stats.queries import CHANNELS, Filters, TipFigures
from bot.tips.states import CATEGORIES, CATEGORY_LABELS, STATUS_LABELS, STATUSES
from content.library import load_library
from content.locality import units

__all__ = ["PAGES", "Builder", "Page", "StatsScope", "Table", "build_page", "setup", "viewer"]

MAX_RANGE_DAYS = 3 * 366

TAP_LABELS = {
    "m": N_("Main menu"),
    "lib": N_("Legal education"),
    "hot": N_("Hotlines"),
    "fest": N_("19/8 festival"),
    "fb": N_("Feedback"),
    "set": N_("Settings"),
    "help": N_("Help"),
    "lang": N_("Language"),
    "com": N_("Commune"),
    "sub": N_("Subscription"),
    "cmp": N_("Campaign item"),
    "cancel": N_("Cancel"),
}
DELIVERY_LABELS = {
    "sent": N_("Delivered"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked"),
    "out_of_window": N_("Outside Zalo's window"),
    "interrupted": N_("Interrupted"),
    "pending": N_("Waiting"),
    "sending": N_("Sending"),
    "cancelled": N_("Cancelled"),
}


# --- tables ---------------------------------------------------------------------------------


@dataclass
class Table:
    """One table of a page: shown in HTML, exported as CSV and as an Excel sheet."""

    name: str  # stable, for export URLs and sheet names
    title: str
    columns: list[str]
    rows: list[list[Any]]  # str | int | float | Count | date | None
    chart: str = ""  # data: URL of the chart drawn from it
    chart_alt: str = ""
    note: str = ""
    sort_links: list[str] = field(default_factory=list)  # for sortable columns

    def numeric_columns(self) -> set[int]:
        """Columns holding figures (right-aligned, "—" included)."""
        return {i for row in self.rows for i, value in enumerate(row) if is_number(value)}


@dataclass
class Page:
    name: str
    title: str
    kpis: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Viewer:
    communes: frozenset[int] | None  # None: all
    tips: bool


def viewer(staff: Staff) -> Viewer:
    if staff.is_admin:
        return Viewer(None, True)
    if staff.works_tips:
        return Viewer(frozenset(staff.communes), True)
    return Viewer(None, False)


@dataclass
class StatsScope:
    """What one statistics page covers and how it speaks: the filters, who is looking, the
    language, the small-count threshold; and the helpers formatting its cells."""

    filters: Filters
    viewer: Viewer
    lang: str
    threshold: int
    province: int
    today: date

    #: Read the tips by month even where a page does not show them (the report, whose
    #: sections share one reading of the tips).
    tip_months: bool = False

    def __post_init__(self) -> None:
        self._ = translator(self.lang)
        self._communes = {u.code: u.name for u in units(self.province)}
        self._tips: asyncio.Future[TipFigures] | None = None
        self._with_months = False

    async def tip_figures(self, session: AsyncSession, months: bool = True) -> TipFigures:
        """The tips of the range, read once per request: the report shows them in two
        sections read side by side, and the second waits for the first one's reading."""
        months = months or self.tip_months
        if self._tips is None or (months and not self._with_months):
            self._with_months = months
            self._tips = asyncio.ensure_future(
                queries.tip_figures(session, self.filters, months=months)
            )
        return await self._tips

    def commune(self, code: int) -> str:
        if code == 0:
            return self._("Place not given")
        return self._communes.get(code, str(code))

    def communes(self) -> list[int]:
        if self.viewer.communes is None:
            return list(self._communes)
        return [c for c in self._communes if c in self.viewer.communes]

    def bucket_cell(self, day: date) -> date | str:
        """A bucket in a table: the date of a day or week's first day, "10/2025" for a month."""
        return day.strftime("%m/%Y") if self.filters.bucket() == "m" else day

    def bucket_label(self, day: date) -> str:
        kind = self.filters.bucket()
        if kind == "m":
            return day.strftime("%m/%Y")
        return day.strftime("%d/%m") if self.lang == "vi" else day.strftime("%d %b")

    def channel(self, name: str) -> str:
        return self._(platform_label(name))

    def count(self, value: int) -> Count:
        return mask(value, self.threshold)

    def total(self, value: int, *breakdowns: Mapping[Any, int]) -> Count:
        """A total of tips that breakdowns shown elsewhere split up: hidden ("*") when it
        would let someone work out a masked cell of one of them."""
        if total_shown(self.threshold, *breakdowns):
            return mask(value, self.threshold)
        return Count(None, self.threshold, hidden=True)


# --- pages ----------------------------------------------------------------------------------


def _mean(values: list[int]) -> int:
    return round(sum(values) / len(values)) if values else 0


async def engagement_page(session: AsyncSession, c: StatsScope) -> Page:
    _ = c._
    e = await queries.engagement(session, c.filters)
    labels = [c.bucket_label(b) for b in e.subscribers.buckets]
    channels = list(e.subscribers.lines)
    page = Page("overview", _("Engagement"))
    ends_today = c.filters.end >= c.today
    page.kpis = [
        (
            _("Subscribers now") if ends_today else _("Subscribers at the end of the period"),
            sum(e.subscribers_now.values())
            if ends_today
            else sum(line[-1] for line in e.subscribers.lines.values() if line),
        ),
        (_("New residents in the period"), sum(e.new_residents.total(ch) for ch in channels)),
        (_("Active per day (average)"), _mean(e.active.lines["day"])),
        (_("Active in the last week"), e.active_latest.get("week", 0)),
        (_("Active in the last month"), e.active_latest.get("month", 0)),
        (_("Messages in"), e.messages.total("in")),
        (_("Messages out"), e.messages.total("out")),
    ]
    named = {c.channel(ch): e.subscribers.lines[ch] for ch in channels}
    page.tables.append(
        Table(
            "subscribers",
            _("Subscribers over time"),
            [_("Date"), *named, _("New"), _("Left")],
            [
                [
                    c.bucket_cell(b),
                    *(line[i] for line in named.values()),
                    sum(e.new_residents.lines[ch][i] for ch in channels),
                    sum(e.left.lines[ch][i] for ch in channels),
                ]
                for i, b in enumerate(e.subscribers.buckets)
            ],
            chart=charts.lines(labels, named, lang=c.lang),
            chart_alt=_("Line chart of subscribers by channel; the numbers are in the table."),
        )
    )
    active_names = {"day": _("Daily"), "week": _("Weekly"), "month": _("Monthly")}
    active = {active_names[k]: v for k, v in e.active.lines.items()}
    page.tables.append(
        Table(
            "active",
            _("Active residents"),
            [_("Date"), *active],
            [
                [c.bucket_cell(b), *(line[i] for line in active.values())]
                for i, b in enumerate(e.active.buckets)
            ],
            chart=charts.lines(labels, active, lang=c.lang),
            chart_alt=_("Line chart of daily, weekly and monthly active residents."),
            note=_(
                "Active: residents who used a menu, read or tapped something. Weekly and "
                "monthly figures count each resident once."
            ),
        )
    )
    messages = {_("In"): e.messages.lines["in"], _("Out"): e.messages.lines["out"]}
    page.tables.append(
        Table(
            "messages",
            _("Messages in and out"),
            [_("Date"), *messages],
            [
                [c.bucket_cell(b), *(line[i] for line in messages.values())]
                for i, b in enumerate(e.messages.buckets)
            ],
            chart=charts.bars(labels, messages, lang=c.lang),
            chart_alt=_("Bar chart of messages received and sent."),
            note=_("Campaign messages count for the whole province, not a commune."),
        )
    )
    by_channel = [[c.channel(ch), n] for ch, n in sorted(e.subscribers_now.items())]
    page.tables.append(
        Table("channels", _("Subscribers by channel"), [_("Channel"), _("Subscribers")], by_channel)
    )
    return page


def _content_label(c: StatsScope, metric: str, ref: str) -> str:
    library = load_library()
    if metric == "content":
        try:
            return library.item(ref).title.get(c.lang)
        except KeyError:
            return ref
    if metric == "topic":
        try:
            return library.topic(ref).title.get(c.lang)
        except KeyError:
            return ref
    if metric == "tap":
        return c._(TAP_LABELS[ref]) if ref in TAP_LABELS else ref
    return ref


def _step_label(c: StatsScope, step: str) -> str:
    kind, _sep, ref = step.partition(":")
    if kind in ("content", "topic", "tap"):
        return _content_label(c, kind, ref)
    return {
        "hotlines": c._("Hotlines"),
        "festival": c._("19/8 festival"),
        "campaign_tap": c._("Campaign item"),
    }.get(kind, step)


async def content_page(session: AsyncSession, c: StatsScope) -> Page:
    _ = c._
    page = Page("content", _("Content and menus"))
    totals = await queries.metric_totals(
        session, c.filters, ("content", "topic", "hotlines", "festival", "feedback", "tap")
    )
    page.kpis = [
        (_("Content items read"), totals.get("content", 0)),
        (_("Topics opened"), totals.get("topic", 0)),
        (_("Hotlines shown"), totals.get("hotlines", 0)),
        (_("19/8 festival opened"), totals.get("festival", 0)),
        (_("Feedback sent"), totals.get("feedback", 0)),
    ]
    for metric, name, title, column in (
        ("content", "reads", _("Most-read content"), _("Reads")),
        ("topic", "topics", _("Topics opened"), _("Opened")),
        ("tap", "menus", _("Menu buttons tapped"), _("Taps")),
    ):
        top = await queries.popular(session, c.filters, metric)
        labels = [_content_label(c, metric, ref) for ref, _n in top]
        page.tables.append(
            Table(
                name,
                title,
                ["#", _("Item"), column],
                [
                    [i + 1, label, n]
                    for i, (label, (_r, n)) in enumerate(zip(labels, top, strict=True))
                ],
                chart=charts.hbars(labels, [n for _r, n in top], column, lang=c.lang)
                if top
                else "",
                chart_alt=_("Bar chart of the same list."),
            )
        )
    paths = await queries.popular(session, c.filters, "path", limit=20)
    rows = []
    for i, (ref, n) in enumerate(paths):
        a, _sep, b = ref.partition(" → ")
        rows.append([i + 1, _step_label(c, a), _step_label(c, b), n])
    page.tables.append(
        Table(
            "paths",
            _("Menu paths residents take"),
            ["#", _("From"), _("Then"), _("Residents")],
            rows,
            note=_("Consecutive steps of one resident on one day, counted once per day."),
        )
    )
    return page


async def campaign_reach_page(session: AsyncSession, c: StatsScope) -> Page:
    _ = c._
    reach = await queries.campaign_reach(session, c.filters)
    page = Page("campaigns", _("Campaign reach"))
    page.kpis = [
        (_("Campaigns sent"), len(reach)),
        (_("Messages delivered"), sum(r.delivered for r in reach)),
        (_("Button taps"), sum(r.taps for r in reach)),
        (_("Unsubscribed after"), sum(r.unsubscribed_after for r in reach)),
    ]
    statuses = ["sent", "failed", "blocked", "out_of_window", "interrupted"]
    rows = [
        [
            r.title,
            r.started.astimezone(c.filters.zone).date() if r.started else None,
            r.total,
            *(r.by_status.get(s, 0) for s in statuses),
            r.taps,
            r.unsubscribed_after,
        ]
        for r in reach
    ]
    top = reach[:12]
    page.tables.append(
        Table(
            "reach",
            _("Campaigns started in the period"),
            [
                _("Campaign"),
                _("Started"),
                _("Recipients"),
                *(_(DELIVERY_LABELS[s]) for s in statuses),
                _("Button taps"),
                _("Unsubscribed after"),
            ],
            rows,
            chart=charts.bars(
                [r.title[:24] for r in top],
                {
                    _("Delivered"): [r.delivered for r in top],
                    _("Button taps"): [r.taps for r in top],
                    _("Unsubscribed after"): [r.unsubscribed_after for r in top],
                },
                lang=c.lang,
            )
            if top
            else "",
            chart_alt=_("Bar chart of deliveries, taps and unsubscribes per campaign."),
        )
    )
    return page


def _hours(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


async def tips_page(session: AsyncSession, c: StatsScope) -> Page:
    _ = c._
    t = await c.tip_figures(session)
    page = Page("tips", _("Tips"))
    page.note = _(
        "Counts below {n} are shown as “<{n}” so that no tipster can be singled out; “*” "
        "hides a larger figure from which a small one could be worked out.",
        n=c.threshold,
    )
    page.kpis = [
        (
            _("Tips received"),
            c.total(t.total, t.by_category, t.by_status, t.by_month, t.by_commune),
        ),
        (_("Open"), c.total(t.open, t.open_by_commune)),
        (_("Overdue for a first response"), c.total(t.overdue, t.overdue_by_commune)),
        (_("Escalated to the province"), c.count(t.escalated)),
        (_("Mean time to first response (hours)"), _hours(t.response_hours)),
        (
            _("Answered within the deadline"),
            f"{round(100 * t.responded_in_time / t.responded)} %" if t.responded else None,
        ),
        (_("Mean time to close (days)"), _hours(t.close_days)),
    ]
    categories = suppress({k: t.by_category.get(k, 0) for k in CATEGORIES}, c.threshold)
    labels = [_(CATEGORY_LABELS[k]) for k in CATEGORIES]
    page.tables.append(
        Table(
            "categories",
            _("Tips by category"),
            [_("Category"), _("Tips")],
            [[label, categories[k]] for label, k in zip(labels, CATEGORIES, strict=True)],
            chart=charts.hbars(
                labels, [categories[k].for_chart() for k in CATEGORIES], _("Tips"), lang=c.lang
            ),
            chart_alt=_("Bar chart of tips by category; masked counts are not drawn."),
        )
    )
    statuses = suppress({k: t.by_status.get(k, 0) for k in STATUSES}, c.threshold)
    status_labels = [_(STATUS_LABELS[k]) for k in STATUSES]
    page.tables.append(
        Table(
            "statuses",
            _("Tips by status"),
            [_("Status"), _("Tips")],
            [[label, statuses[k]] for label, k in zip(status_labels, STATUSES, strict=True)],
            chart=charts.hbars(
                status_labels, [statuses[k].for_chart() for k in STATUSES], _("Tips")
            ),
            chart_alt=_("Bar chart of tips by status."),
        )
    )
    months = sorted(t.by_month)
    by_month = suppress(t.by_month, c.threshold)
    page.tables.append(
        Table(
            "months",
            _("Tips by month"),
            [_("Month"), _("Tips")],
            [[m.strftime("%m/%Y"), by_month[m]] for m in months],
            chart=charts.bars(
                [m.strftime("%m/%Y") for m in months],
                {_("Tips"): [by_month[m].for_chart() for m in months]},
                lang=c.lang,
            )
            if months
            else "",
            chart_alt=_("Bar chart of tips by month."),
        )
    )
    communes = suppress(t.by_commune, c.threshold)
    overdue = suppress(t.overdue_by_commune, c.threshold)
    ordered = sorted(t.by_commune, key=lambda code: order_key(communes[code], c.commune(code)))
    page.tables.append(
        Table(
            "tip_communes",
            _("Tips by commune"),
            [_("Commune"), _("Tips"), _("Overdue"), _("Mean first response (hours)")],
            [
                [
                    c.commune(code),
                    communes[code],
                    overdue.get(code, c.count(0)),
                    _hours(t.response_by_commune.get(code)),
                ]
                for code in ordered
            ],
        )
    )
    return page


COMMUNE_SORTS = (
    "name",
    "subscribers",
    "new",
    "active",
    "reads",
    "tips",
    "open",
    "overdue",
    "response",
)


async def communes_page(session: AsyncSession, c: StatsScope, sort: str = "subscribers") -> Page:
    _ = c._
    tip_data: TipFigures | None = None
    if c.viewer.tips:
        tip_data = await c.tip_figures(session, months=False)
    rows = await queries.commune_table(session, c.filters, c.communes(), tip_data)
    # tip columns masked as on the tips page (same figures, same rule: the pages agree)
    zero = c.count(0)
    tips_col = suppress(tip_data.by_commune, c.threshold) if tip_data else {}
    open_col = suppress(tip_data.open_by_commune, c.threshold) if tip_data else {}
    overdue_col = suppress(tip_data.overdue_by_commune, c.threshold) if tip_data else {}
    key: Callable[[queries.CommuneRow], Any] = {
        "name": lambda r: (0, c.commune(r.code)),
        "subscribers": lambda r: (-r.subscribers, ""),
        "new": lambda r: (-r.new_residents, ""),
        "active": lambda r: (-r.active_month, ""),
        "reads": lambda r: (-r.reads, ""),
        # masked figures sort as one tier, by name: the order must not give them away
        "tips": lambda r: order_key(tips_col.get(r.code, zero), c.commune(r.code)),
        "open": lambda r: order_key(open_col.get(r.code, zero), c.commune(r.code)),
        "overdue": lambda r: order_key(overdue_col.get(r.code, zero), c.commune(r.code)),
        "response": lambda r: (-(r.response_hours or 0), ""),
    }.get(sort, lambda r: (-r.subscribers, ""))
    rows.sort(key=lambda r: (key(r), r.code))
    columns = [
        _("Commune"),
        _("Subscribers"),
        _("New in the period"),
        _("Active in the month"),
        _("Content read"),
    ]
    sorts = ["name", "subscribers", "new", "active", "reads"]
    if tip_data is not None:
        columns += [_("Tips"), _("Open tips"), _("Overdue"), _("Mean first response (hours)")]
        sorts += ["tips", "open", "overdue", "response"]
    body = []
    for r in rows:
        row: list[Any] = [
            c.commune(r.code),
            r.subscribers,
            r.new_residents,
            r.active_month,
            r.reads,
        ]
        if tip_data is not None:
            row += [
                tips_col.get(r.code, zero),
                open_col.get(r.code, zero),
                overdue_col.get(r.code, zero),
                _hours(r.response_hours),
            ]
        body.append(row)
    page = Page("communes", _("Communes"))
    page.tables.append(
        Table(
            "communes",
            _("Communes and wards"),
            columns,
            body,
            sort_links=sorts,
            note=_("Sort by a column by choosing its heading."),
        )
    )
    return page


Builder = Callable[[AsyncSession, StatsScope], Awaitable[Page]]
PAGES: dict[str, tuple[str, Builder, bool]] = {
    # name: (menu label, builder, needs tips)
    "overview": (N_("Engagement"), engagement_page, False),
    "content": (N_("Content and menus"), content_page, False),
    "campaigns": (N_("Campaigns"), campaign_reach_page, False),
    "tips": (N_("Tips"), tips_page, True),
    "communes": (N_("Communes"), communes_page, False),
}


# --- requests -------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_filters(request: web.Request, today: date, timezone: str) -> Filters:
    """The filters in the query string; anything invalid falls back to the default."""
    default = Filters.default(today, timezone)
    start = _date(request.query.get("from")) or default.start
    end = _date(request.query.get("to")) or default.end
    end = min(end, today + timedelta(days=1))
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_RANGE_DAYS:
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
    communes = tuple(int(v) for v in request.query.getall("commune", []) if whole(v) and len(v) < 9)
    channel = request.query.get("channel", "")
    return Filters(
        start=start,
        end=end,
        communes=communes[:200],
        channel=channel if channel in CHANNELS else "",
        timezone=timezone,
    )


def _allowed(staff: Staff, name: str) -> Viewer:
    if name not in PAGES:
        raise web.HTTPNotFound()
    v = viewer(staff)
    if PAGES[name][2] and not v.tips:
        raise web.HTTPForbidden()
    if v.communes is not None and not v.communes:
        raise web.HTTPForbidden()  # an officer with no commune sees nothing
    return v


async def build_page(request: web.Request, name: str, sort: str = "") -> tuple[Page, StatsScope]:
    panel = request.app[DEPS]
    staff: Staff = request[STAFF]
    v = _allowed(staff, name)
    tz = panel.settings.timezone
    today = datetime.now(ZoneInfo(tz)).date()
    filters = parse_filters(request, today, tz).within(v.communes)
    c = StatsScope(
        filters=filters,
        viewer=v,
        lang=language_of(request),
        threshold=panel.settings.stats_privacy_threshold,
        province=panel.settings.province_code,
        today=today,
    )
    async with panel.db.reading() as session:
        if name == "communes":
            page = await communes_page(session, c, sort)
        else:
            page = await PAGES[name][1](session, c)
    return page, c


def _query_without(request: web.Request, *drop: str) -> str:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, v in request.query.items() if k not in drop])


async def stats_page(request: web.Request) -> web.StreamResponse:
    name = request.match_info.get("page", "overview")
    sort = request.query.get("sort", "subscribers")
    sort = sort if sort in COMMUNE_SORTS else "subscribers"
    page, c = await build_page(request, name, sort)
    lang = c.lang
    staff: Staff = request[STAFF]
    v = c.viewer
    options = [(code, c.commune(code)) for code in c.communes()]
    menu = [
        (key, label) for key, (label, _b, needs_tips) in PAGES.items() if v.tips or not needs_tips
    ]
    return render(
        request,
        "stats.html",
        page=page,
        pages=menu,
        current=name,
        filters=c.filters,
        communes=options,
        channels=[(ch, c.channel(ch)) for ch in CHANNELS],
        chosen=set(request.query.getall("commune", [])),
        query=_query_without(request),
        query_no_sort=_query_without(request, "sort"),
        sort=sort,
        cell=lambda value: cell_text(value, lang),
        is_number=is_number,
        fmt_date=lambda d: format_date(d, lang),
        may_report=True,
        staff_is_admin=staff.is_admin,
    )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Count) and not isinstance(value, bool)


def cell_text(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, Count):
        return str(value) if value.masked else format_number(value.value or 0, lang)
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, float):
        return format_number(value, lang, decimals=1)
    if isinstance(value, int):
        return format_number(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    return str(value)


def _plain(value: Any) -> Any:
    """A cell for CSV and Excel: numbers stay numbers; a masked count is its "<3"."""
    if isinstance(value, Count):
        return value.value if value.value is not None else str(value)
    if value is None:
        return ""
    return value


_SAFE_NAME = re.compile(r"[^a-z0-9_-]+")


def _formula_safe(value: Any) -> Any:
    """Text starting with = + - @ is not a formula in the spreadsheet (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(
            [_formula_safe(v.isoformat() if isinstance(v, date) else _plain(v)) for v in row]
        )
    # with a BOM, Excel opens Vietnamese text as UTF-8
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table], heading: str) -> bytes:
    """Every table on a sheet of its own, under the heading and the table's title. Written by
    XlsxWriter (a report's dozen sheets in a quarter of openpyxl's time)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            # text stays text (a title starting with "=" is no formula; _formula_safe also
            # marks it for other spreadsheet programs)
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        },
    )
    title = book.add_format({"bold": True, "font_size": 13})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    names: set[str] = set()
    for table in tables or [Table("table", "", [], [])]:
        name = base = _SAFE_NAME.sub("_", table.name)[:28] or "table"
        while name in names:
            name = f"{base}_{len(names)}"
        names.add(name)
        sheet = book.add_worksheet(name)
        rows = [[_formula_safe(_plain(v)) for v in row] for row in table.rows]
        sheet.write_string(0, 0, heading, title)
        sheet.write_string(1, 0, table.title, bold)
        sheet.write_row(3, 0, table.columns, bold)
        for r, row in enumerate(rows, start=4):
            for c, value in enumerate(row):
                if isinstance(value, date):
                    sheet.write_datetime(r, c, value, day)
                else:
                    sheet.write(r, c, value)
        if table.note:
            sheet.write_string(5 + len(rows), 0, table.note)
        for i, column in enumerate(table.columns):
            width = max([len(str(column))] + [len(str(r[i])) for r in rows[:200]])
            sheet.set_column(i, i, min(max(10, width + 2), 60))
    book.close()
    return out.getvalue()


def _filename(c: StatsScope, name: str, extension: str) -> str:
    return f"antq-{name}-{c.filters.start.isoformat()}-{c.filters.end.isoformat()}.{extension}"


async def export(request: web.Request) -> web.StreamResponse:
    """/stats/{page}/export.xlsx (every table of the page) or /stats/{page}/{table}.csv."""
    name = request.match_info["page"]
    table_name = request.match_info.get("table", "")
    extension = request.match_info["ext"]
    sort = request.query.get("sort", "subscribers")
    # an export has no charts (reset after: keep-alive requests may share one task's context)
    drawing = charts.DRAW.set(False)
    try:
        page, c = await build_page(request, name, sort if sort in COMMUNE_SORTS else "subscribers")
    finally:
        charts.DRAW.reset(drawing)
    period = f"{format_date(c.filters.start, c.lang)} – {format_date(c.filters.end, c.lang)}"
    heading = f"{page.title} · {period}"
    if extension == "xlsx" and not table_name:
        tables = page.tables
    else:
        tables = [t for t in page.tables if t.name == table_name]
        if not tables:
            raise web.HTTPNotFound()
    if extension == "csv":
        body, mime = to_csv(tables[0]), "text/csv"
        filename = _filename(c, tables[0].name, "csv")
    else:
        body = to_xlsx(tables, heading)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        filename = _filename(c, table_name or page.name, "xlsx")
    return web.Response(
        body=body,
        headers={
            "Content-Type": mime,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/stats", stats_page)
    app.router.add_get("/stats/{page:[a-z_]+}", stats_page)
    app.router.add_get("/stats/{page:[a-z_]+}/export.{ext:xlsx}", export)
    app.router.add_get("/stats/{page:[a-z_]+}/{table:[a-z_]+}.{ext:csv|xlsx}", export)
