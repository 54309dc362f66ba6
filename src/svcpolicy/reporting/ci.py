"""Report formats for CI and spreadsheets: CSV, Markdown (job summaries, merge-request notes) and GitHub
workflow commands (annotations on the changed lines).

Every finding appears in each of them with its gate status (open, waived, baselined); nothing is dropped.
The verdict that Markdown and GitHub print is the gate's (``Report.verdict``), never judged here. Words come
from :mod:`svcpolicy.reporting.wording`, in the report's language; CSV's status columns stay machine values.

GitHub shows only the first 10 annotations of each type in a step, so the GitHub format opens with a notice
carrying the verdict and the totals, then lists errors, warnings and notices most severe first; when
``$GITHUB_STEP_SUMMARY`` is set it also writes the Markdown report there, the full report the notice points to.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import TextIO

from svcpolicy.reporting import wording
from svcpolicy.reporting.escaping import printable
from svcpolicy.results.dispositions import Status
from svcpolicy.results.findings import Citation, Finding, Outcome, RecordRef
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


def write_csv(report: Report, out: TextIO, lang: str = "zh") -> None:
    """One row per finding and per invalid record, with the columns of ``CSV_COLUMNS``."""
    titles = wording.rule_titles(report, lang)
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
                titles[f.rule],
                ref.id,
                ref.source,
                ref.line,
                f.record.path,
                "" if f.group is None else ", ".join(f"{k}={v}" for k, v in f.group.items()),
                f.message(lang),
                "; ".join(wording.citation_line(c, lang, ref=False) for c in f.citations),
                "; ".join(c.ref for c in f.citations),
                f.missing,
                wording.reason(f.reason, lang),
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
            "message": wording.record_error(item.error, lang),
        }
        writer.writerow(_cell(row.get(column)) for column in CSV_COLUMNS)


def _first_ref(finding: Finding) -> RecordRef:
    if finding.group is not None and finding.members:
        return finding.members[0]
    return finding.record


# -- Markdown ----------------------------------------------------------------------------------------

_MD_WORDS = {
    "zh": {
        "as_of": "判定时点",
        "columns": ("记录", "合规", "有违规", "无法判定", "无效", "违规项", "已豁免", "已列入基线"),
        "table": ("状态", "严重程度", "记录", "位置", "项目", "规则", "说明"),
        "undetermined": "无法判定",
        "undetermined_table": ("状态", "记录", "位置", "规则", "缺少", "原因"),
        "invalid": "无效记录",
        "invalid_table": ("位置", "记录", "错误"),
        "inputs": "未能读取的输入",
        "notes": "豁免与基线",
        "group": "群组 {key}（{records}，首条 {where}）",
        "waived": "已豁免 {label}（有效期至 {expires}，{approver}：{reason}）",
    },
    "en": {
        "as_of": "As of",
        "columns": (
            "records",
            "compliant",
            "with violations",
            "undetermined",
            "invalid",
            "violations",
            "waived",
            "baselined",
        ),
        "table": ("status", "severity", "record", "where", "item", "rule", "message"),
        "undetermined": "Undetermined",
        "undetermined_table": ("status", "record", "where", "rule", "missing", "reason"),
        "invalid": "Invalid records",
        "invalid_table": ("where", "record", "error"),
        "inputs": "Inputs not read",
        "notes": "Waivers and baseline",
        "group": "group {key} ({records}, first {where})",
        "waived": "waived {label} (until {expires}, {approver}: {reason})",
    },
}


def _md(value: object) -> str:
    """Text safe inside a Markdown table cell: no pipes, line breaks or raw HTML, and links and images inert
    (brackets escaped, bare addresses defanged to ``https[:]//`` and ``www[.]``)."""
    text = "" if value is None else str(value)
    text = _BARE_LINK.sub(lambda m: m.group(0)[:-1] + "[" + m.group(0)[-1] + "]", text.replace("://", "[:]//"))
    for raw, safe in _MD_ESCAPES:
        text = text.replace(raw, safe)
    return text


_BARE_LINK = re.compile(r"(?i)\bwww\.")
_MD_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("|", "\\|"),
    ("\n", "<br>"),
    ("[", "\\["),
    ("]", "\\]"),
    ("`", "&#96;"),
)


