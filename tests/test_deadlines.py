"""Complaint deadlines on the PRC holiday calendar: 民法典 arts. 201 and 203, with 调休 make-up working days.

Each hand-computed case shows its counting: day 1 is the day after the start (art. 201), the nominal last
day is start + N, and a last day that is a holiday or rest day moves to the next working day (art. 203).
"""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from holidays import country_holidays
from hypothesis import given
from hypothesis import strategies as st

from svcpolicy.calendar import HolidayCalendar, YearFileError, package_known_years
from svcpolicy.errors import CalendarNotCovered

CALENDAR = HolidayCalendar.official()
FIRST, LAST = CALENDAR.known_years

# A made-up schedule for 2027, only to exercise the file format: NOT the State Council's 2027 notice.
FICTIONAL_2027 = """\
year: 2027
source: test fixture, a fictional schedule (not the real 2027 notice)
days_off: [2027-01-01, 2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
working_days: [2027-02-13]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- Which years are known -------------------------------------------------------------------------------


def test_the_known_years_are_those_whose_official_notice_the_installed_package_carries() -> None:
    assert CALENDAR.known_years == package_known_years()
    assert FIRST == 2001  # python-holidays transcribes every notice from 2001 on
    assert LAST >= 2026


def test_a_year_the_package_only_extrapolates_is_refused_rather_than_guessed() -> None:
    # python-holidays happily computes festivals for the next year, but without its 调休 swaps.
    assert country_holidays("CN", years=LAST + 1)
    with pytest.raises(CalendarNotCovered) as caught:
        CALENDAR.is_working_day(date(LAST + 1, 2, 10))
    assert (caught.value.year, caught.value.known) == (LAST + 1, (FIRST, LAST))


def test_a_year_before_the_first_notice_is_refused() -> None:
    with pytest.raises(CalendarNotCovered, match="2000"):
        CALENDAR.is_working_day(date(2000, 6, 1))


def test_the_description_names_the_package_version_and_the_years() -> None:
    assert CALENDAR.describe().startswith("PRC holiday calendar (python-holidays ")
    assert CALENDAR.describe().endswith(f"): {FIRST}–{LAST}")


# --- 2026 days as the State Council notice sets them -----------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday, 调休 for the Spring Festival
        (date(2026, 2, 15), False),  # Sunday, first day of the Spring Festival break
        (date(2026, 2, 23), False),  # Monday, last day off (substituted from 02-28)
        (date(2026, 2, 24), True),  # Tuesday, back to work
        (date(2026, 2, 28), True),  # Saturday, 调休
        (date(2026, 9, 20), True),  # Sunday, 调休 for National Day
        (date(2026, 9, 25), False),  # Friday, Mid-Autumn Festival
        (date(2026, 9, 26), False),  # Saturday, ordinary rest day after it
        (date(2026, 9, 27), False),  # Sunday, ordinary rest day
        (date(2026, 10, 7), False),  # Wednesday, last day of National Day
        (date(2026, 10, 10), True),  # Saturday, 调休
        (date(2026, 3, 14), False),  # ordinary Saturday
    ],
)
def test_working_days_in_2026_follow_the_official_notice(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


# --- Hand-computed deadlines -----------------------------------------------------------------------------


def test_a_deadline_ending_in_the_spring_festival_moves_to_the_first_working_day_after() -> None:
    # Received 2026-02-01 (Sun); day 1 = 02-02 … day 15 = 02-16 (Mon, 除夕, off).
    # 02-16…02-20 off, 02-21/22 weekend, 02-23 off (substituted from 02-28) → 02-24 (Tue).
    assert CALENDAR.calendar_deadline(date(2026, 2, 1), 15) == date(2026, 2, 24)


def test_a_deadline_ending_in_national_day_week_moves_to_the_day_after_it() -> None:
    # Received 2026-09-01; day 1 = 09-02 … day 30 = 10-01 (Thu, 国庆). 10-01…10-07 off → 10-08 (Thu).
    assert CALENDAR.calendar_deadline(date(2026, 9, 1), 30) == date(2026, 10, 8)


def test_a_deadline_on_the_mid_autumn_festival_skips_the_weekend_after_it() -> None:
    # Received 2026-09-10; day 15 = 09-25 (Fri, 中秋节); 09-26/27 ordinary weekend → 09-28 (Mon).
    assert CALENDAR.calendar_deadline(date(2026, 9, 10), 15) == date(2026, 9, 28)


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        # Received 2026-01-30; day 1 = 01-31 … day 15 = 02-14: a 调休 Saturday, so it stands.
        (date(2026, 1, 30), 15, date(2026, 2, 14)),
        # Received 2026-01-29; day 30 = 02-28: the second Spring Festival 调休 Saturday.
        (date(2026, 1, 29), 30, date(2026, 2, 28)),
        # Received 2026-09-25; day 15 = 10-10: the National Day 调休 Saturday.
        (date(2026, 9, 25), 15, date(2026, 10, 10)),
        # Received 2026-08-21; day 30 = 09-20: the National Day 调休 Sunday.
        (date(2026, 8, 21), 30, date(2026, 9, 20)),
        # Received 2026-02-13; day 1 = 02-14, already a working Saturday.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
    ],
)
def test_a_deadline_landing_on_a_make_up_working_weekend_day_stays(start: date, days: int, deadline: date) -> None:
    assert CALENDAR.calendar_deadline(start, days) == deadline


def test_a_deadline_landing_on_an_ordinary_saturday_moves_to_monday() -> None:
    # Received 2026-02-27; day 15 = 03-14 (Sat, no 调休); 03-15 Sun → 03-16 (Mon).
    assert CALENDAR.calendar_deadline(date(2026, 2, 27), 15) == date(2026, 3, 16)


@pytest.mark.parametrize(
    ("days", "deadline"),
    [
        # Received 2026-08-02 (Sun).
        (15, date(2026, 8, 17)),  # day 15 = 08-17 (Mon), a working day
        (30, date(2026, 9, 1)),  # day 30 = 09-01 (Tue), a working day
        (60, date(2026, 10, 8)),  # day 60 = 10-01 (国庆) → after 10-01…10-07 off → 10-08
    ],
)
def test_the_15_30_and_60_day_complaint_periods_count_from_the_day_after_receipt(days: int, deadline: date) -> None:
    assert CALENDAR.calendar_deadline(date(2026, 8, 2), days) == deadline


def test_a_60_day_period_ending_on_labour_day_moves_past_the_may_break() -> None:
    # Received 2026-03-02; day 60 = 05-01 (Fri, 劳动节); 05-01…05-05 off → 05-06 (Wed).
    assert CALENDAR.calendar_deadline(date(2026, 3, 2), 60) == date(2026, 5, 6)


def test_a_deadline_on_new_years_day_can_end_on_a_make_up_working_sunday() -> None:
    # Received 2025-12-02; day 30 = 2026-01-01 (Thu, 元旦); 01-02 off (substituted from 01-04),
    # 01-03 Sat rest → 01-04 (Sun), a 调休 working day.
    assert CALENDAR.calendar_deadline(date(2025, 12, 2), 30) == date(2026, 1, 4)


def test_a_roll_over_may_cross_into_the_next_known_year() -> None:
    # Received 2023-12-01; day 29 = 12-30 (Sat); 12-31 Sun; 2024-01-01 元旦 → 2024-01-02 (Tue).
    assert CALENDAR.calendar_deadline(date(2023, 12, 1), 29) == date(2024, 1, 2)


def test_a_deadline_in_a_year_without_a_known_schedule_is_undetermined() -> None:
    # Received Dec 20 of the last known year; day 15 = Jan 4 of the next year, whose schedule is unknown.
    with pytest.raises(CalendarNotCovered) as caught:
        CALENDAR.calendar_deadline(date(LAST, 12, 20), 15)
    assert caught.value.year == LAST + 1


def test_a_period_of_no_days_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        CALENDAR.calendar_deadline(date(2026, 3, 2), 0)


def test_a_datetime_is_refused_because_its_calendar_day_depends_on_the_time_zone() -> None:
    with pytest.raises(TypeError, match="China local time"):
        CALENDAR.calendar_deadline(datetime(2026, 3, 2, 23, 30), 15)


def test_the_calendar_cannot_be_changed_after_it_is_built() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CALENDAR.known_years = (2001, 2099)  # type: ignore[misc]


# --- Supplementary year files ----------------------------------------------------------------------------


def test_a_supplementary_year_file_makes_the_next_year_known(tmp_path: Path) -> None:
    calendar = HolidayCalendar.official([write(tmp_path, "cn-2027.yaml", FICTIONAL_2027)])
    assert calendar.known_years == (FIRST, max(LAST, 2027))
    # Received 2026-12-20; day 15 = 2027-01-04 (Mon), not a day off in the file.
    assert calendar.calendar_deadline(date(2026, 12, 20), 15) == date(2027, 1, 4)
    # Received 2027-01-21; day 15 = 02-05 (off); 02-06/07 weekend; 02-08…02-11 off → 02-12 (Fri).
    assert calendar.calendar_deadline(date(2027, 1, 21), 15) == date(2027, 2, 12)
    # Received 2027-01-29; day 15 = 02-13, the file's make-up working Saturday.
    assert calendar.calendar_deadline(date(2027, 1, 29), 15) == date(2027, 2, 13)
    assert "2027 from cn-2027.yaml" in calendar.describe()


def test_a_roll_over_out_of_the_last_supplementary_year_is_undetermined(tmp_path: Path) -> None:
    year = LAST + 1
    text = f"year: {year}\nsource: test fixture\ndays_off: [{year}-12-31]\nworking_days: []\n"
    calendar = HolidayCalendar.official([write(tmp_path, "next.yaml", text)])
    # Received Dec 1; day 30 = Dec 31, a day off in the file → Jan 1 of a year nobody has published.
    with pytest.raises(CalendarNotCovered) as caught:
        calendar.calendar_deadline(date(year, 12, 1), 30)
    assert caught.value.year == year + 1


def test_a_year_file_replaces_the_packages_schedule_for_that_year(tmp_path: Path) -> None:
    text = "year: 2026\nsource: test fixture\ndays_off: [2026-01-01]\nworking_days: []\n"
    calendar = HolidayCalendar.official([write(tmp_path, "cn-2026.yaml", text)])
    assert calendar.is_working_day(date(2026, 2, 16))  # no Spring Festival in this file
    assert not calendar.is_working_day(date(2026, 2, 14))  # nor its 调休 Saturday
    assert not calendar.is_working_day(date(2025, 10, 1))  # other years still come from the package


def test_a_notice_may_swap_a_weekend_day_of_the_previous_december(tmp_path: Path) -> None:
    text = "year: 2027\nsource: test fixture\ndays_off: [2027-01-01]\nworking_days: [2026-12-27]\n"
    calendar = HolidayCalendar.official([write(tmp_path, "cn-2027.yaml", text)])
    assert calendar.is_working_day(date(2026, 12, 27))  # a Sunday made a working day


# --- Malformed year files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year: 2027\nsource: [unclosed\n", r"bad\.yaml:3:1: not valid YAML"),
        ("- 2027-01-01\n", r"bad\.yaml:1: file: Input should be a valid dictionary"),
        ("year: 2027\nsource: x\ndays_off: [2027-01-01]\n", r"bad\.yaml:1: working_days: Field required"),
        (
            "year: 2027\nsource: x\ndays_off: [2027-01-01, 2027-02-30]\nworking_days: []\n",
            r"bad\.yaml:3: days_off\[1\]: day is out of range for month",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2027/01/01]\nworking_days: []\n",
            r"bad\.yaml:3: days_off\[0\]: expected a date written YYYY-MM-DD, got '2027/01/01'",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2027-01-01]\nworking_days: [2027-02-10]\n",
            r"bad\.yaml:4: working_days: not a Saturday or Sunday: 2027-02-10",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2027-01-01, 2027-02-13]\nworking_days: [2027-02-13]\n",
            r"bad\.yaml:4: working_days: also listed in days_off: 2027-02-13",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2028-01-01]\nworking_days: []\n",
            r"bad\.yaml:3: days_off: not in 2027 \(nor December 2026\): 2028-01-01",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2027-01-01, 2027-01-01]\nworking_days: []\n",
            r"bad\.yaml:3: days_off: listed more than once: 2027-01-01",
        ),
        (
            "year: 2027\nsource: x\ndays_off: [2027-01-01]\ndays_off: []\nworking_days: []\n",
            r"bad\.yaml:4:1: not valid YAML: key 'days_off' appears twice",
        ),
        (
            "year: 2027\nsource: ' '\ndays_off: []\nworking_days: []\nextra: 1\n",
            r"3 problems in holiday year file:\n  line 2: source: .*\n"
            r"  line 3: days_off: a notice gives at least one day off\n  line 5: extra: ",
        ),
    ],
)
def test_a_malformed_year_file_is_reported_with_its_file_name_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(YearFileError, match=expected):
        HolidayCalendar.official([write(tmp_path, "bad.yaml", text)])


def test_a_missing_year_file_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(YearFileError, match=r"absent\.yaml: cannot read holiday year file"):
        HolidayCalendar.official([tmp_path / "absent.yaml"])


def test_two_files_for_the_same_year_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", FICTIONAL_2027)
    second = write(tmp_path, "b.yaml", FICTIONAL_2027)
    with pytest.raises(YearFileError, match=r"b\.yaml: year 2027 is also given by .*a\.yaml"):
        HolidayCalendar.official([first, second])


def test_a_year_file_that_leaves_a_gap_is_refused(tmp_path: Path) -> None:
    year = LAST + 2
    text = f"year: {year}\nsource: x\ndays_off: [{year}-01-01]\nworking_days: []\n"
    with pytest.raises(YearFileError, match=rf"year {year} does not join .* schedule for {LAST + 1} is needed"):
        HolidayCalendar.official([write(tmp_path, "gap.yaml", text)])


def test_files_that_disagree_about_a_day_are_refused(tmp_path: Path) -> None:
    off = write(tmp_path, "cn-2026.yaml", "year: 2026\nsource: x\ndays_off: [2026-12-27]\nworking_days: []\n")
    on = write(
        tmp_path,
        "cn-2027.yaml",
        "year: 2027\nsource: x\ndays_off: [2027-01-01]\nworking_days: [2026-12-27]\n",
    )
    with pytest.raises(YearFileError, match=r"both a day off and a working day .*: 2026-12-27"):
        HolidayCalendar.official([off, on])


# --- Properties over every known year --------------------------------------------------------------------

starts = st.dates(min_value=date(FIRST, 1, 1), max_value=date(LAST, 9, 30))  # + 60 days + roll-over stays known
periods = st.integers(min_value=1, max_value=60)


@given(starts, periods)
def test_a_deadline_is_the_first_working_day_on_or_after_the_nominal_last_day(start: date, days: int) -> None:
    deadline = CALENDAR.calendar_deadline(start, days)
    nominal = start + timedelta(days=days)
    assert deadline >= nominal
    assert CALENDAR.is_working_day(deadline)
    skipped = (nominal + timedelta(days=i) for i in range((deadline - nominal).days))
    assert not any(CALENDAR.is_working_day(day) for day in skipped)


@given(starts, periods, periods)
def test_a_longer_period_never_ends_earlier(start: date, a: int, b: int) -> None:
    shorter, longer = sorted((a, b))
    assert CALENDAR.calendar_deadline(start, shorter) <= CALENDAR.calendar_deadline(start, longer)


@given(starts, starts, periods)
def test_a_later_start_never_ends_earlier(a: date, b: date, days: int) -> None:
    earlier, later = sorted((a, b))
    assert CALENDAR.calendar_deadline(earlier, days) <= CALENDAR.calendar_deadline(later, days)


# --- Deadlines that run into a year whose schedule is not known --------------------------------------------


def test_a_deadline_in_an_unknown_year_lies_between_start_plus_n_and_that_plus_the_longest_rest_run() -> None:
    from svcpolicy.calendar import LONGEST_REST_RUN

    bounds = CALENDAR.deadline_bounds(date(LAST, 12, 20), 15)
    assert bounds.earliest == date(LAST + 1, 1, 4)
    assert bounds.latest == date(LAST + 1, 1, 4) + timedelta(days=LONGEST_REST_RUN)
    assert isinstance(bounds.unknown, CalendarNotCovered)


def test_a_deadline_within_known_years_has_exact_bounds() -> None:
    bounds = CALENDAR.deadline_bounds(date(2026, 9, 16), 15)
    assert bounds.earliest == bounds.latest == date(2026, 10, 8)
    assert bounds.unknown is None


def test_an_unknown_year_leaves_a_deadline_undetermined_only_between_its_bounds() -> None:
    bounds = CALENDAR.deadline_bounds(date(2026, 12, 20), 15)
    assert bounds.passed_on(date(2026, 12, 28)) is False  # decided before any 2027 day counts
    assert bounds.passed_on(date(2027, 3, 1)) is True  # overdue whatever the 2027 schedule says
    with pytest.raises(CalendarNotCovered):
        bounds.passed_on(date(2027, 1, 6))


def test_the_longest_rest_run_allowed_for_is_twice_any_run_the_official_schedules_have_given() -> None:
    from svcpolicy.calendar import LONGEST_REST_RUN

    longest = run = 0
    day = date(FIRST, 1, 1)
    while day.year <= LAST:
        run = 0 if CALENDAR.is_working_day(day) else run + 1
        longest = max(longest, run)
        day += timedelta(days=1)
    assert 2 * longest <= LONGEST_REST_RUN


@given(
    st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(1, 90), st.dates(date(2026, 1, 1), date(2027, 6, 30))
)
def test_whenever_the_bounds_decide_they_agree_with_any_schedule_the_unknown_year_could_have(
    start: date, days: int, judged: date
) -> None:
    bounds = CALENDAR.deadline_bounds(start, days)
    try:
        passed = bounds.passed_on(judged)
    except CalendarNotCovered:
        assert bounds.earliest < judged <= bounds.latest
        return
    # Two extreme schedules for the unknown year: every day from the first unknown one is a working day, or the
    # longest run of rest days starts there. The true deadline lies between; the verdict holds for both.
    assert passed == (judged > bounds.earliest) == (judged > bounds.latest)
