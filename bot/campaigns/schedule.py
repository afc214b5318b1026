"""When a campaign message goes out: now, once at a set time, or on a recurring rule.

A recurring rule is wall-clock time in one time zone (Asia/Ho_Chi_Minh unless told): one or
more times of day, optionally some weekdays, optionally a yearly window of month-days ("1 July
to 19 August"; a window may wrap the new year, "15 December to 15 January"), and optionally a
first and a last local date for the whole rule. Instants going in and out are aware UTC.

Choices worth knowing:

- 29 February in a window: in a year without one, a window *starting* on 02-29 starts on
  03-01 and a window *ending* on 02-29 ends on 02-28, so the window only ever loses the
  missing day. A window from 02-29 to 02-29 is then empty in those years.
- A wall-clock time that does not exist (the hour skipped when clocks go forward) fires at the
  first instant after the skipped hour; one that happens twice (clocks go back) fires once, the
  first time (fold=0). Two times that land on the same instant fire once.
- `now` has no instants of its own: whoever creates the campaign sends it at once, so
  `next_after` gives None and `occurrences` an empty list (see `Schedule.immediate`).
- Rules are bounded: a rule that could never fire (first_date after last_date, no day of the
  window on the chosen weekdays before last_date, 02-30) is refused when it is built.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, format_date, format_date_as, gettext

__all__ = [
    "DEFAULT_TIMEZONE",
    "WEEKDAYS",
    "MonthDay",
    "Schedule",
    "ScheduleError",
    "ScheduleKind",
    "YearlyWindow",
]

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
#: Weekday names as stored and posted; the index is `date.weekday()` (0 = Monday).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The Gregorian calendar repeats every 400 years: a rule without a day in 401 has none at all.
SEARCH_YEARS = 401
_DAY = timedelta(days=1)
#: Searches stop here, which leaves room to step a day and a year further without overflow.
_LAST_SEARCHABLE_DAY = date(MAXYEAR - 1, 12, 31)
_LEAP_YEAR = 2000  # any leap year: a month-day exists if it exists in a leap year

#: Weekdays as `describe` names them ("Mondays at 08:00"), by `date.weekday()`.
_WEEKDAY_NAMES = (
    N_("Mondays"), N_("Tuesdays"), N_("Wednesdays"), N_("Thursdays"), N_("Fridays"),
    N_("Saturdays"), N_("Sundays"),
)  # fmt: skip
#: How `describe` writes a yearly window's ends (CLDR date patterns): 01/07, 1 Jul.
_MONTH_DAY = {"vi": "dd/MM", "en": "d MMM"}

_JSON_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
_JSON_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_JSON_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
# Forms: "08:00", "8:00", and the Vietnamese "8h", "8h30".
_FORM_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2})|h(\d{2})?)$", re.IGNORECASE)
_FORM_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_FORM_VI_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_FORM_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")  # ISO-like month-day: 07-01 is 1 July
_FORM_DAY_MONTH = re.compile(r"^(\d{1,2})/(\d{1,2})$")  # Vietnamese day/month: 1/7 is 1 July
_FORM_LIST_SEPARATOR = re.compile(r"[,;\s]+")


class ScheduleError(ValueError):
    """A schedule that cannot be built; `field` names the JSON or form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ScheduleKind(StrEnum):
    NOW = "now"
    ONCE = "once"
    RECURRING = "recurring"


