"""JUnit XML output, read by CI dashboards (Jenkins, GitLab, Azure DevOps, GitHub test reporters).

The pack is a test suite. Each finding is a test case of its own (class ``<pack>.<rule>``, named after the
record, or the group, it is about), so readers that count one failure per case count the findings: a finding
that fails the gate is a ``<failure>`` (message, record, file:line, the cited articles verbatim); one that does
not — waived, in the baseline, below ``--fail-on``, or undetermined when undetermined does not fail — is
``<skipped>`` with the reason, never dropped. A rule with no finding is one passing case. Each invalid record is
an ``<error>`` case of ``svcpolicy.records``, each unreadable input one of ``svcpolicy.inputs``; each waiver that
fails the run under ``--fail-on-stale-waivers`` is a ``<failure>`` case of ``svcpolicy.waivers``. So the suite
fails exactly when the gate's verdict does.

Record data is written as the text format writes it (:func:`~svcpolicy.reporting.escaping.printable`): its control
characters visible (``\\x1b``, ``\\x0a``), so a line break in a record id cannot start a line of its own, which a
CI log printing the XML would run as a workflow command (``::error::``), nor an escape drive a terminal.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TextIO

from svcpolicy.reporting import wording
from svcpolicy.reporting.escaping import printable
from svcpolicy.reporting.finished import feed
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.reporting.titles import RuleTitles
from svcpolicy.results.dispositions import Disposition
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome
from svcpolicy.results.report import Report

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold (control characters from record data) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _where(finding: Finding, lang: str) -> str:
    ref = finding.record if finding.group is None else (finding.members[0] if finding.members else finding.record)
    path = f" {finding.record.path}" if finding.record.path else ""
    w = wording.words(lang)
    group = f" {w['group']} {finding.group}" if finding.group is not None else ""
    return printable(f"{ref.locator}{path} {w['record']} {ref.id or '-'}{group}")


def _case_name(finding: Finding) -> str:
    """What a finding's case is about: the record (and item), or the group's key."""
    if finding.group is not None:
        return printable(", ".join(f"{k}={v}" for k, v in finding.group.items()) or "group")
    path = f" {finding.record.path}" if finding.record.path else ""
    return printable(f"{finding.record.id or finding.record.locator}{path}")


def _detail(finding: Finding, title: str, lang: str) -> str:
    w = wording.words(lang)
    severity = wording.severity_name(finding.severity, lang)
    lines = [_where(finding, lang), f"[{severity}] {finding.rule} {title}: {printable(finding.message(lang))}"]
    if finding.missing or finding.reason:
        lines.append(printable(f"{w['missing']} {finding.missing or '-'}: {wording.reason(finding.reason, lang)}"))
    lines.extend(wording.citation_line(c, lang, text=True) for c in finding.citations)
    lines.append(f"{w['fingerprint']} {finding.fingerprint}")
    return "\n".join(lines)


@dataclass
class _Tally:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0


_INVALID = ("invalid", "")
_SLOT = "svcpolicy-testcases"
"""Where the test cases go in the suite's skeleton (an element name no case can have)."""
_CASE_INDENT = "\n    "
"""What stands before a test case in the indented document (cases are children of the suite, two levels in)."""


def _case(classname: str, name: str) -> ET.Element:
    return ET.Element("testcase", classname=classname, name=name)


def _xml(case: ET.Element) -> str:
    """One test case as it reads in the indented document, with what stands before it."""
    for element in case.iter():
        if element.text:
            element.text = _xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_safe(value))
    ET.indent(case, level=2)
    return _CASE_INDENT + ET.tostring(case, encoding="unicode")


