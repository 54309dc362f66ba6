"""Renderers for reports: text for people, JSON and JSON Lines for machines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

import orjson

from svcpolicy.findings import Citation, Finding, InvalidRecord, Outcome
from svcpolicy.report import Report

FORMATS = ("text", "json", "jsonl")


def _heading(citation: Citation) -> str:
    chapter = f" {citation.chapter}" if citation.chapter else ""
    return f"{citation.title} {citation.display_label}{chapter}  [{citation.ref}]"


def write_text(report: Report, out: TextIO, *, lang: str = "zh") -> None:
    """Findings grouped by the article they breach; each article's text is printed once."""
    groups: dict[str, tuple[Citation, list[Finding]]] = {}
    for finding in report.violations:
        primary = finding.citations[0]
        groups.setdefault(primary.ref, (primary, []))[1].append(finding)
    for citation, findings in groups.values():
        out.write(f"{_heading(citation)}\n  「{citation.text}」\n")
        for f in findings:
            where = f.record.locator + (f" {f.record.path}" if f.record.path else "")
            out.write(f"  {where}  {f.record.id}  [{f.severity}] {f.rule}: {f.message(lang)}\n")
            also = [c.ref for c in f.citations[1:]]
            if also:
                out.write(f"      also cites: {', '.join(also)}\n")
        out.write("\n")
    undetermined = report.undetermined
    if undetermined:
        out.write("Undetermined (data missing or not decidable):\n")
        for f in undetermined:
            where = f.record.locator + (f" {f.record.path}" if f.record.path else "")
            missing = f" missing {f.missing}" if f.missing else ""
            out.write(f"  {where}  {f.record.id}  {f.rule}:{missing} — {f.reason}\n")
        out.write("\n")
    if report.invalid:
        out.write("Invalid records:\n")
        for item in report.invalid:
            out.write(f"  {item.record.locator}  {item.record.id or '-'}  {item.error}\n")
        out.write("\n")
    for failure in report.input_failures:
        out.write(f"Input not read: {failure.source}: {failure.error}\n")
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
