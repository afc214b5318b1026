"""Working-time deadlines: office hours in the office's zone, weekends, lunch, Tết and the
other public holidays, and wall-clock hours across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.tips.deadlines import WorkingTime

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = WorkingTime()  # 07:30-11:30, 13:30-17:00, Monday to Friday, Vietnam's holidays


def vn(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A wall-clock time in Vietnam, as the UTC instant the functions take and give."""
    return datetime(year, month, day, hour, minute, second, tzinfo=VN).astimezone(UTC)


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


# (submitted, working hours, due), all Vietnam wall-clock.
DEADLINES = [
    # within the morning
    (vn(2025, 3, 4, 8, 0), 2, vn(2025, 3, 4, 10, 0)),
    # the lunch break does not count
    (vn(2025, 3, 4, 10, 30), 2, vn(2025, 3, 4, 14, 30)),
    (vn(2025, 3, 4, 12, 15), 1, vn(2025, 3, 4, 14, 30)),
    # before opening counts from 07:30
    (vn(2025, 3, 4, 5, 0), 4, vn(2025, 3, 4, 11, 30)),
    # a full day of 7.5 hours ends at closing, not the next morning
    (vn(2025, 3, 4, 7, 30), 7.5, vn(2025, 3, 4, 17, 0)),
    (vn(2025, 3, 4, 7, 30), 8, vn(2025, 3, 5, 8, 0)),
    # Friday afternoon -> Monday (8 hours, the default)
    (vn(2025, 3, 7, 15, 0), 8, vn(2025, 3, 10, 15, 30)),
    # Saturday evening -> Monday (urgent: 4 hours)
    (vn(2025, 3, 8, 21, 0), 4, vn(2025, 3, 10, 11, 30)),
    # across a month: Friday 31 October -> Monday 3 November
    (vn(2025, 10, 31, 16, 30), 1, vn(2025, 11, 3, 8, 0)),
    # across a year: 31 December, then New Year's Day off
    (vn(2025, 12, 31, 16, 0), 2, vn(2026, 1, 2, 8, 30)),
    # Tết 2025: from 29 Tết (Monday 27 January) to Saturday 1 February, back on 3 February
    (vn(2025, 1, 24, 16, 0), 8, vn(2025, 2, 3, 16, 30)),  # the Friday before
    (vn(2025, 1, 28, 20, 0), 7.5, vn(2025, 2, 3, 17, 0)),  # on Tết eve (giao thừa)
    (vn(2025, 1, 28, 20, 0), 8, vn(2025, 2, 4, 8, 0)),  # 8 hours: a day (7.5) and a bit
    (vn(2025, 1, 28, 20, 0), 4, vn(2025, 2, 3, 11, 30)),  # urgent, on Tết eve
    # 30/4 and 1/5 2025, with Friday 2 May off in exchange for working Saturday 26 April
    (vn(2025, 4, 25, 16, 0), 4, vn(2025, 4, 26, 10, 30)),
    (vn(2025, 4, 29, 16, 0), 2, vn(2025, 5, 5, 8, 30)),
    # Hùng Kings' day 2026 falls on a Sunday: Monday 27 April is off instead
    (vn(2026, 4, 24, 17, 0), 1, vn(2026, 4, 28, 8, 30)),
    # precise to the second
    (vn(2025, 3, 4, 8, 0), 1 + 1 / 3600, vn(2025, 3, 4, 9, 0, 1)),
    (vn(2025, 3, 4, 8, 0, 17), 0.5, vn(2025, 3, 4, 8, 30, 17)),
    # nothing to wait for: the submission itself, even outside working time
    (vn(2025, 3, 8, 21, 0), 0, vn(2025, 3, 8, 21, 0)),
]


@pytest.mark.parametrize(("start", "hours", "due"), DEADLINES)
def test_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    result = OFFICE.add_working_hours(start, hours)
    assert result == due
    assert result.tzinfo is UTC


