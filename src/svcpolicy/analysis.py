"""Findings with their record context, as flat rows and tallies: what the notebook and HTML views are built on.

A finding names its record (id, file, line, item) but carries none of the record's attributes. To answer
"where, by whom, when", an evaluation keeps a small **context** for every record that has findings: the
record's scalar fields, flattened to dotted paths (``branch_id``, ``employee.id``, ``started_at``,
``customer.age``, ``extra.vip_level``). Lists (operations, offers, …) are left out, so a context stays small, and
records without findings keep nothing, so memory grows with the findings, not with the input.

Everything here is plain Python: the HTML report needs neither pandas nor matplotlib.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from svcpolicy.findings import Citation, Finding, Outcome
from svcpolicy.pack.schema import Severity

if TYPE_CHECKING:
    from svcpolicy.report import Report

RecordKey = tuple[str, int]
"""How a report keys a record's context: the (source, line) locator its findings carry."""

TIME_FIELD = "started_at"
"""The record time that trends are drawn over, unless told otherwise."""

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


def record_context(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's scalar fields as ``{dotted.path: value}``; lists are left out."""
    context: dict[str, Any] = {}
    _flatten(record, "", context)
    return context


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}{key}.", out)
        elif not isinstance(value, list | tuple):
            out[_path(prefix, key)] = value


@functools.lru_cache(maxsize=4096)
def _path(prefix: str, key: str) -> str:
    """One shared string per dotted path, so that many kept contexts do not each hold their own keys."""
    return f"{prefix}{key}"


_PLAIN_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def group_paths(aggregates: Iterable[Any]) -> dict[str, dict[str, str]]:
    """For each aggregate rule (compiled program with ``id`` and ``rule.group_by``), the record path that each
    group key reads, where the key is a plain path: ``{"branch": "branch_id"}`` (``month(started_at)`` is not)."""
    paths: dict[str, dict[str, str]] = {}
    for program in aggregates:
        keys = {name: source.strip() for name, source in program.rule.group_by.items()}
        plain = {name: source for name, source in keys.items() if _PLAIN_PATH.fullmatch(source)}
        if plain:
            paths[program.id] = plain
    return paths


def context_of(report: Report, finding: Finding) -> Mapping[str, Any]:
    """The record context of a finding. For a finding about a group of records, the group's keys by name,
    and by the record path they read where that is plain (``branch`` and ``branch_id``), so that
    ``by("branch_id")`` counts a branch's group findings under the branch."""
    ref = finding.record
    if ref.source is not None and ref.line is not None:
        context = report.records.get((ref.source, ref.line))
        if context is not None:
            return context
    group: Mapping[str, Any] | None = getattr(finding, "group", None)
    if not group:
        return {}
    named = dict(group)
    for name, path in report.group_paths.get(finding.rule, {}).items():
        if name in group:
            named.setdefault(path, group[name])
    return named


def is_group_finding(finding: Finding) -> bool:
    """Whether a finding is about a group of records (an aggregate rule) rather than one record."""
    return getattr(finding, "group", None) is not None


def primary(finding: Finding) -> Citation:
    """The provision a finding is filed under: the first its rule cites."""
    return finding.citations[0]


def citation_heading(citation: Citation) -> str:
    """``第十六条 (银行客户服务规章制度)``: the article as an auditor names it."""
    return f"{citation.display_label} ({citation.title})"


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


def finding_rows(report: Report, lang: str = "zh") -> list[dict[str, Any]]:
    """Every finding of the report as a flat row, in input order."""
    return [finding_row(f, context_of(report, f), lang) for f in report.findings]


def local_time(value: Any) -> dt.datetime | None:
    """A record time as the wall-clock time where it happened (its own offset), or None when it has none."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return None


def month_of(value: Any) -> str | None:
    """``2026-11`` for a record time, in the record's own local time."""
    moment = local_time(value)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (``YYYY-MM``), so a trend shows the quiet months too."""
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months: list[str] = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def tally(items: Iterable[Finding], key: Callable[[Finding], Hashable]) -> Counter[Hashable]:
    """How many of the findings fall under each key."""
    return Counter(key(f) for f in items)


def worst(severities: Iterable[Severity]) -> Severity | None:
    """The most serious of some severities."""
    found = list(severities)
    return max(found, key=lambda s: s.rank) if found else None


def is_violation(finding: Finding) -> bool:
    return finding.outcome is Outcome.VIOLATION
