"""Report formats for CI and spreadsheets: CSV, Markdown (job summaries, merge-request notes) and GitHub
workflow commands (annotations on the changed lines).

Every finding appears in each of them with its gate status (open, waived, baselined); nothing is dropped.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from svcpolicy.results.dispositions import Status
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Report

# -- CSV ---------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "status",
    "blocking",
    "outcome",
    "severity",
    "rule",
    "title",
    "record_id",
    "file",
    "line",
    "path",
    "group",
    "message",
    "articles",
    "citations",
    "missing",
    "reason",
    "waiver",
    "waiver_expires",
    "fingerprint",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _label(citation: Citation) -> str:
    return f"{citation.title} {citation.display_label}"


def write_csv(report: Report, out: TextIO, lang: str = "zh") -> None:
    """One row per finding and per invalid record, with the columns of ``CSV_COLUMNS``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        d = report.disposition(f)
        ref = _first_ref(f)
        writer.writerow(
            _cell(v)
            for v in (
                d.status,
                "yes" if d.blocking else "no",
                f.outcome,
                f.severity,
                f.rule,
                f.title,
                ref.id,
                ref.source,
                ref.line,
                f.record.path,
                "" if f.group is None else ", ".join(f"{k}={v}" for k, v in f.group.items()),
                f.message(lang),
                "; ".join(_label(c) for c in f.citations),
                "; ".join(c.ref for c in f.citations),
                f.missing,
                f.reason,
                d.waiver.label if d.waiver else d.note,
                d.waiver.expires.isoformat() if d.waiver else None,
                f.fingerprint,
            )
        )
    for item in report.invalid:
        row: dict[str, object] = {
            "status": Status.OPEN,
            "blocking": "yes",
            "outcome": Outcome.INVALID,
            "record_id": item.record.id,
            "file": item.record.source,
            "line": item.record.line,
            "message": item.error,
        }
        writer.writerow(_cell(row.get(column)) for column in CSV_COLUMNS)


def _first_ref(finding: Finding) -> RecordRef:
    if finding.group is not None and finding.members:
        return finding.members[0]
    return finding.record


# -- Markdown ----------------------------------------------------------------------------------------


