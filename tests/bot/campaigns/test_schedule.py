"""Campaign schedules: recurring rules fire at the right UTC instants across month and year
boundaries, yearly windows (wrapping the new year, 29 February), bounds, daylight saving;
forms, JSON and the words staff read."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from multidict import MultiDict

from bot.campaigns.schedule import MonthDay, Schedule, ScheduleError, YearlyWindow

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
MON, TUE, WED, FRI, SUN = 0, 1, 2, 4, 6
EIGHT = time(8, 0)
#: The yearly lead-up to the "Ngày hội toàn dân bảo vệ an ninh Tổ quốc" (19 August).
LEAD_UP = YearlyWindow(MonthDay(7, 1), MonthDay(8, 19))
LEAD_UP_MONDAYS = Schedule.recurring([EIGHT], weekdays=[MON], window=LEAD_UP)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Vietnam, as the UTC instant the schedule takes and gives."""
    return datetime(year, month, day, hour, minute, tzinfo=VN).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def every_day(*clocks: time, **rule: Any) -> Schedule:
    return Schedule.recurring(clocks or [EIGHT], **rule)


# -- now and once ---------------------------------------------------------------------------


def test_now_has_no_instants_the_caller_sends_at_once() -> None:
    schedule = Schedule.now()
    assert schedule.immediate
    assert schedule.next_after(utc(2026, 1, 1)) is None
    assert schedule.occurrences(utc(2026, 1, 1), utc(2027, 1, 1)) == []


def test_once_in_the_future_and_in_the_past() -> None:
    schedule = Schedule.once_local(date(2026, 8, 19), EIGHT)
    assert schedule.at == utc(2026, 8, 19, 1, 0) and schedule.at.tzinfo is UTC
    assert schedule.next_after(utc(2026, 8, 1)) == utc(2026, 8, 19, 1, 0)
    assert schedule.next_after(utc(2026, 8, 19, 1, 0)) is None  # strictly after
    assert schedule.next_after(utc(2026, 9, 1)) is None
    assert schedule.occurrences(utc(2026, 8, 19, 1, 0), utc(2026, 8, 20)) == [schedule.at]
    assert schedule.occurrences(utc(2026, 8, 20), utc(2026, 9, 1)) == []


def test_once_takes_any_aware_instant_and_keeps_it_in_utc() -> None:
    schedule = Schedule.once(datetime(2026, 8, 19, 8, 0, tzinfo=VN))
    assert schedule.at == utc(2026, 8, 19, 1, 0) and schedule.at.tzinfo is UTC


# -- recurring ------------------------------------------------------------------------------


def test_mondays_of_the_lead_up_in_2026() -> None:
    assert LEAD_UP_MONDAYS.occurrences(utc(2026, 1, 1), utc(2027, 1, 1)) == [
        utc(2026, 7, 6, 1, 0),
        utc(2026, 7, 13, 1, 0),
        utc(2026, 7, 20, 1, 0),
        utc(2026, 7, 27, 1, 0),
        utc(2026, 8, 3, 1, 0),
        utc(2026, 8, 10, 1, 0),
        utc(2026, 8, 17, 1, 0),
    ]


def test_after_the_window_closes_the_next_send_is_next_years_first_monday() -> None:
    assert LEAD_UP_MONDAYS.next_after(vn(2026, 8, 17, 8, 0)) == utc(2027, 7, 5, 1, 0)
    assert LEAD_UP_MONDAYS.next_after(vn(2026, 1, 1)) == utc(2026, 7, 6, 1, 0)


def test_a_preview_of_the_next_sends() -> None:
    preview = LEAD_UP_MONDAYS.occurrences(vn(2026, 8, 1), vn(2030, 1, 1), limit=5)
    assert preview == [
        utc(2026, 8, 3, 1, 0),
        utc(2026, 8, 10, 1, 0),
        utc(2026, 8, 17, 1, 0),
        utc(2027, 7, 5, 1, 0),
        utc(2027, 7, 12, 1, 0),
    ]
    assert LEAD_UP_MONDAYS.occurrences(vn(2026, 8, 1), vn(2030, 1, 1), limit=0) == []
    assert LEAD_UP_MONDAYS.occurrences(vn(2026, 8, 4), vn(2026, 8, 3)) == []


