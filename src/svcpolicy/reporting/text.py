"""The ``text`` report format, for people: findings grouped by the article they breach, each article's text once.

Every word comes from :mod:`svcpolicy.reporting.wording`, in the report's language (Chinese by default). It is
written as a run goes (``svcpolicy check`` streams it): each finding is rendered as it comes into the bucket of
its article (:mod:`svcpolicy.reporting.spill`), and the buckets, the tallies and the summary are printed at the
end, so memory does not grow with the findings.
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from svcpolicy.reporting import wording
from svcpolicy.reporting.escaping import printable
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.reporting.titles import RuleTitles
from svcpolicy.results.dispositions import Disposition
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome
from svcpolicy.results.report import Report

_UNDETERMINED = ("undetermined", "")
_INVALID = ("invalid", "")


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


def _tag(disposition: Disposition, lang: str) -> str:
    """``  <waived W-7 until 2026-12-31>`` after a finding the gate excuses (or notes), else nothing."""
    tag = wording.disposition_tag(disposition, lang)
    return f"  <{printable(tag)}>" if tag else ""  # a waiver's id, from its file


class TextStream:
    """The text report written as the run goes: findings spilled by article, everything printed at the end."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._lang = lang = wording.language(lang)
        self._words = wording.words(lang)
        self._titles = RuleTitles(report.rules, lang)
        self._buckets: SpillBuckets[tuple[str, str]] = SpillBuckets()
        self._by_rule: Counter[str] = Counter()

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        lang, buckets = self._lang, self._buckets
        if isinstance(item, InvalidRecord):
            error = wording.record_error(item.error, lang)
            buckets.add(_INVALID, "  " + printable(f"{item.record.locator}  {item.record.id or '-'}  {error}") + "\n")
        elif item.outcome is Outcome.VIOLATION:
            self._titles.of(item)
            self._by_rule[item.rule] += 1
            primary = item.citations[0]
            key = ("article", primary.ref)
            if key not in buckets:
                buckets.add(key, f"{wording.citation_line(primary, lang)}\n  「{primary.text}」\n")
            severity = wording.severity_name(item.severity, lang)
            line = f"  {_where(item, lang)}  [{severity}] {item.rule}: {printable(item.message(lang))}"
            also = [c.ref for c in item.citations[1:]]
            more = f"      {self._words['also_cites']}: {', '.join(also)}\n" if also else ""
            buckets.add(key, f"{line}{_tag(disposition, lang)}\n{more}")
        elif item.outcome is Outcome.UNDETERMINED:
            missing = f" {self._words['missing']} {item.missing}" if item.missing else ""
            reason = printable(wording.reason(item.reason, lang))
            buckets.add(
                _UNDETERMINED, f"  {_where(item, lang)}  {item.rule}:{missing} — {reason}{_tag(disposition, lang)}\n"
            )

    def close(self) -> None:
        """Articles with their findings, the undetermined and invalid, notes, tallies and the summary."""
        report, out, lang, w, buckets = self._report, self._out, self._lang, self._words, self._buckets
        for key in buckets.items:
            if key[0] == "article":
                out.writelines(buckets.read(key))
                out.write("\n")
        for key, heading in ((_UNDETERMINED, "undetermined_heading"), (_INVALID, "invalid_heading")):
            if key in buckets:
                out.write(w[heading] + "\n")
                out.writelines(buckets.read(key))
                out.write("\n")
        buckets.close()
        for failure in report.input_failures:
            out.write(f"{w['input_not_read']}: {printable(failure.source)}: {printable(failure.error)}\n")
        notes = report.gate.notes() if report.gate is not None else []
        if notes:
            out.write(w["waivers_heading"] + "\n" + "".join(f"  {printable(note)}\n" for note in notes) + "\n")
        if self._by_rule:
            out.write(w["by_rule_heading"] + "\n")
            ranked = sorted(self._by_rule.items(), key=lambda x: -x[1])
            titles = self._titles
            out.write("".join(f"  {wording.number(count):>6}  {rule}  {titles[rule]}\n" for rule, count in ranked))
            out.write("\n")
        as_of = report.as_of.isoformat() if report.as_of else "-"
        out.write(f"{w['pack']} {report.pack.id} {report.pack.version}, {w['as_of']} {as_of}\n")
        out.write(wording.summary(report.counts, lang) + "\n")


def write_text(report: Report, out: TextIO, lang: str = "zh") -> None:
    """Findings grouped by the article they breach; each article's text is printed once."""
    stream = TextStream(report, out, lang)
    items: list[Finding | InvalidRecord] = [*report.findings, *report.invalid]
    for item in items:
        stream.write(item, report.disposition(item))
    stream.close()
