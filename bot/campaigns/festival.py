"""The built-in "Ngày hội 19/8" series: for one year, a set of draft campaigns for the
"Ngày hội toàn dân bảo vệ an ninh Tổ quốc" that propaganda staff then edit, submit and send
like any other.

The steps (all in local time, texts in content/festival_campaigns.yaml):

* announcement: once, 08:00 on the first day of the year's window (1 July by default);
* weekly reminder: recurring, Mondays 08:00 from that day to 18 August;
* one draft per commune with events in content/festival.yaml (audience: that commune),
  08:00 three days before its first event, and one for province-wide events if any;
* the day itself: once, 19 August 07:00;
* thanks: once, 20 August 08:00.

Every draft has `template = "ngay-hoi-19-8"` and its step in the title. A year gets one
series: a second one is refused while any campaign of that year's series is not cancelled.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.audit import AuditAction, audit
from bot.campaigns.actions import MAX_TEXT, CampaignError, save
from bot.campaigns.schedule import (
    MonthDay,
    Schedule,
    ScheduleError,
    ScheduleKind,
    YearlyWindow,
)
from bot.db import dialect_of
from bot.i18n import N_, STAFF_LANGUAGE, format_date_as, gettext, staff_text
from bot.models import Campaign, StaffUser
from content.library import DEFAULT_ROOT, Festival, FestivalEvent, LocalizedText, load_library
from content.locality import get_unit

__all__ = [
    "TEMPLATE",
    "TEXTS_FILE",
    "create_series",
    "festival_year",
    "series_exists",
]

TEMPLATE: Final = "ngay-hoi-19-8"
TEXTS_FILE: Final = DEFAULT_ROOT / "festival_campaigns.yaml"
FESTIVAL_DAY: Final = (8, 19)
#: Used when content/festival.yaml has no entry for the year.
DEFAULT_WINDOW_START: Final = (7, 1)
MONDAY: Final = 0
#: A commune's programme goes out this long before its first event.
COMMUNE_NOTICE: Final = timedelta(days=3)
FOUNDED: Final = 1945
#: How the texts write a day (CLDR date patterns): 19/8/2027, 19 August 2027.
_DAY_PATTERNS: Final = {"vi": "d/M/yyyy", "en": "d MMMM yyyy"}


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: LocalizedText
    text: LocalizedText
    items: list[str] = Field(default_factory=list)


class _Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    announcement: _Step
    reminder: _Step
    commune: _Step
    province: _Step
    day: _Step
    thanks: _Step
    event_line: LocalizedText


@functools.cache
def _texts(path: Path = TEXTS_FILE) -> _Texts:
    return _Texts.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def festival_year(today: date) -> int:
    """The year whose festival is next (or today): after 19 August, the following year."""
    return today.year if (today.month, today.day) <= FESTIVAL_DAY else today.year + 1


def _year_of(campaign: Campaign) -> int | None:
    """The year a series campaign belongs to, from its schedule."""
    try:
        schedule = Schedule.from_json(campaign.schedule)
    except (ScheduleError, ValueError):
        return None
    if schedule.kind is ScheduleKind.ONCE and schedule.at is not None:
        return schedule.at.astimezone(schedule.zone).year
    day = schedule.first_date or schedule.last_date
    return day.year if day is not None else None


async def series_exists(session: AsyncSession, year: int) -> bool:
    """Whether `year` already has a series (cancelled campaigns do not count)."""
    rows = (
        await session.execute(
            select(Campaign).where(
                col(Campaign.template) == TEMPLATE, col(Campaign.status) != "cancelled"
            )
        )
    ).scalars()
    return any(_year_of(c) == year for c in rows)


def _day(value: date, lang: str) -> str:
    """19/8/2027 in Vietnamese, 19 August 2027 in English (as the texts write the 19/8)."""
    return format_date_as(value, lang, _DAY_PATTERNS)


def _event_lines(events: Sequence[FestivalEvent], lang: str) -> str:
    line = _texts().event_line.get(lang)
    lines = []
    for event in sorted(events, key=lambda e: (e.date, e.time or "")):
        when = _day(event.date, lang)
        if event.time:
            when = gettext(lang, N_("{day}, {time}")).format(day=when, time=event.time)
        lines.append(
            line.format(when=when, title=event.title.get(lang), place=event.place.get(lang))
        )
    return "\n".join(lines)


def _fill(step: _Step, lang: str, **values: Any) -> str:
    filled = step.text.get(lang).strip().format(**values)
    if len(filled) > MAX_TEXT:  # a long programme: keep what fits, staff can shorten it
        filled = filled[: MAX_TEXT - 1].rstrip() + "…"
    return filled


def _fields(
    step: _Step,
    year: int,
    schedule: Schedule,
    communes: list[int] | None = None,
    **values: str | int | dict[str, str],
) -> dict[str, Any]:
    """save()'s fields for one step; a value given as {"vi": …, "en": …} differs by language."""

    def values_in(lang: str) -> dict[str, Any]:
        return {"year": year} | {
            k: v[lang] if isinstance(v, dict) else v for k, v in values.items()
        }

    title = step.title.get(STAFF_LANGUAGE).format(**values_in(STAFF_LANGUAGE))
    return {
        # staff see the titles, in their language
        "title": staff_text(N_("Festival 19/8/{year} — {title}")).format(year=year, title=title),
        "text_vi": _fill(step, "vi", **values_in("vi")),
        "text_en": _fill(step, "en", **values_in("en")),
        "image_url": "",
        "items": list(step.items),
        "communes": communes or [],
        "channels": [],
        "languages": [],
        "schedule": schedule,
    }


