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
from svcpolicy.reporting.finished import feed
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.reporting.titles import RuleTitles
from svcpolicy.results.dispositions import Disposition, Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
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
_UNDETERMINED = ("undetermined", "")
_INVALID = ("invalid", "")


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvStream:
    """CSV written as the run goes: a row per finding as it comes; invalid records, listed after the findings,
    wait in a spill file (:mod:`svcpolicy.reporting.spill`)."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._out, self._lang = out, lang
        self._titles = RuleTitles(report.rules, lang)
        self._writer = csv.writer(out, lineterminator="\n")
        self._writer.writerow(CSV_COLUMNS)
        self._invalid: SpillBuckets[tuple[str, str]] = SpillBuckets()
        self._invalid_rows = csv.writer(_BucketWriter(self._invalid), lineterminator="\n")

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        lang = self._lang
        if isinstance(item, InvalidRecord):
            row: dict[str, object] = {
                "status": Status.OPEN,
                "blocking": "yes",
                "outcome": Outcome.INVALID,
                "record_id": item.record.id,
                "file": item.record.source,
                "line": item.record.line,
                "message": wording.record_error(item.error, lang),
            }
            self._invalid_rows.writerow(_cell(row.get(column)) for column in CSV_COLUMNS)
            return
        f, d = item, disposition
        ref = _first_ref(f)
        self._writer.writerow(
            _cell(v)
            for v in (
                d.status,
                "yes" if d.blocking else "no",
                f.outcome,
                f.severity,
                f.rule,
                self._titles.of(f),
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

    def close(self) -> None:
        """The invalid records' rows, after every finding's."""
        self._out.writelines(self._invalid.read(_INVALID))
        self._invalid.close()


class _BucketWriter:
    """A file-like target for ``csv.writer`` that appends to one spill bucket."""

    def __init__(self, buckets: SpillBuckets[tuple[str, str]]) -> None:
        self._buckets = buckets

    def write(self, text: str) -> int:
        self._buckets.add(_INVALID, text)
        return len(text)


def write_csv(report: Report, out: TextIO, lang: str = "zh") -> None:
    """One row per finding and per invalid record, with the columns of ``CSV_COLUMNS``."""
    feed(CsvStream(report, out, lang), report)


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
    (brackets escaped, bare addresses defanged to ``https[:]//`` and ``www[.]``); other control characters (a CR
    that would end the row, terminal escapes, bidi overrides) written visibly, as in ``text``."""
    text = "" if value is None else str(value)
    text = _BARE_LINK.sub(lambda m: m.group(0)[:-1] + "[" + m.group(0)[-1] + "]", text.replace("://", "[:]//"))
    for raw, safe in _MD_ESCAPES:
        text = text.replace(raw, safe)
    return printable(text)


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


def _status_cell(d: Disposition, lang: str) -> str:
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


class MarkdownStream:
    """Markdown written at the end of the run (its heading carries the verdict and the counts), its findings
    rendered as they come into the bucket of their article (:mod:`svcpolicy.reporting.spill`)."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._lang = lang = wording.language(lang)
        self._titles = RuleTitles(report.rules, lang)
        self._buckets: SpillBuckets[tuple[str, str]] = SpillBuckets()

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        lang, buckets, md = self._lang, self._buckets, _MD_WORDS[self._lang]
        if isinstance(item, InvalidRecord):
            error = wording.record_error(item.error, lang)
            buckets.add(_INVALID, f"| `{_md(item.record.locator)}` | {_md(item.record.id or '-')} | {_md(error)} |\n")
        elif item.outcome is Outcome.VIOLATION:
            f = item
            primary = f.citations[0]
            key = ("article", primary.ref)
            if key not in buckets:
                heading = wording.citation_line(primary, lang, ref=False)
                buckets.add(key, f"### {_md(heading)} `{primary.ref}`\n\n> {_md(primary.text)}\n\n")
                buckets.add(key, _md_header(tuple(md["table"])))
            buckets.add(
                key,
                f"| {_status_cell(disposition, lang)} | {wording.severity_name(f.severity, lang)} "
                f"| {_md(f.record.id or '-')} | {_md_where(f, lang)} | {_md(f.record.path or '')} "
                f"| `{f.rule}` {_md(self._titles.of(f))} | {_md(f.message(lang))} |\n",
            )
        elif item.outcome is Outcome.UNDETERMINED:
            f = item
            buckets.add(
                _UNDETERMINED,
                f"| {_status_cell(disposition, lang)} | {_md(f.record.id or '-')} | {_md_where(f, lang)} | `{f.rule}` "
                f"| {_md(f.missing or '')} | {_md(wording.reason(f.reason, lang))} |\n",
            )

    def close(self) -> None:
        """The verdict and counts, then the findings under the article they breach, then the rest."""
        report, out, lang, buckets = self._report, self._out, self._lang, self._buckets
        md = _MD_WORDS[lang]
        verdict = wording.verdict_text(report.verdict, lang)
        as_of = report.as_of.isoformat() if report.as_of else "-"
        out.write(f"## svcpolicy: {_md(report.pack.id)} {_md(report.pack.version)} — {verdict}\n\n")
        out.write(f"{md['as_of']} {as_of}. {_md(wording.summary(report.counts, lang))}\n\n")
        c = report.counts
        out.write(_md_header(tuple(md["columns"]), "---:"))
        numbers = (c.records, c.compliant, c.with_violations, c.undetermined, c.invalid, c.violations, c.waived)
        out.write("| " + " | ".join(wording.number(n) for n in (*numbers, c.baselined)) + " |\n\n")
        for key in buckets.items:
            if key[0] == "article":
                out.writelines(buckets.read(key))
                out.write("\n")
        if _UNDETERMINED in buckets:
            out.write(f"### {md['undetermined']}\n\n" + _md_header(tuple(md["undetermined_table"])))
            out.writelines(buckets.read(_UNDETERMINED))
            out.write("\n")
        if _INVALID in buckets:
            out.write(f"### {md['invalid']}\n\n" + _md_header(tuple(md["invalid_table"])))
            out.writelines(buckets.read(_INVALID))
            out.write("\n")
        buckets.close()
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


def write_markdown(report: Report, out: TextIO, lang: str = "zh") -> None:
    """A summary for a CI job page or a merge request: counts, then findings under the article they breach."""
    feed(MarkdownStream(report, out, lang), report)


# -- GitHub workflow commands ------------------------------------------------------------------------

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
"""The environment variable naming the file GitHub shows as the job's summary page (Markdown)."""

