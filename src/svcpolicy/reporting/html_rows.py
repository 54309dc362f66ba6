"""The findings of a report as the HTML views group them: by article, branch and month.

Each finding becomes a :class:`PageRow` with the record context the page filters on (branch, employee,
customer, local time, month); the findings table, its filters and the charts are all made from these rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from svcpolicy.reporting.rows import local_time, month_of
from svcpolicy.results.findings import Citation, Finding, Outcome
from svcpolicy.results.report import Report

__all__ = ["NONE", "PageRow", "article_label", "grouped", "page_rows", "ranked"]

NONE = "(none)"
"""The filter value of a finding whose record has no branch (or no time)."""


@dataclass(frozen=True)
class PageRow:
    """A finding with the record context the page shows and filters on (unmasked)."""

    finding: Finding
    branch: str | None
    employee: str | None
    customer: str | None
    time: dt.datetime | None
    month: str | None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _group_month(value: Any) -> str | None:
    """A group's ``month`` key (``month(started_at)`` gives ``2026-11``), for findings about a branch-month."""
    return value if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value) else None


def page_rows(report: Report) -> list[PageRow]:
    """One row per finding, in the report's order."""
    rows = []
    for finding in report.findings:
        context = report.context(finding)
        when = context.get("started_at")
        rows.append(
            PageRow(
                finding=finding,
                branch=_text(context.get("branch_id", context.get("branch"))),
                employee=_text(context.get("employee.id", context.get("employee"))),
                customer=_text(context.get("customer.id", context.get("customer"))),
                time=local_time(when),
                month=month_of(when) or _group_month(context.get("month")),
            )
        )
    return rows


def grouped(rows: Iterable[PageRow], key: Callable[[PageRow], str]) -> dict[str, list[Finding]]:
    """The findings of some rows by a key of their row, keys in the order first found."""
    groups: dict[str, list[Finding]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row.finding)
    return groups


def ranked(groups: dict[str, list[Finding]]) -> list[tuple[str, list[Finding]]]:
    """Most violations first, then most findings; ties keep the order first found."""

    def weight(item: tuple[str, list[Finding]]) -> tuple[int, int]:
        findings = item[1]
        return (-sum(f.outcome is Outcome.VIOLATION for f in findings), -len(findings))

    return sorted(groups.items(), key=weight)


def article_label(citation: Citation, words: dict[str, str]) -> str:
    """``第十六条``; ``第十六条?`` when the number is unconfirmed; the word for unconfirmed when it has none."""
    if citation.label:
        return citation.label if citation.confidence == "confirmed" else f"{citation.label}?"
    return words["unconfirmed"]
