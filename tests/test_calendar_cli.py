"""Holiday year files on the command line and in [tool.svcpolicy], and `svcpolicy calendar` (issue 11).

The year files below are made up, only to exercise the plumbing: they are NOT State Council notices. They are
for the first year the installed python-holidays does not know, so a newer package moves the tests with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from svcpolicy.calendar import package_known_years
from svcpolicy.cli import main

LAST = package_known_years()[1]
NEXT = LAST + 1  # the first year without a known schedule


def _a_saturday(year: int) -> str:
    """The first Saturday of February: a day a fixture may list as a make-up working day."""
    day = dt.date(year, 2, 1)
    return (day + dt.timedelta(days=(5 - day.weekday()) % 7)).isoformat()


def fictional_schedule(year: int) -> str:
    """A made-up year file: New Year's Day off and one make-up Saturday, nothing else."""
    return (
        f"year: {year}\n"
        f"source: test fixture, a fictional schedule (not the real {year} notice)\n"
        f"days_off: [{year}-01-01]\n"
        f"working_days: [{_a_saturday(year)}]\n"
    )


def _first_weekday_from(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


# Received on December 20 of the last known year: day 15 is January 4 of the next, so under the fictional
# schedule the last day is the first weekday from then; the complaint is decided the day after it. Without the
# schedule that day lies between the bounds (January 4 and 24), so the answer is undetermined.
DUE_UNDER_FICTION = _first_weekday_from(dt.date(NEXT, 1, 4))
LATE_COMPLAINT = {
    "id": "R1",
    "complaint": {
        "id": "CMP-9",
        "received_at": f"{LAST}-12-20T10:00:00+08:00",
        "logged_ref": "T9",
        "extensions": [],
        "decided_at": f"{DUE_UNDER_FICTION + dt.timedelta(days=1)}T10:00:00+08:00",
        "withdrawn_at": None,
    },
}
RULE = "CMP-015-decision-overdue"


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _complaint_outcomes(capsys: pytest.CaptureFixture[str], records: Path, *flags: str) -> list[str]:
    code = main(
        ["check", str(records), "--format", "json", "--as-of", f"{NEXT}-02-01T00:00:00+08:00", "--no-progress", *flags]
    )
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return [f["outcome"] for f in json.loads(out)["findings"] if f["rule"] == RULE]


def test_a_year_file_given_with_holidays_decides_a_deadline_in_the_first_unknown_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    year_file = _write(tmp_path, f"cn-{NEXT}.yaml", fictional_schedule(NEXT))
    assert _complaint_outcomes(capsys, records, "--no-config") == ["undetermined"]
    assert _complaint_outcomes(capsys, records, "--no-config", "--holidays", str(year_file)) == ["violation"]


def test_holidays_in_tool_svcpolicy_are_read_relative_to_the_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "calendars").mkdir()
    _write(tmp_path / "calendars", f"cn-{NEXT}.yaml", fictional_schedule(NEXT))
    _write(tmp_path, "pyproject.toml", f'[tool.svcpolicy]\nholidays = ["calendars/cn-{NEXT}.yaml"]\n')
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _complaint_outcomes(capsys, records) == ["violation"]


def test_a_broken_year_file_is_a_usage_error_at_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    weekday = _first_weekday_from(dt.date(NEXT, 2, 10)).isoformat()
    text = fictional_schedule(NEXT).replace(_a_saturday(NEXT), weekday)
    broken = _write(tmp_path, "bad.yaml", text)
    code = main(["check", str(records), "--no-config", "--no-progress", "--holidays", str(broken)])
    assert code == 2
    assert f"{broken}:4: working_days: not a Saturday or Sunday: {weekday}" in capsys.readouterr().err


def test_calendar_lists_the_official_years_and_each_year_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, last = package_known_years()
    year_file = _write(tmp_path, "next.yaml", fictional_schedule(last + 1))
    code = main(["calendar", "--no-config", "--holidays", str(year_file), "--as-of", f"{last - 1}-06-01"])
    captured = capsys.readouterr()
    assert code == 0
    assert f"known years: {first}–{last + 1}" in captured.out
    assert f"{first}–{last}: official" in captured.out
    assert f"{last + 1}: {year_file}: test fixture" in captured.out
    assert captured.err == ""


@pytest.mark.parametrize(
    ("as_of", "warned"),
    [("10-31", False), ("11-01", True), ("12-31", True)],
)
def test_calendar_warns_within_60_days_of_the_end_of_the_last_known_year(
    as_of: str, warned: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    last = package_known_years()[1]
    assert main(["calendar", "--no-config", "--as-of", f"{last}-{as_of}"]) == 0
    err = capsys.readouterr().err
    assert (f"the last known year {last} ends in" in err) is warned


def test_calendar_past_the_last_known_year_says_later_deadlines_rest_on_bounds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    last = package_known_years()[1]
    assert main(["calendar", "--no-config", "--as-of", f"{last + 1}-01-01T09:00:00+08:00"]) == 0
    err = capsys.readouterr().err
    assert f"past the last known year {last}" in err
    assert "judged from bounds" in err and "undetermined" in err