class JunitStream:
    """JUnit XML written at the end of the run (the suite's totals come first), each finding's test case rendered
    as it comes into the bucket of its rule (:mod:`svcpolicy.reporting.spill`)."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._lang = lang = wording.language(lang)
        self._titles = RuleTitles(report.rules, lang)
        self._buckets: SpillBuckets[tuple[str, str]] = SpillBuckets()
        self._tally = _Tally()

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        lang, pack, tally = self._lang, self._report.pack, self._tally
        w = wording.words(lang)
        tally.tests += 1
        if isinstance(item, InvalidRecord):
            tally.errors += 1
            testcase = _case(f"{pack.id}.svcpolicy", "svcpolicy.records")
            locator = printable(item.record.locator)
            error = ET.SubElement(testcase, "error", message=f"{w['invalid']} {locator}", type="invalid")
            error.text = printable(f"{locator} {item.record.id or '-'}: {wording.record_error(item.error, lang)}")
            self._buckets.add(_INVALID, _xml(testcase))
            return
        finding, title = item, self._titles.of(item)
        testcase = _case(f"{pack.id}.{finding.rule}", f"{finding.rule} {_case_name(finding)}")
        message = printable(f"{finding.record.id or _where(finding, lang)}: {finding.message(lang)}")
        if disposition.blocking:
            tally.failures += 1
            failure = ET.SubElement(testcase, "failure", message=message, type=f"{finding.outcome}/{finding.severity}")
            failure.text = _detail(finding, title, lang)
        else:
            tally.skipped += 1
            why = wording.disposition_tag(disposition, lang) or (
                w["below_threshold"]
                if finding.outcome is Outcome.VIOLATION
                else wording.outcome_name(finding.outcome, lang)
            )
            skipped = ET.SubElement(testcase, "skipped", message=f"{why}: {message}")
            skipped.text = _detail(finding, title, lang)
        self._buckets.add(("rule", finding.rule), _xml(testcase))

    def close(self) -> None:
        """The suite with its totals, each rule's cases (one passing case for a rule with no finding), then the
        invalid records, unread inputs and stale waivers."""
        report, out, lang, buckets, tally = self._report, self._out, self._lang, self._buckets, self._tally
        w = wording.words(lang)
        passing = sum(1 for rule in self._titles.rules if ("rule", rule) not in buckets)
        after: list[str] = []
        for failure_ in report.input_failures:
            tally.errors += 1
            testcase = _case(f"{report.pack.id}.svcpolicy", "svcpolicy.inputs")
            source = printable(failure_.source)
            error = ET.SubElement(testcase, "error", message=f"{w['input_not_read']}: {source}", type="input")
            error.text = printable(failure_.error)
            after.append(_xml(testcase))
        for note in report.verdict.stale_waivers:
            tally.failures += 1
            testcase = _case(f"{report.pack.id}.svcpolicy", "svcpolicy.waivers")
            failure = ET.SubElement(testcase, "failure", message=printable(note.message), type=note.kind)
            failure.text = printable(str(note))
            after.append(_xml(testcase))
        tally.tests += passing + len(after)
        before, rest = _skeleton(report, tally, lang).split(f"<{_SLOT} />")
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(before.removesuffix(_CASE_INDENT))
        for rule in self._titles.rules:
            if ("rule", rule) in buckets:
                out.writelines(buckets.read(("rule", rule)))
            else:
                out.write(_xml(_case(f"{report.pack.id}.{rule}", f"{rule} {self._titles[rule]}")))
        out.writelines(buckets.read(_INVALID))
        out.writelines(after)
        out.write(rest + "\n")
        buckets.close()


def _skeleton(report: Report, tally: _Tally, lang: str) -> str:
    """The indented document without its test cases: the suite, its properties and notes, and a slot."""
    suites = ET.Element("testsuites", name="svcpolicy")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"{report.pack.id} {report.pack.version}",
        timestamp=(report.as_of or dt.datetime.now(dt.UTC)).replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("pack", report.pack.id),
        ("pack_version", report.pack.version),
        ("as_of", report.as_of.isoformat() if report.as_of else ""),
        ("summary", wording.summary(report.counts, lang)),
        ("verdict", wording.verdict_text(report.verdict, lang)),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    ET.SubElement(suite, _SLOT)
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        ET.SubElement(suite, "system-err").text = "\n".join(printable(str(note)) for note in notes)
    for element in (suite, suites):
        element.set("tests", str(tally.tests))
        element.set("failures", str(tally.failures))
        element.set("errors", str(tally.errors))
        element.set("skipped", str(tally.skipped))
        element.set("time", "0")
    for element in suites.iter():
        if element.text:
            element.text = _xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_safe(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode")


def write_junit(report: Report, out: TextIO, lang: str = "zh") -> None:
    """The report as one JUnit test suite, failing exactly when the gate's verdict does."""
    feed(JunitStream(report, out, lang), report)