@pytest.mark.parametrize(("start", "hours", "due"), DEADLINES)
def test_working_hours_between_is_the_inverse(start: datetime, hours: float, due: datetime) -> None:
    assert OFFICE.working_hours_between(start, due) == pytest.approx(hours, abs=1e-9)


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        (vn(2025, 1, 1, 0, 0), 0.25),
        (vn(2025, 1, 20, 9, 45, 13), 37.3),
        (vn(2025, 4, 3, 11, 29, 59), 8),
        (vn(2025, 8, 29, 16, 59), 4),
        (vn(2025, 12, 24, 12, 0), 100),
        (vn(2026, 2, 13, 13, 0), 15.5),
        (vn(2024, 2, 7, 7, 0), 1000),
    ],
)
def test_the_way_back_gives_the_same_hours(start: datetime, hours: float) -> None:
    due = OFFICE.add_working_hours(start, hours)
    assert OFFICE.working_hours_between(start, due) == pytest.approx(hours, abs=1e-9)
    # and the deadline is the first such instant: a second earlier is not enough
    assert OFFICE.working_hours_between(start, due - timedelta(seconds=1)) < hours


def test_tet_and_other_public_holidays_are_days_off() -> None:
    tet_2025 = [date(2025, 1, 27) + timedelta(days=i) for i in range(6)]  # 29 Tết to mùng 4
    assert not any(OFFICE.is_working_day(d) for d in tet_2025)
    assert OFFICE.is_working_day(date(2025, 2, 3))
    assert not OFFICE.is_working_day(date(2025, 9, 2))  # Quốc khánh
    assert not OFFICE.is_working_day(date(2025, 5, 2))  # the day off given in exchange…
    assert OFFICE.is_working_day(date(2025, 4, 26))  # …for working this Saturday
    assert not OFFICE.is_working_day(date(2025, 4, 19))  # an ordinary Saturday
    assert WorkingTime(country="").is_working_day(date(2025, 9, 2))


def test_extra_days_off_as_text_or_dates() -> None:
    as_text = WorkingTime(days_off="2025-03-05, 2025-03-06")
    as_dates = WorkingTime(days_off=frozenset({date(2025, 3, 5), date(2025, 3, 6)}))
    for office in (as_text, as_dates):
        assert office.add_working_hours(vn(2025, 3, 4, 16, 0), 2) == vn(2025, 3, 7, 8, 30)


def test_weekdays_and_periods_are_configurable() -> None:
    saturdays = WorkingTime(weekdays="mon-sat")
    assert saturdays.add_working_hours(vn(2025, 3, 7, 15, 0), 8) == vn(2025, 3, 8, 15, 30)
    listed = WorkingTime(weekdays="mon,tue, WED,thu,fri", periods="08:00-12:00")
    assert listed.add_working_hours(vn(2025, 3, 7, 11, 0), 2) == vn(2025, 3, 10, 9, 0)
    around_the_clock = WorkingTime(weekdays="mon-sun", periods="00:00-24:00", country="")
    assert around_the_clock.add_working_hours(vn(2025, 3, 7, 15, 0), 48) == vn(2025, 3, 9, 15, 0)
    weekend_shift = WorkingTime(weekdays="sat-mon", country="")  # a range may wrap
    assert [weekend_shift.is_working_day(date(2025, 3, d)) for d in range(8, 12)] == [
        True,  # Saturday
        True,
        True,  # Monday
        False,
    ]


# Berlin: summer time began on Sunday 30 March 2025 and ended on Sunday 26 October 2025.
GERMAN_OFFICE = WorkingTime(timezone="Europe/Berlin", periods="09:00-17:00", country="DE")