def _md(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, line breaks or raw HTML."""
    text = "" if value is None else str(value)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", "<br>")
    )


def _md_where(finding: Finding) -> str:
    ref = _first_ref(finding)
    where = f"`{_md(ref.locator)}`"
    if finding.group is not None:
        key = ", ".join(f"{k}={v}" for k, v in finding.group.items())
        return f"group {_md(key)} ({finding.members_total} records, first {where})"
    return where


def _status_cell(report: Report, finding: Finding) -> str:
    d = report.disposition(finding)
    if d.status is Status.WAIVED and d.waiver is not None:
        w = d.waiver
        return _md(f"waived {d.waiver.label} (until {w.expires.isoformat()}, {w.approver}: {w.reason})")
    if d.status is Status.BASELINED:
        return "baselined"
    text = "**blocking**" if d.blocking else "open"
    return f"{text} ({_md(d.note)})" if d.note else text


def gate_verdict(report: Report) -> tuple[bool, int]:
    """Whether the report passes its gate, and how many items block it."""
    items: list[Finding | InvalidRecord] = [*report.findings, *report.invalid]
    blocking = sum(1 for item in items if report.disposition(item).blocking)
    stale_fails = report.gate is not None and report.gate.fail_on_stale_waivers and bool(report.gate.stale())
    return blocking == 0 and not report.input_failures and not stale_fails, blocking


def write_markdown(report: Report, out: TextIO, lang: str = "zh") -> None:
    """A summary for a CI job page or a merge request: counts, then findings under the article they breach."""
    passed, blocking = gate_verdict(report)
    verdict = "passed" if passed else f"failed: {blocking} blocking"
    as_of = report.as_of.isoformat() if report.as_of else "-"
    out.write(f"## svcpolicy: {_md(report.pack.id)} {_md(report.pack.version)} — {verdict}\n\n")
    out.write(f"As of {as_of}. {_md(report.counts.summary())}\n\n")
    c = report.counts
    out.write("| records | compliant | with violations | undetermined | invalid | violations | waived | baselined |\n")
    out.write("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    out.write(
        f"| {c.records} | {c.compliant} | {c.with_violations} | {c.undetermined} | {c.invalid} | {c.violations} "
        f"| {c.waived} | {c.baselined} |\n\n"
    )
    groups: dict[str, tuple[Citation, list[Finding]]] = {}
    for finding in report.violations:
        primary = finding.citations[0]
        groups.setdefault(primary.ref, (primary, []))[1].append(finding)
    for citation, findings in groups.values():
        chapter = f" {citation.chapter}" if citation.chapter else ""
        out.write(f"### {_md(citation.title)} {_md(citation.display_label)}{_md(chapter)} `{citation.ref}`\n\n")
        out.write(f"> {_md(citation.text)}\n\n")
        out.write("| status | severity | record | where | item | rule | message |\n|---|---|---|---|---|---|---|\n")
        for f in findings:
            out.write(
                f"| {_status_cell(report, f)} | {f.severity} | {_md(f.record.id or '-')} | {_md_where(f)} "
                f"| {_md(f.record.path or '')} | `{f.rule}` | {_md(f.message(lang))} |\n"
            )
        out.write("\n")
    if report.undetermined:
        out.write(
            "### Undetermined\n\n| status | record | where | rule | missing | reason |\n|---|---|---|---|---|---|\n"
        )
        for f in report.undetermined:
            out.write(
                f"| {_status_cell(report, f)} | {_md(f.record.id or '-')} | {_md_where(f)} | `{f.rule}` "
                f"| {_md(f.missing or '')} | {_md(f.reason or '')} |\n"
            )
        out.write("\n")
    if report.invalid:
        out.write("### Invalid records\n\n| where | record | error |\n|---|---|---|\n")
        for item in report.invalid:
            out.write(f"| `{_md(item.record.locator)}` | {_md(item.record.id or '-')} | {_md(item.error)} |\n")
        out.write("\n")
    if report.input_failures:
        out.write("### Inputs not read\n\n")
        for failure in report.input_failures:
            out.write(f"- `{_md(failure.source)}`: {_md(failure.error)}\n")
        out.write("\n")
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        out.write("### Waivers and baseline\n\n")
        for note in notes:
            out.write(f"- {_md(str(note))}\n")
        out.write("\n")


# -- GitHub workflow commands ------------------------------------------------------------------------


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _gh_file(source: str) -> str:
    path = Path(source)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _gh_command(level: str, message: str, *, title: str, ref: RecordRef | None = None) -> str:
    props = []
    if ref is not None and ref.source is not None and not ref.source.startswith("<"):
        props.append(f"file={_gh_property(_gh_file(ref.source))}")
        if ref.line:
            props.append(f"line={ref.line}")
    props.append(f"title={_gh_property(title)}")
    return f"::{level} {','.join(props)}::{_gh_data(message)}\n"


def write_github(report: Report, out: TextIO, lang: str = "zh") -> None:
    """``::error file=…,line=…::`` for findings that fail the gate; warnings and notices for the rest."""
    for f in report.findings:
        d = report.disposition(f)
        if d.blocking:
            level = "error"
        elif d.status is Status.OPEN and f.outcome is Outcome.VIOLATION:
            level = "warning"
        else:
            level = "notice"
        cited = "; ".join(f"{c.title} {c.display_label}「{c.text}」" for c in f.citations[:1])
        state = "" if d.status is Status.OPEN else f" [{d.tag}]"
        item = f" {f.record.path}" if f.record.path else ""
        message = f"{f.record.id or '-'}{item}: {f.message(lang)}{state}\n{cited}"
        out.write(_gh_command(level, message, title=f"{f.rule} [{f.severity}]", ref=_first_ref(f)))
    for item_ in report.invalid:
        out.write(_gh_command("error", item_.error, title="invalid record", ref=item_.record))
    for failure in report.input_failures:
        out.write(_gh_command("error", f"{failure.source}: {failure.error}", title="input not read"))
    for note in report.gate.notes() if report.gate is not None else []:
        location = RecordRef(None, *_split_location(note.location)) if note.location else None
        out.write(_gh_command("warning", note.message, title=f"svcpolicy {note.kind}", ref=location))
    passed, blocking = gate_verdict(report)
    verdict = "passed" if passed else f"failed ({blocking} blocking)"
    out.write(_gh_command("notice", report.counts.summary(), title=f"svcpolicy {report.pack.id}: {verdict}"))


def _split_location(location: str) -> tuple[str, int | None]:
    """``file:line[:col]`` into file and line (a bare file name has no line)."""
    parts = location.rsplit(":", 2)
    numbers = [p for p in parts[1:] if p.isdigit()]
    if len(numbers) == len(parts) - 1 and numbers:
        return parts[0], int(numbers[0])
    return location, None
