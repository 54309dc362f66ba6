"""The rates table of the HTML report: records checked per branch, employee and month, and the share with
violations, from the tally every evaluation keeps (``report.counts.per_key``)."""

from __future__ import annotations

from dataclasses import dataclass

from svcpolicy.reporting.masking import Masker
from svcpolicy.results.report import Report

__all__ = ["RateRow", "RateTable", "rate_tables"]


@dataclass(frozen=True)
class RateRow:
    value: str
    checked: int
    with_violations: int
    rate: float

    @property
    def percent(self) -> str:
        return f"{self.rate:.1%}"


@dataclass(frozen=True)
class RateTable:
    key: str
    caption: str
    heading: str
    rows: tuple[RateRow, ...]


_TABLES = (
    ("branch_id", "rates_branch", "branch", "no_branch"),
    ("employee.id", "rates_employee", "employee", "no_employee"),
    ("month", "rates_month", "month", "no_time"),
)


def rate_tables(report: Report, words: dict[str, str], mask: Masker) -> list[RateTable]:
    """Per branch and employee (highest rate first, then most records) and per month (in order)."""
    tally = report.counts.per_key
    tables = []
    for key, caption, heading, missing in _TABLES:
        checked, flagged = tally.checked(key), tally.with_violations(key)
        rows = [
            RateRow(mask(value) if value is not None else words[missing], n, flagged[value], flagged[value] / n)
            for value, n in checked.items()
            if n
        ]
        if key == "month":
            rows.sort(key=lambda row: (row.value == words[missing], row.value))
        else:
            rows.sort(key=lambda row: (-row.rate, -row.checked))
        tables.append(RateTable(key, words[caption], words[heading], tuple(rows)))
    return tables if any(table.rows for table in tables) else []
