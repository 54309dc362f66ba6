"""What the findings table of the HTML report shows, one plain value per cell, customer identifiers masked.

The templates (templates/findings.html, filters.html, invalid.html) write and escape the markup; here the
findings are shaped into the texts and filter values each row, filter and invalid record shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from svcpolicy.reporting.html_evidence import EvidenceLine, evidence_lines
from svcpolicy.reporting.html_labels import rule_title
from svcpolicy.reporting.html_rows import NONE, PageRow, article_label, grouped, ranked
from svcpolicy.reporting.masking import Masker
from svcpolicy.reporting.rows import SEVERITIES, primary
from svcpolicy.reporting.wording import citation_line
from svcpolicy.results.findings import Citation, Finding, Outcome
from svcpolicy.results.report import Report

__all__ = ["Choice", "FindingView", "InvalidView", "filter_choices", "finding_views", "invalid_views"]


@dataclass(frozen=True)
class Quote:
    """A cited provision's verbatim text under its source (document, article, chapter, citation)."""

    ref: str
    source: str
    text: str


@dataclass(frozen=True)
class Member:
    record_id: str
    locator: str


@dataclass(frozen=True)
class FindingView:
    """One row of the findings table; ``filters`` are its ``data-*`` values, which the filters match."""

    filters: dict[str, str]
    severity: str
    severity_label: str
    severity_rank: int
    undetermined: bool
    rule: str
    title: str
    article: str
    article_text: str
    document: str
    record_id: str
    locator: str
    item: str
    group_key: str | None
    members: tuple[Member, ...]
    members_total: int
    branch: str | None
    employee: str
    customer: str
    time: str
    sort_time: str
    message: str
    missing: str | None
    tag: str
    quotes: tuple[Quote, ...]
    evidence: tuple[EvidenceLine, ...]


@dataclass(frozen=True)
class Choice:
    """One option of a filter: the value rows carry, the text shown, and how many rows have it."""

    value: str
    text: str
    count: int


@dataclass(frozen=True)
class InvalidView:
    locator: str
    record_id: str
    error: str


def _quotes(citations: Sequence[Citation], lang: str) -> tuple[Quote, ...]:
    """Each cited provision as every writer prints it (its chapter where the label alone repeats)."""
    return tuple(Quote(c.ref, citation_line(c, lang), c.text) for c in citations)


def _tag(report: Report, finding: Finding) -> str:
    """The compliance gate's word on a finding (``waived W-7 until …``, ``baselined``), if any."""
    disposition = getattr(report, "disposition", None)
    if disposition is None:
        return ""
    tag: str = disposition(finding).tag
    return tag


def _finding_view(row: PageRow, report: Report, words: dict[str, str], lang: str, mask: Masker) -> FindingView:
    f = row.finding
    cited = primary(f)
    ref = f.record
    group: Mapping[str, Any] | None = getattr(f, "group", None)
    members: Sequence[Any] = getattr(f, "members", ()) if group is not None else ()
    return FindingView(
        filters={
            "article": cited.ref,
            "severity": str(f.severity),
            "branch": mask(row.branch) if row.branch else NONE,
            "employee": mask(row.employee) if row.employee else NONE,
            "month": row.month or NONE,
            "outcome": str(f.outcome),
            "rule": f.rule,
        },
        severity=str(f.severity),
        severity_label=words[str(f.severity)],
        severity_rank=SEVERITIES.index(f.severity),
        undetermined=f.outcome is Outcome.UNDETERMINED,
        rule=f.rule,
        title=rule_title(next((rule for rule in report.rules if rule.id == f.rule), f), lang),
        article=article_label(cited, words),
        article_text=cited.text,
        document=cited.title,
        record_id=mask(ref.id or "-"),
        locator=ref.locator,
        item=ref.path or "",
        group_key=None if group is None else mask(", ".join(f"{k}={v}" for k, v in group.items()) or "-"),
        members=tuple(Member(mask(m.id or "-"), m.locator) for m in members[:3]),
        members_total=getattr(f, "members_total", len(members)),
        branch=mask(row.branch) if row.branch else None,
        employee=mask(row.employee or "-"),
        customer=mask(row.customer or "-"),
        time=row.time.strftime("%Y-%m-%d %H:%M") if row.time else "-",
        sort_time=row.time.isoformat() if row.time else "",
        message=mask(f.message(lang)),
        missing=f.missing,
        tag=mask(_tag(report, f)),
        quotes=_quotes(f.citations, lang),
        evidence=evidence_lines(f.evidence, words, lang, mask),
    )


def finding_views(
    rows: Sequence[PageRow], report: Report, words: dict[str, str], lang: str, mask: Masker
) -> list[FindingView]:
    """The rows of the findings table, in the report's order."""
    return [_finding_view(row, report, words, lang, mask) for row in rows]


def filter_choices(rows: Sequence[PageRow], words: dict[str, str], mask: Masker) -> dict[str, list[Choice]]:
    """The options of each filter (article, severity, branch, employee, month, outcome), each with its count."""
    articles = ranked(grouped(rows, lambda r: primary(r.finding).ref))
    severity_counts = Counter(str(r.finding.severity) for r in rows)
    branches = ranked(grouped(rows, lambda r: r.branch or NONE))
    employees = ranked(grouped(rows, lambda r: r.employee or NONE))
    month_counts = Counter(r.month or NONE for r in rows)
    outcome_counts = Counter(str(r.finding.outcome) for r in rows)
    return {
        "article": [
            Choice(ref, f"{article_label(primary(fs[0]), words)} {primary(fs[0]).title}", len(fs))
            for ref, fs in articles
        ],
        "severity": [
            Choice(str(s), words[str(s)], severity_counts[str(s)]) for s in SEVERITIES if severity_counts[str(s)]
        ],
        "branch": [Choice(mask(b), words["no_branch"] if b == NONE else mask(b), len(fs)) for b, fs in branches],
        "employee": [Choice(mask(e), words["no_employee"] if e == NONE else mask(e), len(fs)) for e, fs in employees],
        "month": [
            Choice(m, words["no_time"] if m == NONE else m, n)
            for m, n in sorted(month_counts.items(), key=lambda item: (item[0] == NONE, item[0]))
        ],
        "outcome": [
            Choice(str(o), words[str(o)], outcome_counts[str(o)])
            for o in (Outcome.VIOLATION, Outcome.UNDETERMINED)
            if outcome_counts[str(o)]
        ],
    }


def invalid_views(report: Report, mask: Masker) -> list[InvalidView]:
    """The records that could not be judged, with the reason."""
    return [InvalidView(i.record.locator, mask(i.record.id or "-"), mask(i.error)) for i in report.invalid]
