"""The calendar functions answer as a fresh computation would while computing each answer once per run: a
record's date in the pack's own offset is read without a conversion, ``month()`` texts and deadline bounds
are kept, per calendar for the bounds."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcpolicy.calendar import deadline_bounds
from svcpolicy.errors import CalendarNotCovered
from svcpolicy.expr import Env, Undetermined
from svcpolicy.expr.functions import FUNCTIONS

CST = dt.timezone(dt.timedelta(hours=8))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
instants = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30), timezones=offsets)


class CountingCalendar:
    """Working days are weekdays, except those in ``days_off``; 2000–2030 known. Counts the days it is asked."""

    def __init__(self, days_off: frozenset[dt.date] = frozenset()) -> None:
        self.days_off = days_off
        self.asked = 0

    def calendar_deadline(self, start: dt.date, days: int) -> dt.date:
        raise NotImplementedError  # not what these tests ask

    def is_working_day(self, day: dt.date) -> bool:
        self.asked += 1
        if not 2000 <= day.year <= 2030:
            raise CalendarNotCovered(day.year, (2000, 2030))
        return day.weekday() < 5 and day not in self.days_off


def env_with(calendar: CountingCalendar, tz: dt.tzinfo = CST) -> Env:
    return Env({}, params={}, as_of=None, tz=tz, calendar=calendar)


def call(name: str, env: Env, *args: object) -> object:
    try:
        return FUNCTIONS[name].impl(env, *args)
    except Undetermined as exc:
        return ("undetermined", exc.reason)


@SETTINGS
@given(instants, st.sampled_from([CST, dt.UTC, dt.timezone(dt.timedelta(hours=-5))]))
def test_month_and_date_are_those_of_the_instant_in_the_packs_zone(instant: dt.datetime, tz: dt.timezone) -> None:
    env = env_with(CountingCalendar(), tz)
    local = instant.astimezone(tz)
    assert FUNCTIONS["month"].impl(env, instant) == local.strftime("%Y-%m")
    assert FUNCTIONS["date"].impl(env, instant) == local.date()
    assert FUNCTIONS["month"].impl(env, local.date()) == local.strftime("%Y-%m")


def test_a_datetime_without_offset_stays_undetermined_in_the_packs_zone() -> None:
    env = env_with(CountingCalendar())
    assert call("month", env, dt.datetime(2026, 3, 1, 10)) == (
        "undetermined",
        "month() expects a datetime with an offset, got datetime without offset datetime.datetime(2026, 3, 1, 10, 0)",
    )


@SETTINGS
@given(
    instants,
    st.integers(min_value=1, max_value=60),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2031, 12, 31)),
    st.frozensets(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)), max_size=40),
)
def test_deadline_answers_are_those_of_a_fresh_calendar_walk(
    start: dt.datetime, days: int, judged: dt.date, days_off: frozenset[dt.date]
) -> None:
    calendar = CountingCalendar(days_off)
    env = env_with(calendar)
    first_day = start.astimezone(CST).date()
    bounds = deadline_bounds(calendar, first_day, days)
    try:
        expected: object = bounds.passed_on(judged)
    except CalendarNotCovered as exc:
        expected = ("undetermined", str(exc))
    for _ in range(2):
        assert call("deadline_passed", env, start, days, judged) == expected
        assert call("latest_deadline", env, start, days) == bounds.latest


def test_a_period_asked_again_does_not_walk_the_calendar_again() -> None:
    calendar = CountingCalendar()
    env = env_with(calendar)
    start = dt.datetime(2026, 9, 25, 9, 30, tzinfo=CST)
    assert FUNCTIONS["deadline_passed"].impl(env, start, 15, dt.date(2026, 10, 20)) is True
    walked = calendar.asked
    assert walked > 0
    later_same_day = dt.datetime(2026, 9, 25, 17, 0, tzinfo=CST)
    assert FUNCTIONS["deadline_passed"].impl(env, later_same_day, 15, dt.date(2026, 10, 9)) is False
    assert FUNCTIONS["latest_deadline"].impl(env, start, 15) == dt.date(2026, 10, 12)
    assert calendar.asked == walked


def test_each_calendar_answers_for_itself() -> None:
    weekdays = CountingCalendar()
    golden_week = CountingCalendar(frozenset(dt.date(2026, 10, day) for day in range(1, 9)))
    start = dt.datetime(2026, 9, 16, 9, 0, tzinfo=CST)
    assert FUNCTIONS["latest_deadline"].impl(env_with(weekdays), start, 15) == dt.date(2026, 10, 1)
    assert FUNCTIONS["latest_deadline"].impl(env_with(golden_week), start, 15) == dt.date(2026, 10, 9)
