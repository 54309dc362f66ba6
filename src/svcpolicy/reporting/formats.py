"""Renderers for reports: text for people, JSON and JSON Lines for machines, and the CI formats.

``FORMATS`` maps a format name to its writer; adding a format is one entry (``svcpolicy check --format`` and
``--output NAME=PATH`` offer every key). Formats in ``STREAMING`` are written item by item as a run goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TextIO

import orjson

from svcpolicy.reporting.ci import write_csv, write_github, write_markdown
from svcpolicy.reporting.html import html_format
from svcpolicy.reporting.junit import write_junit
from svcpolicy.reporting.sarif import write_sarif
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome
from svcpolicy.results.report import Report


def _heading(citation: Citation) -> str:
    chapter = f" {citation.chapter}" if citation.chapter else ""
    return f"{citation.title} {citation.display_label}{chapter}  [{citation.ref}]"


def _where(finding: Finding) -> str:
    """A record finding's file:line, item and record id; a group finding's key and a few of its records."""
    if finding.group is None:
        path = f" {finding.record.path}" if finding.record.path else ""
        return f"{finding.record.locator}{path}  {finding.record.id}"
    key = ", ".join(f"{k}={v}" for k, v in finding.group.items()) or "no group"
    shown = ", ".join(f"{m.id}@{m.locator}" for m in finding.members[:3])
    more = f" and {finding.members_total - 3} more" if finding.members_total > 3 else ""
    return f"group [{key}] of {finding.members_total} ({shown}{more})"


def write_text(report: Report, out: TextIO, *, lang: str = "zh") -> None:
    """Findings grouped by the article they breach; each article's text is printed once."""
    groups: dict[str, tuple[Citation, list[Finding]]] = {}
    for finding in report.violations:
        primary = finding.citations[0]
        groups.setdefault(primary.ref, (primary, []))[1].append(finding)
    for citation, findings in groups.values():
        out.write(f"{_heading(citation)}\n  「{citation.text}」\n")
        for f in findings:
            out.write(f"  {_where(f)}  [{f.severity}] {f.rule}: {f.message(lang)}{_tag(report, f)}\n")
            also = [c.ref for c in f.citations[1:]]
            if also:
                out.write(f"      also cites: {', '.join(also)}\n")
        out.write("\n")
    undetermined = report.undetermined
    if undetermined:
        out.write("Undetermined (data missing or not decidable):\n")
        for f in undetermined:
            missing = f" missing {f.missing}" if f.missing else ""
            out.write(f"  {_where(f)}  {f.rule}:{missing} — {f.reason}{_tag(report, f)}\n")
        out.write("\n")
    if report.invalid:
        out.write("Invalid records:\n")
        for item in report.invalid:
            out.write(f"  {item.record.locator}  {item.record.id or '-'}  {item.error}\n")
        out.write("\n")
    for failure in report.input_failures:
        out.write(f"Input not read: {failure.source}: {failure.error}\n")
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        out.write("Waivers and baseline:\n" + "".join(f"  {note}\n" for note in notes) + "\n")
    by_rule = report.violations_by_rule()
    if by_rule:
        out.write("Violations by rule:\n")
        out.write("".join(f"  {count:>6}  {rule}\n" for rule, count in sorted(by_rule.items(), key=lambda x: -x[1])))
        out.write("\n")
    as_of = report.as_of.isoformat() if report.as_of else "-"
    out.write(f"pack {report.pack.id} {report.pack.version}, as of {as_of}\n")
    out.write(report.counts.summary() + "\n")


def write_json(report: Report, out: TextIO) -> None:
    out.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    out.write("\n")


def write_jsonl(items: Iterable[Finding | InvalidRecord], out: TextIO) -> None:
    """One JSON object per finding or invalid record, written as they arise."""
    for item in items:
        out.write(orjson.dumps(item.to_dict(), option=orjson.OPT_NON_STR_KEYS).decode())
        out.write("\n")


def is_failure(item: Finding | InvalidRecord, threshold_rank: int) -> bool:
    if isinstance(item, InvalidRecord):
        return True
    return item.outcome is Outcome.VIOLATION and item.severity.rank >= threshold_rank


def _tag(report: Report, finding: Finding) -> str:
    """``  <waived W-7 until 2026-12-31>`` after a finding the gate excuses (or notes), else nothing."""
    tag = report.disposition(finding).tag
    return f"  <{tag}>" if tag else ""


def item_dict(report: Report, item: Finding | InvalidRecord) -> dict[str, object]:
    """A finding or invalid record as JSON, with its gate status (open, waived, baselined) merged in."""
    return {**item.to_dict(), **report.disposition(item).to_dict()}


def write_report_jsonl(report: Report, out: TextIO) -> None:
    """JSON Lines from a finished report: findings, then invalid records, each with its gate status."""
    items: list[Finding | InvalidRecord] = [*report.findings, *report.invalid]
    for item in items:
        out.write(orjson.dumps(item_dict(report, item), option=orjson.OPT_NON_STR_KEYS).decode())
        out.write("\n")


Writer = Callable[[Report, TextIO, str], None]
"""A report format: writes ``report`` to the stream, messages in the language given (``zh`` or ``en``)."""


def _text(report: Report, out: TextIO, lang: str) -> None:
    write_text(report, out, lang=lang)


def _json(report: Report, out: TextIO, lang: str) -> None:
    write_json(report, out)


def _jsonl(report: Report, out: TextIO, lang: str) -> None:
    write_report_jsonl(report, out)


FORMATS: dict[str, Writer] = {
    "text": _text,
    "json": _json,
    "jsonl": _jsonl,
    "sarif": write_sarif,
    "junit": write_junit,
    "csv": write_csv,
    "markdown": write_markdown,
    "github": write_github,
    "html": html_format,
}
"""Every report format by name. Register a new one here (or ``FORMATS[name] = writer``)."""

STREAMING = frozenset({"jsonl"})
"""Formats that ``svcpolicy check`` writes item by item while records stream (constant memory)."""

FILE_ENCODINGS = {"csv": "utf-8-sig"}
"""Encodings for formats written to a file: a BOM lets spreadsheet programs read Chinese CSV as UTF-8."""
