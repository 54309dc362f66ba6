"""Rates for auditors: every judged record is tallied per branch, employee and month, so ``by()`` and the Excel
workbook can say how many records were checked and what share had violations, not only how many findings."""

from __future__ import annotations

import pickle
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import svcpolicy
from auditing import RECORDS, audit, record
from svcpolicy.results.findings import Outcome
from svcpolicy.results.tallies import TALLY_KEYS, KeyTally

QUIET = record("R08", "SH-003", "E4", "C100008", "2026-10-01T09:00:00+08:00")
"""A compliant record in a branch, by an employee and in a month that have no finding at all."""


@pytest.fixture
def report(tmp_path: Path) -> svcpolicy.Report:
    return audit(tmp_path, [*RECORDS, QUIET])


def table(frame: pd.DataFrame, *columns: str) -> dict[str, list[float]]:
    """Rows of a by() frame as {label: [values]}, NaN labels as "nan" and rates rounded."""
    return {
        str(label): [round(float(row[c]), 3) for c in columns]
        for label, row in frame[list(columns)].to_dict("index").items()
    }


def test_every_judged_record_is_tallied_per_branch_employee_and_month_and_invalid_ones_are_not(
    report: svcpolicy.Report,
) -> None:
    tally = report.counts.per_key
    assert tally.checked("branch_id") == {"SH-001": 3, "SH-002": 2, None: 1, "SH-003": 1}
    assert tally.with_violations("branch_id") == {"SH-001": 2, "SH-002": 2, None: 0, "SH-003": 0}
    assert tally.checked("employee.id") == {"E1": 3, "E2": 2, "E3": 1, "E4": 1}
    assert tally.checked("month") == {"2026-09": 2, "2026-11": 4, "2026-10": 1}
    assert sum(tally.checked("branch_id").values()) == report.counts.records - report.counts.invalid
    with pytest.raises(KeyError, match="channel"):
        tally.checked("channel")


def test_tallies_merge_by_adding_and_survive_pickling_to_a_worker() -> None:
    first, second = KeyTally(), KeyTally()
    first.add(
        {"branch_id": "B1", "employee": {"id": "E1"}, "started_at": "2026-11-30T23:30:00+08:00"}, Outcome.VIOLATION
    )
    second.add({"branch_id": "B1"}, Outcome.COMPLIANT)
    second.add({"branch_id": "B2", "employee": {"id": "E1"}}, Outcome.UNDETERMINED)
    total = first + second
    assert total.checked("branch_id") == {"B1": 2, "B2": 1}
    assert total.with_violations("branch_id") == {"B1": 1, "B2": 0}
    assert total.checked("employee.id") == {"E1": 2, None: 1}
    assert total.checked("month") == {"2026-11": 1, None: 2}  # the record's own local time: still November
    first.merge(second)
    assert first == total and pickle.loads(pickle.dumps(total)) == total  # noqa: S301 - our own bytes
    assert set(total.by_key) == set(TALLY_KEYS)


def test_parallel_evaluation_tallies_the_same_records_as_one_process(tmp_path: Path) -> None:
    audit(tmp_path, [*RECORDS, QUIET])  # writes the pack and the records
    policy = svcpolicy.load_policy(tmp_path / "pack")
    twice = [tmp_path / "records.jsonl", tmp_path / "records.jsonl"]  # the second file's ids repeat: invalid
    single = policy.evaluate(twice)
    parallel = policy.evaluate(twice, jobs=2)
    assert parallel.counts.per_key == single.counts.per_key and parallel.counts == single.counts


def test_by_branch_gives_records_checked_with_violations_and_the_rate_including_quiet_branches(
    report: svcpolicy.Report,
) -> None:
    frame = report.by("branch_id")
    assert list(frame.columns[-3:]) == ["checked", "with_violations", "violation_rate"]
    assert table(frame, "violations", "checked", "with_violations", "violation_rate") == {
        "SH-002": [4, 2, 2, 1.0],
        "SH-001": [2, 3, 2, 0.667],
        "nan": [0, 1, 0, 0.0],
        "SH-003": [0, 1, 0, 0.0],  # no finding, still a row: its records were checked
    }


def test_by_employee_and_by_month_give_rates_and_other_keys_do_not(report: svcpolicy.Report) -> None:
    assert table(report.by("employee.id"), "checked", "with_violations", "violation_rate") == {
        "E2": [2, 2, 1.0],
        "E1": [3, 2, 0.667],
        "E3": [1, 0, 0.0],
        "E4": [1, 0, 0.0],
    }
    assert table(report.by("month"), "violations", "checked", "violation_rate") == {
        "2026-11": [5, 4, 0.75],
        "2026-09": [1, 2, 0.5],
        "2026-10": [0, 1, 0.0],
    }
    assert "checked" not in report.by("rule").columns
    assert "checked" not in report.by("branch_id", "employee.id").columns


def test_an_excel_workbook_has_findings_per_article_and_per_branch_sheets_with_rates(
    report: svcpolicy.Report, tmp_path: Path
) -> None:
    path = report.to_excel(tmp_path / "audit.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["findings", "per article", "per branch"]

    findings = list(book["findings"].iter_rows(values_only=True))
    assert findings[0][:4] == ("rule", "title", "severity", "outcome")
    assert len(findings) - 1 == len(report.findings)
    header = list(findings[0])
    started = {row[header.index("record_id")]: row[header.index("started_at")] for row in findings[1:]}
    assert str(started["R04"]) == "2026-11-05 23:30:00"  # wall clock of the report's zone, not UTC

    articles = {row[0]: row for row in book["per article"].iter_rows(min_row=2, values_only=True)}
    assert set(articles) == {"svc-rules/16", "svc-rules/9"}

    sheet = book["per branch"]
    branch_header = [cell.value for cell in sheet[1]]
    branches = {
        row[0]: dict(zip(branch_header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert branches["SH-001"]["checked"] == 3 and branches["SH-001"]["with_violations"] == 2
    assert branches["SH-003"]["violations"] == 0 and branches["SH-003"]["violation_rate"] == 0
    rate_column = branch_header.index("violation_rate") + 1
    assert sheet.cell(row=2, column=rate_column).number_format == "0.0%"