_LEVEL_ORDER = {"error": 0, "warning": 1, "notice": 2}
_GH_INVALID = ("invalid", "error", 0)


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


def _finding_annotation(f: Finding, d: Disposition, title: str, lang: str) -> tuple[str, str]:
    """The level and workflow command of one finding."""
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


class GithubStream:
    """Workflow commands written at the end of the run (the notice with the verdict comes first), each finding's
    rendered as it comes into the bucket of its level and severity (:mod:`svcpolicy.reporting.spill`). With
    ``$GITHUB_STEP_SUMMARY`` set, a Markdown stream fed the same items writes the job summary."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._lang = lang = wording.language(lang)
        self._titles = RuleTitles(report.rules, lang)
        self._buckets: SpillBuckets[tuple[str, str, int]] = SpillBuckets()
        summary_path = os.environ.get(STEP_SUMMARY)
        self._summary = Path(summary_path).open("a", encoding="utf-8") if summary_path else None  # noqa: SIM115
        self._markdown = MarkdownStream(report, self._summary, lang) if self._summary is not None else None

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        if self._markdown is not None:
            self._markdown.write(item, disposition)
        if isinstance(item, InvalidRecord):
            error = wording.record_error(item.error, self._lang)
            title = wording.words(self._lang)["invalid_heading"]
            self._buckets.add(_GH_INVALID, _gh_command("error", error, title=title, ref=item.record))
            return
        level, command = _finding_annotation(item, disposition, self._titles.of(item), self._lang)
        self._buckets.add(("finding", level, item.severity.rank), command)

    def close(self) -> None:
        """The notice with the verdict and totals, then errors, warnings and notices, most severe first."""
        report, lang, buckets = self._report, self._lang, self._buckets
        if self._markdown is not None and self._summary is not None:
            self._markdown.close()
            self._summary.close()
        w = wording.words(lang)
        failures = [
            _gh_command("error", f"{failure.source}: {failure.error}", title=w["input_not_read"])
            for failure in report.input_failures
        ]
        notes = [
            _gh_command(
                "warning",
                note.message,
                title=f"svcpolicy {note.kind}",
                ref=RecordRef(None, *_split_location(note.location)) if note.location else None,
            )
            for note in (report.gate.notes() if report.gate is not None else [])
        ]
        findings = sorted((key for key in buckets.items if key[0] == "finding"), key=lambda key: -key[2])
        levels: list[str] = []
        for level in _LEVEL_ORDER:
            levels += [level] * sum(buckets.items[key] for key in findings if key[1] == level)
            if level == "error":
                levels += [level] * (buckets.items.get(_GH_INVALID, 0) + len(failures))
            elif level == "warning":
                levels += [level] * len(notes)
        self._out.write(_summary_notice(report, levels, lang, self._summary is not None))
        for level in _LEVEL_ORDER:
            for key in findings:
                if key[1] == level:
                    self._out.writelines(buckets.read(key))
            if level == "error":
                self._out.writelines(buckets.read(_GH_INVALID))
                self._out.writelines(failures)
            elif level == "warning":
                self._out.writelines(notes)
        buckets.close()


def write_github(report: Report, out: TextIO, lang: str = "zh") -> None:
    """A notice with the verdict and totals first, then ``::error file=…,line=…::`` for findings that fail the
    gate, warnings and notices for the rest, most severe first; the Markdown report to the job summary."""
    feed(GithubStream(report, out, lang), report)


def _split_location(location: str) -> tuple[str, int | None]:
    """``file:line[:col]`` into file and line (a bare file name has no line)."""
    parts = location.rsplit(":", 2)
    numbers = [p for p in parts[1:] if p.isdigit()]
    if len(numbers) == len(parts) - 1 and numbers:
        return parts[0], int(numbers[0])
    return location, None