def test_month_boundary() -> None:
    assert every_day().next_after(vn(2026, 1, 31, 9, 0)) == vn(2026, 2, 1, 8, 0)
    assert every_day().next_after(vn(2026, 2, 28, 8, 0)) == vn(2026, 3, 1, 8, 0)
    fridays = Schedule.recurring([EIGHT], weekdays=[FRI])
    assert fridays.next_after(vn(2026, 1, 30, 8, 0)) == vn(2026, 2, 6, 8, 0)


def test_year_boundary_local_new_year_is_still_the_old_year_in_utc() -> None:
    quarter_past_midnight = every_day(time(0, 15))
    following = quarter_past_midnight.next_after(vn(2026, 12, 31, 23, 30))
    assert following == vn(2027, 1, 1, 0, 15) == utc(2026, 12, 31, 17, 15)
    january = every_day(time(0, 15), window=YearlyWindow(MonthDay(1, 1), MonthDay(1, 31)))
    assert january.next_after(vn(2026, 1, 31, 0, 15)) == utc(2026, 12, 31, 17, 15)


def test_window_wrapping_the_new_year() -> None:
    tet_season = every_day(window=YearlyWindow(MonthDay(12, 15), MonthDay(1, 15)))
    assert tet_season.occurrences(vn(2026, 1, 14), vn(2026, 12, 17)) == [
        vn(2026, 1, 14, 8, 0),
        vn(2026, 1, 15, 8, 0),
        vn(2026, 12, 15, 8, 0),
        vn(2026, 12, 16, 8, 0),
    ]
    assert tet_season.next_after(vn(2026, 1, 15, 8, 0)) == vn(2026, 12, 15, 8, 0)
    assert tet_season.next_after(vn(2026, 12, 31, 8, 0)) == vn(2027, 1, 1, 8, 0)


def test_window_ending_on_29_february_ends_on_the_28th_in_other_years() -> None:
    february = every_day(window=YearlyWindow(MonthDay(2, 1), MonthDay(2, 29)))
    assert february.next_after(vn(2027, 2, 28, 8, 0)) == vn(2028, 2, 1, 8, 0)
    assert february.next_after(vn(2028, 2, 28, 8, 0)) == vn(2028, 2, 29, 8, 0)
    assert february.next_after(vn(2028, 2, 29, 8, 0)) == vn(2029, 2, 1, 8, 0)


def test_window_starting_on_29_february_starts_on_1_march_in_other_years() -> None:
    spring = every_day(window=YearlyWindow(MonthDay(2, 29), MonthDay(3, 5)))
    assert spring.next_after(vn(2027, 1, 1)) == vn(2027, 3, 1, 8, 0)
    assert spring.next_after(vn(2028, 1, 1)) == vn(2028, 2, 29, 8, 0)


def test_a_window_of_only_29_february_fires_in_leap_years() -> None:
    leap_day = every_day(window=YearlyWindow(MonthDay(2, 29), MonthDay(2, 29)))
    assert leap_day.occurrences(vn(2026, 1, 1), vn(2033, 1, 1)) == [
        vn(2028, 2, 29, 8, 0),
        vn(2032, 2, 29, 8, 0),
    ]
    # a 29 February that is a Monday: 2044, then 2072; the search is bounded, not endless
    on_monday = Schedule.recurring([EIGHT], weekdays=[MON], window=leap_day.window)
    assert on_monday.next_after(vn(2026, 1, 1)) == vn(2044, 2, 29, 8, 0)
    assert on_monday.next_after(vn(2044, 3, 1)) == vn(2072, 2, 29, 8, 0)


def test_first_and_last_date_bound_the_rule() -> None:
    season = every_day(first_date=date(2026, 7, 1), last_date=date(2026, 8, 19))
    assert season.next_after(vn(2025, 1, 1)) == vn(2026, 7, 1, 8, 0)
    assert season.next_after(vn(2026, 8, 19, 7, 59)) == vn(2026, 8, 19, 8, 0)
    assert season.next_after(vn(2026, 8, 19, 8, 0)) is None
    assert len(season.occurrences(vn(2020, 1, 1), vn(2030, 1, 1))) == 50
    with_window = Schedule.recurring(
        [EIGHT], weekdays=[MON], window=LEAD_UP, last_date=date(2027, 7, 31)
    )
    assert with_window.occurrences(vn(2027, 1, 1), vn(2028, 1, 1))[-1] == vn(2027, 7, 26, 8, 0)
    assert with_window.next_after(vn(2027, 7, 26, 8, 0)) is None