#: The fields each kind uses, as in its JSON (besides "kind").
_FIELDS: dict[ScheduleKind, frozenset[str]] = {
    ScheduleKind.NOW: frozenset(),
    ScheduleKind.ONCE: frozenset({"at", "timezone"}),
    ScheduleKind.RECURRING: frozenset(
        {"times", "weekdays", "window", "first_date", "last_date", "timezone"}
    ),
}


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year without the year, such as 1 July; 29 February is allowed."""

    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not (
            1 <= self.day <= calendar.monthrange(_LEAP_YEAR, self.month)[1]
        ):
            raise ValueError(f"{self.month:02d}-{self.day:02d} is not a day of the year")

    def in_year(self, year: int, *, end: bool) -> date:
        """This day in `year`. Without a 29 February, 02-29 is 02-28 as the end of a window
        and 03-01 as its start."""
        if (self.month, self.day) == (2, 29) and not calendar.isleap(year):
            return date(year, 2, 28) if end else date(year, 3, 1)
        return date(year, self.month, self.day)

    def iso(self) -> str:
        """The ISO-like month-day: "07-01" for 1 July."""
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class YearlyWindow:
    """Every year from `start` to `end`, both included; it wraps the new year if end < start."""

    start: MonthDay
    end: MonthDay

    @property
    def wraps(self) -> bool:
        return self.end < self.start

    def contains(self, day: date) -> bool:
        start = self.start.in_year(day.year, end=False)
        end = self.end.in_year(day.year, end=True)
        if self.wraps:
            return day >= start or day <= end
        return start <= day <= end

    def next_start(self, day: date) -> date:
        """The day the window next opens after `day`, a day outside it."""
        start = self.start.in_year(day.year, end=False)
        return start if day < start else self.start.in_year(day.year + 1, end=False)


@dataclass(frozen=True)
class Schedule:
    """When a campaign is sent. Build it with `now()`, `once()`, `once_local()`,
    `recurring()`, `from_json()` or `from_form()`; fields not used by a kind stay empty."""

    kind: ScheduleKind
    #: `once`: the instant, in UTC.
    at: datetime | None = None
    #: `recurring`: wall-clock times of day, sorted, whole minutes.
    times: tuple[time, ...] = ()
    #: `recurring`: `date.weekday()` numbers (0 = Monday), sorted; empty means every day.
    weekdays: tuple[int, ...] = ()
    window: YearlyWindow | None = None
    #: `recurring`: local dates bounding the whole rule, both included.
    first_date: date | None = None
    last_date: date | None = None
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", ScheduleKind(self.kind))
        except ValueError:
            raise ScheduleError(
                "kind", f"{self.kind!r} is not one of now, once, recurring"
            ) from None
        _zone(self.timezone)
        for name, unset in _UNSET.items():
            if name not in _FIELDS[self.kind] and getattr(self, name) != unset:
                raise ScheduleError(name, f"a {self.kind} schedule has no {name}")
        if self.kind is ScheduleKind.ONCE:
            if self.at is None:
                raise ScheduleError("at", "a once schedule needs the time to send")
            object.__setattr__(self, "at", _utc(self.at, "at"))
        elif self.kind is ScheduleKind.RECURRING:
            self._check_recurring()

    def _check_recurring(self) -> None:
        if not self.times:
            raise ScheduleError("times", "give at least one time of day")
        for clock in self.times:
            if clock.tzinfo is not None or clock.second or clock.microsecond:
                raise ScheduleError("times", f"{clock} is not a wall-clock time in whole minutes")
        object.__setattr__(self, "times", tuple(sorted(set(self.times))))
        if any(not 0 <= weekday <= 6 for weekday in self.weekdays):
            raise ScheduleError("weekdays", f"{self.weekdays} are not all 0 (Monday) to 6")
        weekdays = tuple(sorted(set(self.weekdays)))
        # all seven days and none are the same rule: keep one form so the JSON is stable
        object.__setattr__(self, "weekdays", () if len(weekdays) == 7 else weekdays)
        if self.first_date and self.last_date and self.first_date > self.last_date:
            raise ScheduleError(
                "last_date", f"{self.last_date} is before the first date {self.first_date}"
            )
        # Without a first date, look back a whole calendar cycle from the last date (if any).
        since = self.first_date or date(
            max(1, (self.last_date or date(_LEAP_YEAR, 1, 1)).year - SEARCH_YEARS), 1, 1
        )
        if next(self._days(since, None), None) is None:
            raise ScheduleError(
                "last_date",
                "the rule never fires: no day up to the last date is inside the window "
                "and on one of the weekdays",
            )

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def now(cls) -> Schedule:
        """Send at once, when the campaign is created."""
        return cls(ScheduleKind.NOW)

    @classmethod
    def once(cls, at: datetime, timezone: str = DEFAULT_TIMEZONE) -> Schedule:
        """Send once at the aware instant `at`; `timezone` is where it is shown."""
        return cls(ScheduleKind.ONCE, at=at, timezone=timezone)

    @classmethod
    def once_local(cls, day: date, clock: time, timezone: str = DEFAULT_TIMEZONE) -> Schedule:
        """Send once at the wall-clock `clock` on `day` in `timezone`."""
        return cls.once(_instant(day, clock, _zone(timezone)), timezone)

    @classmethod
    def recurring(
        cls,
        times: Iterable[time],
        *,
        weekdays: Iterable[int] = (),
        window: YearlyWindow | None = None,
        first_date: date | None = None,
        last_date: date | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> Schedule:
        """Send at each of `times` (wall clock in `timezone`) on the matching days;
        `weekdays` are `date.weekday()` numbers, none meaning every day."""
        return cls(
            ScheduleKind.RECURRING,
            times=tuple(times),
            weekdays=tuple(weekdays),
            window=window,
            first_date=first_date,
            last_date=last_date,
            timezone=timezone,
        )

    @property
    def immediate(self) -> bool:
        """True for `now`: the caller sends at creation; there is nothing to wait for."""
        return self.kind is ScheduleKind.NOW

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    # -- firing -----------------------------------------------------------------------------

    def next_after(self, moment: datetime) -> datetime | None:
        """The first instant strictly after the aware `moment`, in UTC; None once the rule
        is over (and always for `now`, which the caller sends at once)."""
        moment = _utc(moment, "moment")
        for instant in self._instants(self._day_before(moment), None):
            if instant > moment:
                return instant
        return None

    def occurrences(
        self, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[datetime]:
        """The instants from `start` (included) to `end` (excluded), in UTC and in order,
        at most `limit` of them; for previews such as "the next 5 sends"."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if limit is not None and limit < 0:
            raise ValueError(f"limit {limit} is negative")
        found: list[datetime] = []
        if end <= start or limit == 0:
            return found
        until = min(self._local_day(end), _LAST_SEARCHABLE_DAY) + _DAY
        for instant in self._instants(self._day_before(start), until):
            if instant >= end:
                break
            if instant >= start:
                found.append(instant)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _local_day(self, moment: datetime) -> date:
        try:
            return moment.astimezone(self.zone).date()
        except OverflowError:  # the zone's date is before year 1 or after 9999
            return date.min if moment.year == 1 else date.max

    def _day_before(self, moment: datetime) -> date:
        # Start a day early: the local day of `moment` may hold times before it.
        day = self._local_day(moment)
        return day - _DAY if day > date.min else day

    def _instants(self, first_day: date, until: date | None) -> Iterator[datetime]:
        """Firing instants in order, without repeats, from local `first_day` on."""
        if self.kind is ScheduleKind.ONCE and self.at is not None:
            yield self.at
        if self.kind is not ScheduleKind.RECURRING:
            return
        zone = self.zone
        last: datetime | None = None
        for day in self._days(first_day, until):
            for clock in self.times:
                instant = _instant(day, clock, zone)
                # two times in one skipped hour land on the same instant: send once
                if last is None or instant > last:
                    last = instant
                    yield instant

    def _days(self, first_day: date, until: date | None) -> Iterator[date]:
        """Local days on which the rule fires, from `first_day` to `until` (included) or the
        end of the rule, at most SEARCH_YEARS ahead."""
        day = max(first_day, self.first_date) if self.first_date else first_day
        stop = until or date(min(day.year + SEARCH_YEARS, MAXYEAR), 1, 1)
        stop = min(stop, self.last_date or stop, _LAST_SEARCHABLE_DAY)
        while day <= stop:
            if self.window is not None and not self.window.contains(day):
                day = self.window.next_start(day)
                continue
            if not self.weekdays or day.weekday() in self.weekdays:
                yield day
            day += _DAY

    # -- JSON -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The schedule as JSON for a database column; every field of the kind is present.

        {"kind": "now"}
        {"kind": "once", "at": "2026-08-19T01:00:00Z", "timezone": "Asia/Ho_Chi_Minh"}
        {"kind": "recurring", "times": ["08:00"], "weekdays": ["mon"],
         "window": {"from": "07-01", "to": "08-19"} | null,
         "first_date": "2026-07-01" | null, "last_date": null, "timezone": "Asia/Ho_Chi_Minh"}
        """
        if self.kind is ScheduleKind.NOW:
            return {"kind": "now"}
        if self.kind is ScheduleKind.ONCE:
            assert self.at is not None
            at = self.at.isoformat().replace("+00:00", "Z")
            return {"kind": "once", "at": at, "timezone": self.timezone}
        window = self.window
        return {
            "kind": "recurring",
            "times": [clock.strftime("%H:%M") for clock in self.times],
            "weekdays": [WEEKDAYS[weekday] for weekday in self.weekdays],
            "window": None
            if window is None
            else {"from": window.start.iso(), "to": window.end.iso()},
            "first_date": None if self.first_date is None else self.first_date.isoformat(),
            "last_date": None if self.last_date is None else self.last_date.isoformat(),
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        """The schedule `to_json` gave. Unknown fields are refused; the optional fields of a
        recurring rule (weekdays, window, the dates, timezone) may be left out."""
        if not isinstance(data, Mapping):
            raise ScheduleError("schedule", f"{data!r} is not a JSON object")
        kind = data.get("kind")
        if kind not in tuple(ScheduleKind):
            raise ScheduleError("kind", f"{kind!r} is not one of now, once, recurring")
        allowed = {"kind"} | _FIELDS[ScheduleKind(kind)]
        unknown = sorted(str(name) for name in set(data) - allowed)
        if unknown:
            raise ScheduleError(unknown[0], f"is not a field of a {kind} schedule")
        timezone = _json_str(data.get("timezone", DEFAULT_TIMEZONE), "timezone")
        if kind == ScheduleKind.NOW:
            return cls.now()
        if kind == ScheduleKind.ONCE:
            return cls.once(_json_instant(data.get("at")), timezone)
        return cls.recurring(
            [_json_clock(item) for item in _json_list(data.get("times"), "times")],
            weekdays=[
                _weekday(item, "weekdays")
                for item in _json_list(data.get("weekdays", []), "weekdays")
            ],
            window=_json_window(data.get("window")),
            first_date=_json_date(data.get("first_date"), "first_date"),
            last_date=_json_date(data.get("last_date"), "last_date"),
            timezone=timezone,
        )

    # -- forms ------------------------------------------------------------------------------

    @classmethod
    def from_form(cls, fields: Mapping[str, str]) -> Schedule:
        """The schedule an HTML form posted. Fields (only those of the chosen kind are read):

        kind          now | once | recurring
        at_date       once: local date, 2026-08-19 or 19/08/2026
        at_time       once: local time, 08:00, 8:00, 8h or 8h30
        times         recurring: one or more such times, "08:00, 17:30"
        weekday       recurring: repeated, mon..sun; none means every day
        window_from   recurring, with window_to: "07-01" is month-day (ISO-like),
        window_to       "1/7" or "01/07" is day/month as Vietnamese write it (1 July)
        first_date    recurring, optional: like at_date
        last_date     recurring, optional: like at_date
        timezone      optional, Asia/Ho_Chi_Minh when empty

        Values are NFKC-normalised (full-width digits and colons become ASCII) and stripped.
        `fields` may be a multidict (aiohttp's `await request.post()`): every "weekday"
        value is read; a plain mapping may give them in one value, "mon, wed".
        """

        def value(name: str) -> str:
            return _clean(str(fields.get(name) or ""))

        kind = value("kind").lower()
        timezone = value("timezone") or DEFAULT_TIMEZONE
        if kind == ScheduleKind.NOW:
            return cls.now()
        if kind == ScheduleKind.ONCE:
            day = _form_date(value("at_date"), "at_date")
            if day is None:
                raise ScheduleError("at_date", "give the date to send")
            if not value("at_time"):
                raise ScheduleError("at_time", "give the time to send")
            clock = _form_clock(value("at_time"), "at_time")
            return cls.once_local(day, clock, timezone)
        if kind != ScheduleKind.RECURRING:
            raise ScheduleError("kind", f"{kind!r} is not one of now, once, recurring")
        times = [
            _form_clock(item, "times")
            for item in _FORM_LIST_SEPARATOR.split(value("times"))
            if item
        ]
        if not times:
            raise ScheduleError("times", "give at least one time of day, like 08:00")
        window_from = _form_month_day(value("window_from"), "window_from")
        window_to = _form_month_day(value("window_to"), "window_to")
        if (window_from is None) != (window_to is None):
            missing = "window_to" if window_to is None else "window_from"
            raise ScheduleError(missing, "give both ends of the yearly window, or neither")
        window = None
        if window_from is not None and window_to is not None:
            window = YearlyWindow(window_from, window_to)
        return cls.recurring(
            times,
            weekdays=[_weekday(name, "weekday") for name in _form_weekdays(fields)],
            window=window,
            first_date=_form_date(value("first_date"), "first_date"),
            last_date=_form_date(value("last_date"), "last_date"),
            timezone=timezone,
        )

    # -- text -------------------------------------------------------------------------------

    def _window_ends(self) -> tuple[MonthDay, MonthDay]:
        assert self.window is not None
        return self.window.start, self.window.end

    def describe(self, lang: Literal["vi", "en"] = "vi") -> str:
        """The schedule in words for staff, in Vietnamese or English:
        "Hằng năm từ 01/07 đến 19/08, thứ Hai lúc 08:00" /
        "Every year 1 Jul – 19 Aug, Mondays at 08:00"."""
        if lang not in ("vi", "en"):
            raise ValueError(f"lang {lang!r} is not vi or en")

        def _(message: str, **params: str) -> str:
            translated = gettext(lang, message)
            return translated.format(**params) if params else translated

        if self.kind is ScheduleKind.NOW:
            return _("Send now")
        zone_note = "" if self.timezone == DEFAULT_TIMEZONE else f" ({self.timezone})"
        if self.kind is ScheduleKind.ONCE:
            assert self.at is not None
            local = self.at.astimezone(self.zone)
            clock = local.strftime("%H:%M")
            day = format_date(local.date(), lang)
            return _("At {clock} on {date}", clock=clock, date=day) + zone_note
        clocks = [clock.strftime("%H:%M") for clock in self.times]
        days = _join([_(_WEEKDAY_NAMES[d]) for d in self.weekdays], _) or _("every day")
        text = _("{days} at {times}", days=days, times=_join(clocks, _))
        if self.window:
            start, end = (
                format_date_as(date(_LEAP_YEAR, d.month, d.day), lang, _MONTH_DAY)
                for d in self._window_ends()
            )
            text = _("Every year {start} – {end}, {rest}", start=start, end=end, rest=text)
        if self.first_date and self.last_date:
            first, last = format_date(self.first_date, lang), format_date(self.last_date, lang)
            text += ", " + _("from {first} to {last}", first=first, last=last)
        elif self.first_date:
            text += ", " + _("from {first}", first=format_date(self.first_date, lang))
        elif self.last_date:
            text += ", " + _("until {last}", last=format_date(self.last_date, lang))
        return text[0].upper() + text[1:] + zone_note


#: The value each field has when a kind does not use it.
_UNSET: dict[str, object] = {
    "at": None,
    "times": (),
    "weekdays": (),
    "window": None,
    "first_date": None,
    "last_date": None,
    "timezone": DEFAULT_TIMEZONE,
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("timezone", f"{name!r} is not a known time zone") from None


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError(name, f"{moment} has no time zone; give an aware datetime")
    return moment.astimezone(UTC)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `clock` on `day` in `zone`: the first of two when clocks
    go back, the first instant after the gap when clocks skip it."""
    wall = datetime.combine(day, clock, tzinfo=zone)  # fold=0: the first of two
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # Skipped: fold=0 read `wall` with the offset before the change, an instant after it;
    # fold=1 with the offset after, an instant before it. Bisect for the change.
    before = int(wall.replace(fold=1).astimezone(UTC).timestamp())
    after = int(instant.timestamp())
    old_offset = datetime.fromtimestamp(before, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == old_offset:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _weekday(name: object, field: str) -> int:
    if isinstance(name, str) and name.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(name.strip().lower())
    raise ScheduleError(field, f"{name!r} is not one of {', '.join(WEEKDAYS)}")


def _checked_date(year: int, month: int, day: int, text: str, field: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError(field, f"{text!r} is not a date") from None


def _checked_month_day(month: int, day: int, text: str, field: str) -> MonthDay:
    try:
        return MonthDay(month, day)
    except ValueError:
        raise ScheduleError(field, f"{text!r} is not a day of the year") from None


def _checked_clock(hour: int, minute: int, text: str, field: str) -> time:
    if hour > 23 or minute > 59:
        raise ScheduleError(field, f"{text!r} is not a time of day")
    return time(hour, minute)


def _json_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ScheduleError(field, f"{value!r} is not a string")
    return value


def _json_list(value: object, field: str) -> list[object]:
    if not isinstance(value, list):
        raise ScheduleError(field, f"{value!r} is not a list")
    return value


def _json_clock(value: object) -> time:
    match = _JSON_CLOCK.match(_json_str(value, "times"))
    if not match:
        raise ScheduleError("times", f"{value!r} is not a time like 08:00")
    return _checked_clock(int(match[1]), int(match[2]), match[0], "times")


def _json_date(value: object, field: str) -> date | None:
    if value is None:
        return None
    match = _JSON_DATE.match(_json_str(value, field))
    if not match:
        raise ScheduleError(field, f"{value!r} is not a date like 2026-07-01")
    return _checked_date(int(match[1]), int(match[2]), int(match[3]), match[0], field)


def _json_month_day(value: object, field: str) -> MonthDay:
    match = _JSON_MONTH_DAY.match(_json_str(value, field))
    if not match:
        raise ScheduleError(field, f"{value!r} is not a month-day like 07-01")
    return _checked_month_day(int(match[1]), int(match[2]), match[0], field)


def _json_window(value: object) -> YearlyWindow | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"from", "to"}:
        raise ScheduleError("window", f"{value!r} is not null or {{'from': .., 'to': ..}}")
    return YearlyWindow(
        _json_month_day(value["from"], "window.from"), _json_month_day(value["to"], "window.to")
    )


def _json_instant(value: object) -> datetime:
    text = _json_str(value, "at")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError("at", f"{text!r} is not an ISO date and time") from None
    if at.tzinfo is None:
        raise ScheduleError("at", f"{text!r} has no UTC offset")
    return at


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _form_weekdays(fields: Mapping[str, str]) -> list[str]:
    getall = getattr(fields, "getall", None)
    values: Sequence[str] = getall("weekday", []) if getall else [fields.get("weekday") or ""]
    names: list[str] = []
    for raw in values:
        names.extend(name for name in _FORM_LIST_SEPARATOR.split(_clean(str(raw))) if name)
    return names


def _form_clock(text: str, field: str) -> time:
    match = _FORM_CLOCK.match(text)
    if not match:
        raise ScheduleError(field, f"{text!r} is not a time like 08:00")
    return _checked_clock(int(match[1]), int(match[2] or match[3] or 0), text, field)


def _form_date(text: str, field: str) -> date | None:
    if not text:
        return None
    if match := _FORM_ISO_DATE.match(text):
        return _checked_date(int(match[1]), int(match[2]), int(match[3]), text, field)
    if match := _FORM_VI_DATE.match(text):
        return _checked_date(int(match[3]), int(match[2]), int(match[1]), text, field)
    raise ScheduleError(field, f"{text!r} is not a date like 2026-07-01 or 01/07/2026")


def _form_month_day(text: str, field: str) -> MonthDay | None:
    if not text:
        return None
    if match := _FORM_MONTH_DAY.match(text):
        return _checked_month_day(int(match[1]), int(match[2]), text, field)
    if match := _FORM_DAY_MONTH.match(text):
        return _checked_month_day(int(match[2]), int(match[1]), text, field)
    raise ScheduleError(field, f"{text!r} is not a day like 1/7 (day/month) or 07-01")


def _join(items: Sequence[str], _: Callable[..., str]) -> str:
    """A list as a sentence says it ("a, b and c"), `_` translating the "and"."""
    if len(items) <= 1:
        return "".join(items)
    return _("{items} and {last}", items=", ".join(items[:-1]), last=items[-1])
