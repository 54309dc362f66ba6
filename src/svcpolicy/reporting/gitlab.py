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

from svcpolicy.reporting import wording
from svcpolicy.reporting.finished import feed
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.reporting.titles import RuleTitles
from svcpolicy.results.dispositions import Disposition, Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Report
from svcpolicy.severity import Severity

__all__ = ["GITLAB_SEVERITIES", "GitlabStream", "write_gitlab"]

GITLAB_SEVERITIES: dict[Severity, str] = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}
"""Our severities on GitLab's scale (info, minor, major, critical, blocker)."""

INVALID_RECORD_CHECK = "svcpolicy/invalid-record"
_INVALID = (2, 0)
"""Invalid records' bucket: after violations (0) and undetermined findings (1), whose second key is -severity."""


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


def _json(issue: dict[str, Any]) -> str:
    """One issue as it stands in the indented array (orjson escapes line breaks inside strings, so lines split)."""
    return orjson.dumps(issue, option=orjson.OPT_INDENT_2).decode().replace("\n", "\n  ")


class GitlabStream:
    """The Code Quality array written at the end of the run, most severe first: each open finding is rendered as
    it comes into the bucket of its outcome and severity (:mod:`svcpolicy.reporting.spill`)."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._lang = lang = wording.language(lang)
        self._titles = RuleTitles(report.rules, lang)
        self._buckets: SpillBuckets[tuple[int, int]] = SpillBuckets()

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        if isinstance(item, InvalidRecord):
            self._buckets.add(_INVALID, ",\n  " + _json(_invalid_issue(item, self._report, self._lang)))
        elif disposition.status is Status.OPEN:
            issue = _finding_issue(item, self._titles.of(item), self._lang)
            self._buckets.add((int(item.outcome is not Outcome.VIOLATION), -item.severity.rank), ",\n  " + _json(issue))

    def close(self) -> None:
        """Violations before undetermined findings, each most severe first, then invalid records."""
        buckets = self._buckets
        chunks = (chunk for key in sorted(buckets.items) for chunk in buckets.read(key))
        first = next(chunks, None)
        if first is None:
            self._out.write("[]\n")
        else:
            self._out.write("[" + first.removeprefix(","))
            self._out.writelines(chunks)
            self._out.write("\n]\n")
        buckets.close()


def write_gitlab(report: Report, out: TextIO, lang: str = "zh") -> None:
    """The report as GitLab Code Quality issues: open findings, most severe first, then invalid records."""
    feed(GitlabStream(report, out, lang), report)