def test_several_times_a_day_in_order_whatever_order_they_were_given() -> None:
    thrice = every_day(time(17, 30), EIGHT, time(12, 0))
    assert thrice.times == (EIGHT, time(12, 0), time(17, 30))
    assert thrice.occurrences(vn(2026, 3, 1), vn(2026, 3, 3)) == [
        vn(2026, 3, 1, 8, 0),
        vn(2026, 3, 1, 12, 0),
        vn(2026, 3, 1, 17, 30),
        vn(2026, 3, 2, 8, 0),
        vn(2026, 3, 2, 12, 0),
        vn(2026, 3, 2, 17, 30),
    ]
    assert thrice.next_after(vn(2026, 3, 1, 8, 0)) == vn(2026, 3, 1, 12, 0)
    assert thrice.next_after(vn(2026, 3, 1, 17, 30)) == vn(2026, 3, 2, 8, 0)


def test_every_day_and_all_seven_weekdays_are_the_same_rule() -> None:
    week = every_day().occurrences(vn(2026, 3, 2), vn(2026, 3, 9))
    assert week == [vn(2026, 3, day, 8, 0) for day in range(2, 9)]
    assert Schedule.recurring([EIGHT], weekdays=range(7)) == every_day()


def test_strictly_after_an_occurrence_gives_the_next() -> None:
    assert LEAD_UP_MONDAYS.next_after(utc(2026, 7, 6, 1, 0)) == utc(2026, 7, 13, 1, 0)
    assert LEAD_UP_MONDAYS.next_after(utc(2026, 7, 6, 0, 59)) == utc(2026, 7, 6, 1, 0)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 7, 6, 8, 0)
    with pytest.raises(ValueError, match="moment"):
        LEAD_UP_MONDAYS.next_after(naive)
    with pytest.raises(ValueError, match="start"):
        LEAD_UP_MONDAYS.occurrences(naive, utc(2027, 1, 1))
    with pytest.raises(ValueError, match="end"):
        LEAD_UP_MONDAYS.occurrences(utc(2026, 1, 1), naive)
    with pytest.raises(ValueError, match="at"):
        Schedule.once(naive)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: every_day(first_date=date(2026, 8, 1), last_date=date(2026, 7, 1)), "last_date"),
        # a single Tuesday, but only Mondays
        (
            lambda: Schedule.recurring(
                [EIGHT], weekdays=[MON], first_date=date(2026, 7, 7), last_date=date(2026, 7, 7)
            ),
            "last_date",
        ),
        # the window never meets the dates
        (
            lambda: every_day(
                window=LEAD_UP, first_date=date(2026, 1, 1), last_date=date(2026, 6, 30)
            ),
            "last_date",
        ),
        (lambda: Schedule.recurring([]), "times"),
        (lambda: Schedule.recurring([time(8, 0, 30)]), "times"),
        (lambda: Schedule.recurring([EIGHT], weekdays=[7]), "weekdays"),
        (lambda: every_day(timezone="Mars/Olympus_Mons"), "timezone"),
        (lambda: Schedule(Schedule.now().kind, times=(EIGHT,)), "times"),
        (lambda: Schedule("weekly"), "kind"),  # type: ignore[arg-type]
    ],
)
def test_rules_that_cannot_be_are_refused(build: Any, field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        build()
    assert caught.value.field == field


def test_impossible_month_days_are_refused() -> None:
    with pytest.raises(ValueError, match="02-30"):
        MonthDay(2, 30)
    with pytest.raises(ValueError):
        MonthDay(13, 1)


# -- daylight saving ------------------------------------------------------------------------


def test_berlin_skipped_hour_fires_at_the_first_instant_after_it() -> None:
    half_past_two = every_day(time(2, 30), timezone="Europe/Berlin")
    assert half_past_two.occurrences(utc(2026, 3, 28), utc(2026, 3, 31)) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    # times inside the gap and at its end land on one instant, sent once
    around = every_day(time(2, 0), time(2, 30), time(3, 0), time(3, 30), timezone="Europe/Berlin")
    assert around.occurrences(utc(2026, 3, 29), utc(2026, 3, 29, 12)) == [
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 1, 30),
    ]
    once = Schedule.once_local(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
    assert once.at == utc(2026, 3, 29, 1, 0)


def test_berlin_repeated_hour_fires_once_the_first_time() -> None:
    half_past_two = every_day(time(2, 30), timezone="Europe/Berlin")
    assert half_past_two.occurrences(utc(2026, 10, 24), utc(2026, 10, 27)) == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST, not again at 02:30 CET (01:30Z)
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
    ]
    assert half_past_two.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