async def create_series(
    session: AsyncSession,
    year: int,
    actor: StaffUser,
    timezone: str,
    festival: Festival | None = None,
) -> list[Campaign]:
    """Create the year's series of draft campaigns; CampaignError if it exists already."""
    if dialect_of(session) == "postgresql":
        # two clicks at once must not make two series: one creator per year at a time
        await session.execute(
            text("SELECT pg_advisory_xact_lock(190800000 + :year)"), {"year": year}
        )
    if await series_exists(session, year):
        raise CampaignError(N_("The Ngày hội 19/8 series for this year exists already."))
    created = []
    for fields in _series(year, timezone, festival or load_library().festival):
        campaign = save(session, None, fields, actor)
        campaign.template = TEMPLATE
        created.append(campaign)
    await session.flush()
    audit(
        session,
        actor,
        AuditAction.CAMPAIGN_SERIES,
        detail=f"{TEMPLATE} {year}: " + ", ".join(str(c.id) for c in created),
    )
    return created


def _series(year: int, timezone: str, festival: Festival) -> list[dict[str, Any]]:
    """save()'s fields for each draft of `year`'s series (the steps in the module's doc)."""
    texts = _texts()
    info = festival.year(year)
    start = info.window.start if info else date(year, *DEFAULT_WINDOW_START)
    the_day = date(year, *FESTIVAL_DAY)

    def once(day: date, clock: time) -> Schedule:
        return Schedule.once_local(day, clock, timezone)

    start_text = {"vi": _day(start, "vi"), "en": _day(start, "en")}
    steps = [_fields(texts.announcement, year, once(start, time(8)), start=start_text)]
    weekly = _weekly_reminder(start, the_day - timedelta(days=1), timezone)
    if weekly is not None:
        steps.append(_fields(texts.reminder, year, weekly))
    by_commune: dict[int | None, list[FestivalEvent]] = {}
    for event in info.events if info else []:
        by_commune.setdefault(event.commune_code, []).append(event)
    for code in sorted(c for c in by_commune if c is not None):
        unit = get_unit(code)
        if unit is None:
            continue
        own = by_commune[code]
        send = once(max(min(e.date for e in own) - COMMUNE_NOTICE, start), time(8))
        lines = {"vi": _event_lines(own, "vi"), "en": _event_lines(own, "en")}
        steps.append(
            _fields(texts.commune, year, send, communes=[code], commune=unit.name, events=lines)
        )
    if by_commune.get(None):
        province = by_commune[None]
        send = once(max(min(e.date for e in province) - COMMUNE_NOTICE, start), time(8))
        lines = {"vi": _event_lines(province, "vi"), "en": _event_lines(province, "en")}
        steps.append(_fields(texts.province, year, send, events=lines))
    anniversary = year - FOUNDED
    steps.append(_fields(texts.day, year, once(the_day, time(7)), anniversary=anniversary))
    steps.append(_fields(texts.thanks, year, once(the_day + timedelta(days=1), time(8))))
    return steps


def _weekly_reminder(start: date, last: date, timezone: str) -> Schedule | None:
    """Mondays 08:00 from `start` to `last`; None if there is no Monday in between."""
    if start > last:
        return None
    try:
        return Schedule.recurring(
            [time(8)],
            weekdays=[MONDAY],
            window=YearlyWindow(MonthDay(start.month, start.day), MonthDay(last.month, last.day)),
            first_date=start,
            last_date=last,
            timezone=timezone,
        )
    except ScheduleError:  # no Monday in a very short window
        return None