def _md_header(columns: tuple[str, ...], align: str = "---") -> str:
    return "| " + " | ".join(columns) + " |\n" + "|" + "|".join(align for _ in columns) + "|\n"


def _md_where(finding: Finding, lang: str) -> str:
    ref = _first_ref(finding)
    where = f"`{_md(ref.locator)}`"
    if finding.group is not None:
        key = ", ".join(f"{k}={v}" for k, v in finding.group.items())
        records = wording.counted(finding.members_total, "record", lang)
        return str(_MD_WORDS[lang]["group"]).format(key=_md(key), records=records, where=where)
    return where


def _status_cell(report: Report, finding: Finding, lang: str) -> str:
    d = report.disposition(finding)
    w = wording.words(lang)
    if d.status is Status.WAIVED and d.waiver is not None:
        waiver = d.waiver
        text = str(_MD_WORDS[lang]["waived"]).format(
            label=waiver.label, expires=waiver.expires.isoformat(), approver=waiver.approver, reason=waiver.reason
        )
        return _md(text)
    if d.status is Status.BASELINED:
        return w["baselined"]
    text = f"**{w['blocking']}**" if d.blocking else w["open"]
    return f"{text} ({_md(d.note)})" if d.note else text


def write_markdown(report: Report, out: TextIO, lang: str = "zh") -> None:
    """A summary for a CI job page or a merge request: counts, then findings under the article they breach."""
    lang = wording.language(lang)
    md = _MD_WORDS[lang]
    titles = wording.rule_titles(report, lang)
    verdict = wording.verdict_text(report.verdict, lang)
    as_of = report.as_of.isoformat() if report.as_of else "-"
    out.write(f"## svcpolicy: {_md(report.pack.id)} {_md(report.pack.version)} — {verdict}\n\n")
    out.write(f"{md['as_of']} {as_of}. {_md(wording.summary(report.counts, lang))}\n\n")
    c = report.counts
    out.write(_md_header(tuple(md["columns"]), "---:"))
    numbers = (c.records, c.compliant, c.with_violations, c.undetermined, c.invalid, c.violations, c.waived)
    out.write("| " + " | ".join(wording.number(n) for n in (*numbers, c.baselined)) + " |\n\n")
    groups: dict[str, tuple[Citation, list[Finding]]] = {}
    for finding in report.violations:
        primary = finding.citations[0]
        groups.setdefault(primary.ref, (primary, []))[1].append(finding)
    for citation, findings in groups.values():
        heading = wording.citation_line(citation, lang, ref=False)
        out.write(f"### {_md(heading)} `{citation.ref}`\n\n")
        out.write(f"> {_md(citation.text)}\n\n")
        out.write(_md_header(tuple(md["table"])))
        for f in findings:
            out.write(
                f"| {_status_cell(report, f, lang)} | {wording.severity_name(f.severity, lang)} "
                f"| {_md(f.record.id or '-')} | {_md_where(f, lang)} | {_md(f.record.path or '')} "
                f"| `{f.rule}` {_md(titles[f.rule])} | {_md(f.message(lang))} |\n"
            )
        out.write("\n")
    if report.undetermined:
        out.write(f"### {md['undetermined']}\n\n" + _md_header(tuple(md["undetermined_table"])))
        for f in report.undetermined:
            out.write(
                f"| {_status_cell(report, f, lang)} | {_md(f.record.id or '-')} | {_md_where(f, lang)} | `{f.rule}` "
                f"| {_md(f.missing or '')} | {_md(wording.reason(f.reason, lang))} |\n"
            )
        out.write("\n")
    if report.invalid:
        out.write(f"### {md['invalid']}\n\n" + _md_header(tuple(md["invalid_table"])))
        for item in report.invalid:
            error = wording.record_error(item.error, lang)
            out.write(f"| `{_md(item.record.locator)}` | {_md(item.record.id or '-')} | {_md(error)} |\n")
        out.write("\n")
    if report.input_failures:
        out.write(f"### {md['inputs']}\n\n")
        for failure in report.input_failures:
            out.write(f"- `{_md(failure.source)}`: {_md(failure.error)}\n")
        out.write("\n")
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        out.write(f"### {md['notes']}\n\n")
        for note in notes:
            out.write(f"- {_md(str(note))}\n")
        out.write("\n")