# -- forms ----------------------------------------------------------------------------------


def test_form_now_and_once() -> None:
    assert Schedule.from_form({"kind": "now", "at_date": "", "times": ""}) == Schedule.now()
    once = Schedule.from_form({"kind": " once ", "at_date": "19/08/2026", "at_time": "8h"})
    assert once == Schedule.once_local(date(2026, 8, 19), EIGHT)
    iso = Schedule.from_form({"kind": "once", "at_date": "2026-08-19", "at_time": "08:00"})
    assert iso == once


def test_form_recurring_with_vietnamese_day_month_window() -> None:
    fields = MultiDict(
        [
            ("kind", "recurring"),
            ("times", "08:00"),
            ("weekday", "mon"),
            ("window_from", "1/7"),
            ("window_to", "19/08"),
        ]
    )
    assert Schedule.from_form(fields) == LEAD_UP_MONDAYS


def test_form_accepts_month_day_full_width_digits_and_several_values() -> None:
    fields = MultiDict(
        [
            ("kind", "recurring"),
            ("times", "１７：３０,  ０８：００ ; 12h"),  # typed with a full-width keyboard
            ("weekday", "mon"),
            ("weekday", "WED"),
            ("window_from", "07-01"),
            ("window_to", "０８-１９"),
            ("first_date", "01/07/2026"),
            ("last_date", "2027-08-19"),
            ("timezone", ""),
        ]
    )
    assert Schedule.from_form(fields) == Schedule.recurring(
        [EIGHT, time(12, 0), time(17, 30)],
        weekdays=[MON, WED],
        window=LEAD_UP,
        first_date=date(2026, 7, 1),
        last_date=date(2027, 8, 19),
    )
    plain = {"kind": "recurring", "times": "8h30", "weekday": "mon, wed"}
    assert Schedule.from_form(plain).weekdays == (MON, WED)
    assert Schedule.from_form(plain).times == (time(8, 30),)


GOOD_ONCE = {"kind": "once", "at_date": "2026-08-19", "at_time": "08:00"}
GOOD_RECURRING = {"kind": "recurring", "times": "08:00", "weekday": "mon"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "weekly"}, "kind"),
        ({}, "kind"),
        (GOOD_ONCE | {"at_date": ""}, "at_date"),
        (GOOD_ONCE | {"at_date": "2026-02-30"}, "at_date"),
        (GOOD_ONCE | {"at_date": "mai"}, "at_date"),
        (GOOD_ONCE | {"at_time": ""}, "at_time"),
        (GOOD_ONCE | {"at_time": "25:00"}, "at_time"),
        (GOOD_ONCE | {"at_time": "8:61"}, "at_time"),
        (GOOD_ONCE | {"timezone": "Asia/Sai_Gon"}, "timezone"),
        (GOOD_RECURRING | {"times": ""}, "times"),
        (GOOD_RECURRING | {"times": "08:00, 24:00"}, "times"),
        (GOOD_RECURRING | {"times": "8 giờ"}, "times"),
        (GOOD_RECURRING | {"weekday": "t2"}, "weekday"),
        (GOOD_RECURRING | {"window_from": "13-01", "window_to": "08-19"}, "window_from"),
        (GOOD_RECURRING | {"window_from": "30/02", "window_to": "08-19"}, "window_from"),
        (GOOD_RECURRING | {"window_from": "1/7", "window_to": "19.8"}, "window_to"),
        (GOOD_RECURRING | {"window_from": "1/7"}, "window_to"),
        (GOOD_RECURRING | {"window_to": "19/8"}, "window_from"),
        (GOOD_RECURRING | {"first_date": "31/02/2026"}, "first_date"),
        (GOOD_RECURRING | {"last_date": "2026-13-01"}, "last_date"),
        (GOOD_RECURRING | {"first_date": "2026-08-19", "last_date": "2026-07-01"}, "last_date"),
    ],
)
def test_form_errors_name_the_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.from_form(fields)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


