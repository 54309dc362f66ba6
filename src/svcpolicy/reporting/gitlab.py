"""GitLab Code Quality JSON (``--format gitlab``): findings as merge-request widget entries, as ruff and semgrep
offer.

The report is a JSON array of issues, each with the keys GitLab requires: ``description``, ``check_name`` (the
rule), ``fingerprint`` (the finding's own, so GitLab tracks it across pipelines), ``severity`` (GitLab's five
levels) and ``location`` (the record's file and line). Open findings are listed, violations and undetermined
alike; waived and baselined ones are not, since GitLab has no suppressions and shows every entry as new work.
Invalid records are issues of ``svcpolicy/invalid-record``. Code Quality carries no verdict: the exit code and
the other formats give the gate's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TextIO

import orjson

from svcpolicy.pack.schema import Severity
from svcpolicy.reporting import wording
from svcpolicy.results.dispositions import Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Report

__all__ = ["GITLAB_SEVERITIES", "code_quality", "write_gitlab"]

GITLAB_SEVERITIES: dict[Severity, str] = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}
"""Our severities on GitLab's scale (info, minor, major, critical, blocker)."""

INVALID_RECORD_CHECK = "svcpolicy/invalid-record"


def _path(ref: RecordRef) -> str:
    """The record's file relative to the working directory (the repository root in a pipeline)."""
    if ref.source is None:
        return "<input>"
    path = Path(ref.source)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _location(ref: RecordRef) -> dict[str, Any]:
    return {"path": _path(ref), "lines": {"begin": ref.line or 1}}


def _finding_issue(finding: Finding, title: str, lang: str) -> dict[str, Any]:
    ref = finding.members[0] if finding.group is not None and finding.members else finding.record
    cited = "\n".join(wording.citation_line(c, lang, text=True) for c in finding.citations)
    item = f" {finding.record.path}" if finding.record.path else ""
    description = f"{finding.record.id or '-'}{item}: {finding.message(lang)}"
    if finding.outcome is not Outcome.VIOLATION:
        description = f"[{wording.outcome_name(finding.outcome, lang)}] {description}"
    return {
        "type": "issue",
        "description": description,
        "check_name": finding.rule,
        "fingerprint": finding.fingerprint.removeprefix("sha256:"),
        "severity": GITLAB_SEVERITIES[finding.severity] if finding.outcome is Outcome.VIOLATION else "info",
        "categories": ["Compliance"],
        "location": _location(ref),
        "content": {"body": f"{title}\n\n{cited}"},
    }


def _invalid_issue(item: InvalidRecord, report: Report, lang: str) -> dict[str, Any]:
    key = "\x1f".join((report.pack.id, INVALID_RECORD_CHECK, item.record.locator, item.record.id or ""))
    return {
        "type": "issue",
        "description": f"{item.record.id or '-'}: {wording.record_error(item.error, lang)}",
        "check_name": INVALID_RECORD_CHECK,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
        "severity": "critical",
        "categories": ["Bug Risk"],
        "location": _location(item.record),
    }


def code_quality(report: Report, *, lang: str = "zh") -> list[dict[str, Any]]:
    """The report as GitLab Code Quality issues: open findings, most severe first, then invalid records."""
    lang = wording.language(lang)
    titles = wording.rule_titles(report, lang)
    open_findings = [f for f in report.findings if report.disposition(f).status is Status.OPEN]
    open_findings.sort(key=lambda f: (f.outcome is not Outcome.VIOLATION, -f.severity.rank))
    issues = [_finding_issue(f, titles[f.rule], lang) for f in open_findings]
    issues.extend(_invalid_issue(item, report, lang) for item in report.invalid)
    return issues


def write_gitlab(report: Report, out: TextIO, lang: str = "zh") -> None:
    out.write(orjson.dumps(code_quality(report, lang=lang), option=orjson.OPT_INDENT_2).decode())
    out.write("\n")