# -- GitHub workflow commands ------------------------------------------------------------------------

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
"""The environment variable naming the file GitHub shows as the job's summary page (Markdown)."""

_LEVEL_ORDER = {"error": 0, "warning": 1, "notice": 2}


def _gh_data(text: str) -> str:
    """Workflow-command data: line breaks as GitHub decodes them, any other control character (ANSI/OSC
    escapes from record data) written visibly."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


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


def _finding_annotation(report: Report, f: Finding, title: str, lang: str) -> tuple[str, str]:
    """The level and workflow command of one finding."""
    d = report.disposition(f)
    if d.blocking:
        level = "error"
    elif d.status is Status.OPEN and f.outcome is Outcome.VIOLATION:
        level = "warning"
    else:
        level = "notice"
    cited = "; ".join(f"{wording.citation_line(c, lang, ref=False)}「{c.text}」" for c in f.citations[:1])
    tag = wording.disposition_tag(d, lang)
    state = f" [{tag}]" if d.status is not Status.OPEN and tag else ""
    item = f" {f.record.path}" if f.record.path else ""
    message = f"{f.record.id or '-'}{item}: {f.message(lang)}{state}\n{title}\n{cited}"
    severity = wording.severity_name(f.severity, lang)
    return level, _gh_command(level, message, title=f"{f.rule} [{severity}]", ref=_first_ref(f))


def _summary_notice(report: Report, levels: list[str], lang: str, summary_written: bool) -> str:
    """The verdict, the totals per annotation type, and where the full report is."""
    w = wording.words(lang)
    totals = ", ".join(
        wording.counted(levels.count(level), level, lang) for level in _LEVEL_ORDER if levels.count(level)
    )
    where = w["job_summary"] if summary_written else w["this_log"]
    lines = [wording.summary(report.counts, lang)]
    if totals:
        lines.append(f"{totals}. {w['annotations_shown']}.")
    lines.append(f"{w['full_report']} {where}")
    title = f"svcpolicy {report.pack.id}: {wording.verdict_text(report.verdict, lang)}"
    return _gh_command("notice", "\n".join(lines), title=title)


def write_github(report: Report, out: TextIO, lang: str = "zh") -> None:
    """A notice with the verdict and totals first, then ``::error file=…,line=…::`` for findings that fail the
    gate, warnings and notices for the rest, most severe first; the Markdown report to the job summary."""
    lang = wording.language(lang)
    titles = wording.rule_titles(report, lang)
    ranked = sorted(report.findings, key=lambda f: -f.severity.rank)
    annotations = [_finding_annotation(report, f, titles[f.rule], lang) for f in ranked]
    for item_ in report.invalid:
        error = wording.record_error(item_.error, lang)
        annotations.append(
            ("error", _gh_command("error", error, title=wording.words(lang)["invalid_heading"], ref=item_.record))
        )
    for failure in report.input_failures:
        message = f"{failure.source}: {failure.error}"
        annotations.append(("error", _gh_command("error", message, title=wording.words(lang)["input_not_read"])))
    for note in report.gate.notes() if report.gate is not None else []:
        location = RecordRef(None, *_split_location(note.location)) if note.location else None
        annotations.append(
            ("warning", _gh_command("warning", note.message, title=f"svcpolicy {note.kind}", ref=location))
        )
    annotations.sort(key=lambda pair: _LEVEL_ORDER[pair[0]])  # stable: most severe first within a level
    summary_path = os.environ.get(STEP_SUMMARY)
    if summary_path:
        with Path(summary_path).open("a", encoding="utf-8") as summary:
            write_markdown(report, summary, lang)
    out.write(_summary_notice(report, [level for level, _ in annotations], lang, bool(summary_path)))
    out.writelines(command for _, command in annotations)


def _split_location(location: str) -> tuple[str, int | None]:
    """``file:line[:col]`` into file and line (a bare file name has no line)."""
    parts = location.rsplit(":", 2)
    numbers = [p for p in parts[1:] if p.isdigit()]
    if len(numbers) == len(parts) - 1 and numbers:
        return parts[0], int(numbers[0])
    return location, None