# -- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "stored"),
    [
        (Schedule.now(), {"kind": "now"}),
        (
            Schedule.once_local(date(2026, 8, 19), EIGHT),
            {"kind": "once", "at": "2026-08-19T01:00:00Z", "timezone": "Asia/Ho_Chi_Minh"},
        ),
        (
            LEAD_UP_MONDAYS,
            {
                "kind": "recurring",
                "times": ["08:00"],
                "weekdays": ["mon"],
                "window": {"from": "07-01", "to": "08-19"},
                "first_date": None,
                "last_date": None,
                "timezone": "Asia/Ho_Chi_Minh",
            },
        ),
        (
            every_day(
                time(17, 30),
                EIGHT,
                weekdays=[SUN, TUE],
                first_date=date(2026, 1, 1),
                last_date=date(2026, 12, 31),
                timezone="Europe/Berlin",
            ),
            {
                "kind": "recurring",
                "times": ["08:00", "17:30"],
                "weekdays": ["tue", "sun"],
                "window": None,
                "first_date": "2026-01-01",
                "last_date": "2026-12-31",
                "timezone": "Europe/Berlin",
            },
        ),
    ],
)
def test_json_round_trip(schedule: Schedule, stored: dict[str, Any]) -> None:
    assert schedule.to_json() == stored
    assert Schedule.from_json(json.loads(json.dumps(schedule.to_json()))) == schedule


def test_json_optional_fields_of_a_recurring_rule_may_be_left_out() -> None:
    assert Schedule.from_json({"kind": "recurring", "times": ["08:00"]}) == every_day()


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ([], "schedule"),
        ({"kind": "sometimes"}, "kind"),
        ({"kind": "now", "timezone": "Asia/Ho_Chi_Minh"}, "timezone"),
        ({"kind": "once", "at": "2026-08-19T08:00:00"}, "at"),
        ({"kind": "once", "at": "19/08/2026"}, "at"),
        ({"kind": "once"}, "at"),
        ({"kind": "recurring"}, "times"),
        ({"kind": "recurring", "times": "08:00"}, "times"),
        ({"kind": "recurring", "times": ["8:00"]}, "times"),
        ({"kind": "recurring", "times": ["08:00"], "weekdays": ["monday"]}, "weekdays"),
        ({"kind": "recurring", "times": ["08:00"], "window": {"from": "07-01"}}, "window"),
        (
            {"kind": "recurring", "times": ["08:00"], "window": {"from": "02-30", "to": "03-01"}},
            "window.from",
        ),
        ({"kind": "recurring", "times": ["08:00"], "first_date": "01/07/2026"}, "first_date"),
        ({"kind": "recurring", "times": ["08:00"], "every": "week"}, "every"),
    ],
)
def test_json_errors_name_the_field(stored: Any, field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.from_json(stored)
    assert caught.value.field == field


# -- words ----------------------------------------------------------------------------------


def test_describe_in_vietnamese_and_english() -> None:
    assert LEAD_UP_MONDAYS.describe("vi") == "Hằng năm từ 01/07 đến 19/08, thứ Hai lúc 08:00"
    assert LEAD_UP_MONDAYS.describe("en") == "Every year 1 Jul – 19 Aug, Mondays at 08:00"
    assert Schedule.now().describe("vi") == "Gửi ngay"
    assert Schedule.now().describe("en") == "Send now"
    once = Schedule.once_local(date(2026, 8, 19), EIGHT)
    assert once.describe("vi") == "Lúc 08:00 ngày 19/08/2026"
    assert once.describe("en") == "At 08:00 on 19 Aug 2026"

    weekends = Schedule.recurring(
        [EIGHT, time(17, 30)], weekdays=[SUN, 5], last_date=date(2026, 12, 31)
    )
    assert weekends.describe("vi") == "Thứ Bảy và Chủ nhật lúc 08:00 và 17:30, đến ngày 31/12/2026"
    assert weekends.describe("en") == "Saturdays and Sundays at 08:00 and 17:30, until 31 Dec 2026"
    berlin = every_day(first_date=date(2026, 7, 1), timezone="Europe/Berlin")
    assert berlin.describe("vi") == "Hằng ngày lúc 08:00, từ ngày 01/07/2026 (Europe/Berlin)"
    assert berlin.describe("en") == "Every day at 08:00, from 1 Jul 2026 (Europe/Berlin)"
    with pytest.raises(ValueError, match="fr"):
        berlin.describe("fr")  # type: ignore[arg-type]