def test_office_hours_stay_wall_clock_across_daylight_saving_changes() -> None:
    # Friday 16:00 CET + 2 h = Monday 10:00 CEST: 08:00 UTC (not 09:00 UTC, as a fixed offset
    # would say)
    spring = GERMAN_OFFICE.add_working_hours(berlin(2025, 3, 28, 16, 0), 2)
    assert spring == berlin(2025, 3, 31, 10, 0) == datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    autumn = GERMAN_OFFICE.add_working_hours(berlin(2025, 10, 24, 16, 0), 2)
    assert autumn == berlin(2025, 10, 27, 10, 0) == datetime(2025, 10, 27, 9, 0, tzinfo=UTC)
    # Friday 09:00 to Monday 09:00 is one working day, though 71 hours pass (72 in autumn)
    assert GERMAN_OFFICE.working_hours_between(
        berlin(2025, 3, 28, 9, 0), berlin(2025, 3, 31, 9, 0)
    ) == pytest.approx(8.0)
    assert GERMAN_OFFICE.working_hours_between(
        berlin(2025, 10, 24, 9, 0), berlin(2025, 10, 27, 9, 0)
    ) == pytest.approx(8.0)
    # Easter Monday is a German holiday, not a Vietnamese one
    assert not GERMAN_OFFICE.is_working_day(date(2025, 4, 21))
    assert OFFICE.is_working_day(date(2025, 4, 21))


def test_a_period_across_the_change_counts_the_hours_that_really_pass() -> None:
    always = WorkingTime(
        timezone="Europe/Berlin", weekdays="mon-sun", periods="00:00-24:00", country=""
    )
    saturday, monday = berlin(2025, 3, 29, 0, 0), berlin(2025, 3, 31, 0, 0)
    assert always.working_hours_between(saturday, monday) == pytest.approx(47.0)
    assert always.add_working_hours(saturday, 47) == monday


def test_negative_spans_and_naive_times() -> None:
    a, b = vn(2025, 3, 4, 8, 0), vn(2025, 3, 4, 10, 0)
    assert OFFICE.working_hours_between(b, a) == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.add_working_hours(datetime(2025, 3, 4, 8, 0), 1)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.working_hours_between(a, datetime(2025, 3, 4, 8, 0))
    with pytest.raises(ValueError, match="non-negative"):
        OFFICE.add_working_hours(a, -1)
    with pytest.raises(ValueError, match="non-negative"):
        OFFICE.add_working_hours(a, float("nan"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"periods": "07:30-11:30,13:30-1700"}, "'13:30-1700'"),
        ({"periods": "7h30-11h30"}, "'7h30-11h30'"),
        ({"periods": "11:30-07:30"}, "'11:30-07:30' ends before it starts"),
        ({"periods": "07:30-11:30,11:00-12:00"}, "'11:00-12:00' starts before"),
        ({"periods": "07:30-25:00"}, "'25:00' is not a time of day"),
        ({"periods": "07:60-11:00"}, "'07:60'"),
        ({"periods": ""}, "'' is not like 07:30-11:30"),
        ({"weekdays": "mon-fry"}, "'mon-fry'"),
        ({"weekdays": "mon,,fri"}, "working days ''"),
        ({"weekdays": "thứ hai-thứ sáu"}, "'thứ hai-thứ sáu'"),
        ({"timezone": "Asia/Hanoi"}, "'Asia/Hanoi' is not known"),
        ({"timezone": "../etc/passwd"}, "is not known"),
        ({"country": "XX"}, "country 'XX'"),
        ({"days_off": "2025-01-27,27/01/2025"}, "'27/01/2025'"),
    ],
)
def test_settings_that_cannot_be_understood_are_named(
    settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as caught:
        WorkingTime(**settings)
    assert message in str(caught.value)


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    nothing = WorkingTime(
        weekdays="sun", days_off=[date(2025, 3, 9) + timedelta(weeks=i) for i in range(60)]
    )
    with pytest.raises(ValueError, match="no working day"):
        nothing.add_working_hours(vn(2025, 3, 4, 8, 0), 1)


def test_tips_are_due_in_working_hours_and_urgent_ones_in_clock_hours() -> None:
    from bot.settings import Settings
    from bot.tips.actions import first_response_due

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # Friday 16:00 in Quy Nhơn (09:00 UTC): one hour left that day, seven on Monday
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    # Monday: 07:30-11:30 (4 h), then 13:30-16:30 (3 h): 16:30 local is 09:30 UTC
    assert first_response_due(friday, False, settings) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert first_response_due(friday, True, settings) == friday + timedelta(hours=4)
