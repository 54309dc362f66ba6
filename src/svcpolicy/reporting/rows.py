"""Findings with their record context, as flat rows: what the notebook and HTML views are built on.

A row joins a finding to the context its evaluation kept for the record (``svcpolicy.engine.record_context``):
``branch_id``, ``employee.id``, ``started_at`` … beside the rule, article and message.

Everything here is plain Python: the HTML report needs neither pandas nor matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from svcpolicy.reporting.wording import article
from svcpolicy.results.findings import Citation, Finding
from svcpolicy.results.tallies import local_time, month_of
from svcpolicy.severity import Severity

__all__ = [
    "FINDING_COLUMNS",
    "SEVERITIES",
    "SEVERITY_COLOURS",
    "UNDETERMINED_COLOUR",
    "citation_heading",
    "evidence_text",
    "finding_row",
    "is_group_finding",
    "local_time",
    "month_of",
    "months_between",
    "primary",
    "worst",
]

SEVERITIES: tuple[Severity, ...] = tuple(reversed(Severity))
"""Most serious first."""

SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.CRITICAL: "#b71c1c",
    Severity.HIGH: "#e65100",
    Severity.MEDIUM: "#f9a825",
    Severity.LOW: "#1565c0",
    Severity.INFO: "#607d8b",
}
"""One colour per severity, shared by the charts and the HTML report."""
UNDETERMINED_COLOUR = "#bdbdbd"

FINDING_COLUMNS: tuple[str, ...] = (
    "rule",
    "title",
    "severity",
    "outcome",
    "record_id",
    "file",
    "line",
    "item",
    "citation",
    "document",
    "article",
    "chapter",
    "article_text",
    "confidence",
    "also_cites",
    "message",
    "missing",
    "reason",
    "evidence",
    "fingerprint",
    "pack",
    "pack_version",
)
"""The columns every finding row has, before the record-context columns."""


def is_group_finding(finding: Finding) -> bool:
    """Whether a finding is about a group of records (an aggregate rule) rather than one record."""
    return finding.group is not None


def primary(finding: Finding) -> Citation:
    """The provision a finding is filed under: the first its rule cites."""
    return finding.citations[0]


def citation_heading(citation: Citation, lang: str = "zh") -> str:
    """``第十六条 (银行客户服务规章制度)``: the article as an auditor names it (chapter and markers as
    :func:`svcpolicy.reporting.wording.article` writes them)."""
    return f"{article(citation, lang)} ({citation.title})"


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """The values a condition read, as compact JSON (stable key order)."""
    if not evidence:
        return ""
    return orjson.dumps(evidence, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def finding_row(finding: Finding, context: Mapping[str, Any], lang: str = "zh") -> dict[str, Any]:
    """One flat row: the finding, its primary citation flattened, then the record context."""
    cited = primary(finding)
    row: dict[str, Any] = {
        "rule": finding.rule,
        "title": finding.title,
        "severity": str(finding.severity),
        "outcome": str(finding.outcome),
        "record_id": finding.record.id,
        "file": finding.record.source,
        "line": finding.record.line,
        "item": finding.record.path,
        "citation": cited.ref,
        "document": cited.title,
        "article": cited.display_label,
        "chapter": cited.chapter,
        "article_text": cited.text,
        "confidence": cited.confidence,
        "also_cites": ", ".join(c.ref for c in finding.citations[1:]),
        "message": finding.message(lang),
        "missing": finding.missing,
        "reason": finding.reason,
        "evidence": evidence_text(finding.evidence),
        "fingerprint": finding.fingerprint,
        "pack": finding.pack.id,
        "pack_version": finding.pack.version,
    }
    for key, value in context.items():
        if key != "id" and key not in row:
            row[key] = value
    return row


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (``YYYY-MM``), so a trend shows the quiet months too."""
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months: list[str] = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def worst(severities: Iterable[Severity]) -> Severity | None:
    """The most serious of some severities."""
    found = list(severities)
    return max(found, key=lambda s: s.rank) if found else None
