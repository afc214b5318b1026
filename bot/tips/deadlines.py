"""Working time for tip deadlines: "first response within 8 working hours" counted in the
offices' hours, on working days, in their time zone.

Working periods are wall-clock times in the office's zone (07:30 is 07:30 in winter and in
summer); the time counted is the real time that passes inside them. Days off are the weekdays
not worked, the country's public holidays (the maintained `holidays` package, including the
days off granted in exchange for a worked Saturday, and that Saturday as a working day
for offices that work Monday to Friday), and any extra dates given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["WorkingTime"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A run of this many days without working time means the settings leave none at all.
MAX_DAYS_WITHOUT_WORK = 400
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY = timedelta(days=1)
#: Saturdays worked in exchange for a day off are for offices on the public work week.
_MONDAY_TO_FRIDAY = frozenset(range(5))


def _seconds_of(clock: str, part: str) -> int:
    match = _CLOCK.match(clock.strip())
    if not match:
        raise ValueError(f"working period {part!r}: {clock.strip()!r} is not a time like 07:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"working period {part!r}: {clock.strip()!r} is not a time of day")
    return hour * 3600 + minute * 60


def _parse_periods(text: str) -> tuple[tuple[int, int], ...]:
    """ "07:30-11:30,13:30-17:00" as (start, end) seconds after midnight, in order."""
    periods: list[tuple[int, int]] = []
    for raw in text.split(","):
        part = raw.strip()
        if part.count("-") != 1:
            raise ValueError(f"working period {part!r} is not like 07:30-11:30")
        start, end = (_seconds_of(clock, part) for clock in part.split("-"))
        if start >= end:
            raise ValueError(f"working period {part!r} ends before it starts")
        if periods and start < periods[-1][1]:
            raise ValueError(
                f"working period {part!r} starts before the one before it ends "
                "(give the periods of a day in order, without overlaps)"
            )
        periods.append((start, end))
    return tuple(periods)


def _parse_weekdays(text: str) -> frozenset[int]:
    """ "mon-fri", "mon,tue,thu", "mon-wed,sat" as weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for raw in text.lower().split(","):
        part = raw.strip()
        ends = [end.strip() for end in part.split("-")]
        if len(ends) > 2 or not all(end in WEEKDAYS for end in ends):
            raise ValueError(
                f"working days {part!r}: use mon, tue, wed, thu, fri, sat, sun, "
                "alone or as a range like mon-fri"
            )
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def _parse_days_off(days_off: str | Collection[date]) -> frozenset[date]:
    if not isinstance(days_off, str):
        return frozenset(days_off)
    found = set()
    for raw in days_off.split(","):
        part = raw.strip()
        if not part:
            continue
        try:
            found.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"day off {part!r} is not a date like 2025-01-27") from None
    return frozenset(found)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant} is naive: give an aware datetime (UTC)")
    return instant.astimezone(UTC)


@cache
def _public_days(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, weekend days worked instead) of `country` in `year`."""
    calendar = holidays.country_holidays(country, years=year)
    off = frozenset(day for day in calendar if day.year == year)
    worked = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return off, worked


@dataclass(frozen=True)
class WorkingTime:
    """Office hours: zone, daily periods, working weekdays, public holidays, extra days off.

    Built from the text of settings; a part that cannot be understood raises ValueError
    naming it.
    """

    timezone: str = "Asia/Ho_Chi_Minh"
    #: Periods of a working day, wall-clock, in order: "07:30-11:30,13:30-17:00".
    periods: str = "07:30-11:30,13:30-17:00"
    #: "mon-fri", "mon-sat", "mon,tue,wed,thu,fri"…
    weekdays: str = "mon-fri"
    #: ISO country code for public holidays ("VN"); empty for none.
    country: str = "VN"
    #: More days off: dates, or text "2025-01-02,2025-01-03".
    days_off: str | Collection[date] = field(default="", compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _periods: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _weekdays: frozenset[int] = field(init=False, repr=False, compare=False)
    _days_off: frozenset[date] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time zone {self.timezone!r} is not known") from None
        if self.country and self.country not in holidays.list_supported_countries():
            raise ValueError(
                f"country {self.country!r} has no public holiday calendar "
                "(an ISO code like VN, or empty for none)"
            )
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_periods", _parse_periods(self.periods))
        object.__setattr__(self, "_weekdays", _parse_weekdays(self.weekdays))
        object.__setattr__(self, "_days_off", _parse_days_off(self.days_off))

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a date in the office's zone) has working hours."""
        if day in self._days_off:
            return False
        if self.country:
            off, worked = _public_days(self.country, day.year)
            if day in off:
                return False
            if day in worked and self._weekdays >= _MONDAY_TO_FRIDAY:
                return True
        return day.weekday() in self._weekdays

    def _intervals_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals (UTC) of `day` and every day after it, in order."""
        idle = 0
        while True:
            if self.is_working_day(day):
                idle = 0
                midnight = datetime.combine(day, time(), tzinfo=self._zone)
                for start, end in self._periods:
                    yield self._instant(midnight, start), self._instant(midnight, end)
            else:
                idle += 1
                if idle > MAX_DAYS_WITHOUT_WORK:
                    raise ValueError(
                        f"no working day in the {MAX_DAYS_WITHOUT_WORK} days up to {day}: "
                        "the working days and days off leave none"
                    )
            day += _DAY

    @staticmethod
    def _instant(midnight: datetime, seconds: int) -> datetime:
        # Wall-clock arithmetic (tzinfo kept, no conversion), then the real instant.
        return (midnight + timedelta(seconds=seconds)).astimezone(UTC)

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The first instant (UTC) by which `hours` of working time have passed after `start`.
        A start outside working time counts from the next working period."""
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a non-negative number, not {hours!r}")
        cursor = _utc(start)
        left = timedelta(hours=hours)
        if not left:
            return cursor
        for begin, end in self._intervals_from(self._local_day(cursor)):
            if end <= cursor:
                continue
            begin = max(begin, cursor)
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: the intervals never end")  # pragma: no cover

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from `a` to `b` (negative when `b` is before `a`)."""
        a, b = _utc(a), _utc(b)
        if b < a:
            return -self.working_hours_between(b, a)
        total = timedelta()
        for begin, end in self._intervals_from(self._local_day(a)):
            if begin >= b:
                break
            if end > a:
                total += min(end, b) - max(begin, a)
        return total / timedelta(hours=1)
