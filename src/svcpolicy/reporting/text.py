"""The ``text`` report format, for people: findings grouped by the article they breach, each article's text once.

Every word comes from :mod:`svcpolicy.reporting.wording`, in the report's language (Chinese by default).
"""

from __future__ import annotations

from typing import TextIO

from svcpolicy.reporting import wording
from svcpolicy.reporting.escaping import printable
from svcpolicy.results.findings import Citation, Finding
from svcpolicy.results.report import Report


def _where(finding: Finding, lang: str) -> str:
    """A record finding's file:line, item and record id; a group finding's key and a few of its records."""
    if finding.group is None:
        path = f" {finding.record.path}" if finding.record.path else ""
        return printable(f"{finding.record.locator}{path}  {finding.record.id}")
    w = wording.words(lang)
    key = ", ".join(f"{k}={v}" for k, v in finding.group.items()) or w["no_group"]
    shown = ", ".join(f"{m.id}@{m.locator}" for m in finding.members[:3])
    members = wording.counted(finding.members_total, "record", lang)
    if finding.members_total > 3:
        more = f"，另有 {finding.members_total - 3} 条" if lang == "zh" else f" and {finding.members_total - 3} more"
        shown += more
    return printable(f"{w['group']} [{key}]: {members} ({shown})")


def _tag(report: Report, finding: Finding, lang: str) -> str:
    """``  <waived W-7 until 2026-12-31>`` after a finding the gate excuses (or notes), else nothing."""
    tag = wording.disposition_tag(report.disposition(finding), lang)
    return f"  <{tag}>" if tag else ""


def write_text(report: Report, out: TextIO, lang: str = "zh") -> None:
    """Findings grouped by the article they breach; each article's text is printed once."""
    lang = wording.language(lang)
    w = wording.words(lang)
    titles = wording.rule_titles(report, lang)
    groups: dict[str, tuple[Citation, list[Finding]]] = {}
    for finding in report.violations:
        primary = finding.citations[0]
        groups.setdefault(primary.ref, (primary, []))[1].append(finding)
    for citation, findings in groups.values():
        out.write(f"{wording.citation_line(citation, lang)}\n  「{citation.text}」\n")
        for f in findings:
            severity = wording.severity_name(f.severity, lang)
            out.write(
                f"  {_where(f, lang)}  [{severity}] {f.rule}: {printable(f.message(lang))}{_tag(report, f, lang)}\n"
            )
            also = [c.ref for c in f.citations[1:]]
            if also:
                out.write(f"      {w['also_cites']}: {', '.join(also)}\n")
        out.write("\n")
    undetermined = report.undetermined
    if undetermined:
        out.write(w["undetermined_heading"] + "\n")
        for f in undetermined:
            missing = f" {w['missing']} {f.missing}" if f.missing else ""
            reason = printable(wording.reason(f.reason, lang))
            out.write(f"  {_where(f, lang)}  {f.rule}:{missing} — {reason}{_tag(report, f, lang)}\n")
        out.write("\n")
    if report.invalid:
        out.write(w["invalid_heading"] + "\n")
        for item in report.invalid:
            error = wording.record_error(item.error, lang)
            out.write("  " + printable(f"{item.record.locator}  {item.record.id or '-'}  {error}") + "\n")
        out.write("\n")
    for failure in report.input_failures:
        out.write(f"{w['input_not_read']}: {printable(failure.source)}: {printable(failure.error)}\n")
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        out.write(w["waivers_heading"] + "\n" + "".join(f"  {note}\n" for note in notes) + "\n")
    by_rule = report.violations_by_rule()
    if by_rule:
        out.write(w["by_rule_heading"] + "\n")
        ranked = sorted(by_rule.items(), key=lambda x: -x[1])
        out.write("".join(f"  {wording.number(count):>6}  {rule}  {titles[rule]}\n" for rule, count in ranked))
        out.write("\n")
    as_of = report.as_of.isoformat() if report.as_of else "-"
    out.write(f"{w['pack']} {report.pack.id} {report.pack.version}, {w['as_of']} {as_of}\n")
    out.write(wording.summary(report.counts, lang) + "\n")
