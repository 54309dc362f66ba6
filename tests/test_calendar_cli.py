"""Holiday year files on the command line and in [tool.svcpolicy], and `svcpolicy calendar` (issue 11).

The 2027 schedule below is made up, only to exercise the plumbing: it is NOT the State Council's 2027 notice.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from svcpolicy.calendar import package_known_years
from svcpolicy.cli import main

LAST = package_known_years()[1]
FICTIONAL_2027 = """\
year: 2027
source: test fixture, a fictional schedule (not the real 2027 notice)
days_off: [2027-01-01, 2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
working_days: [2027-02-13]
"""
# Received 2026-12-20: day 15 is 2027-01-04, a Monday the fictional schedule leaves a working day.
LATE_COMPLAINT = {
    "id": "R1",
    "complaint": {
        "id": "CMP-9",
        "received_at": "2026-12-20T10:00:00+08:00",
        "logged_ref": "T9",
        "extensions": [],
        "decided_at": "2027-01-06T10:00:00+08:00",
        "withdrawn_at": None,
    },
}
RULE = "CMP-015-decision-overdue"

needs_2027_unknown = pytest.mark.skipif(LAST >= 2027, reason="the installed python-holidays already knows 2027")


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _complaint_outcomes(capsys: pytest.CaptureFixture[str], records: Path, *flags: str) -> list[str]:
    code = main(
        ["check", str(records), "--format", "json", "--as-of", "2027-02-01T00:00:00+08:00", "--no-progress", *flags]
    )
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return [f["outcome"] for f in json.loads(out)["findings"] if f["rule"] == RULE]


@needs_2027_unknown
def test_a_2027_year_file_given_with_holidays_decides_a_january_2027_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    year_file = _write(tmp_path, "cn-2027.yaml", FICTIONAL_2027)
    assert _complaint_outcomes(capsys, records, "--no-config") == ["undetermined"]
    assert _complaint_outcomes(capsys, records, "--no-config", "--holidays", str(year_file)) == ["violation"]


@needs_2027_unknown
def test_holidays_in_tool_svcpolicy_are_read_relative_to_the_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "calendars").mkdir()
    _write(tmp_path / "calendars", "cn-2027.yaml", FICTIONAL_2027)
    _write(tmp_path, "pyproject.toml", '[tool.svcpolicy]\nholidays = ["calendars/cn-2027.yaml"]\n')
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _complaint_outcomes(capsys, records) == ["violation"]


def test_a_broken_year_file_is_a_usage_error_at_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _write(tmp_path, "records.jsonl", json.dumps(LATE_COMPLAINT) + "\n")
    broken = _write(tmp_path, "bad.yaml", "year: 2027\nsource: x\ndays_off: [2027-01-01]\nworking_days: [2027-02-10]\n")
    code = main(["check", str(records), "--no-config", "--no-progress", "--holidays", str(broken)])
    assert code == 2
    assert f"{broken}:4: working_days: not a Saturday or Sunday: 2027-02-10" in capsys.readouterr().err


def test_calendar_lists_the_official_years_and_each_year_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, last = package_known_years()
    text = FICTIONAL_2027.replace("2027", str(last + 1)).replace(f"{last + 1}-02-13", _a_saturday(last + 1))
    year_file = _write(tmp_path, "next.yaml", text)
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


def _a_saturday(year: int) -> str:
    """The first Saturday of February: a day a fixture may list as a make-up working day."""
    day = dt.date(year, 2, 1)
    return (day + dt.timedelta(days=(5 - day.weekday()) % 7)).isoformat()
