"""JUnit XML output, read by CI dashboards (Jenkins, GitLab, Azure DevOps, GitHub test reporters).

The pack is a test suite and each rule a test case: a rule with no finding that fails the gate passes. Each
finding that fails the gate is a ``<failure>`` of its rule's case (message, record, file:line, and the cited
articles verbatim). Findings that do not fail it — waived, in the baseline, below ``--fail-on``, or
undetermined when undetermined does not fail — are listed in the case's ``<system-out>``, never dropped.
Invalid records are ``<error>`` elements of a case ``svcpolicy.records``, unreadable inputs of
``svcpolicy.inputs``.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import TextIO

from svcpolicy.results.catalog import rules_of
from svcpolicy.results.findings import Finding
from svcpolicy.results.report import Report

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold (control characters from record data) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _where(finding: Finding) -> str:
    ref = finding.record if finding.group is None else (finding.members[0] if finding.members else finding.record)
    path = f" {finding.record.path}" if finding.record.path else ""
    group = f" group {finding.group}" if finding.group is not None else ""
    return f"{ref.locator}{path} record {ref.id or '-'}{group}"


def _detail(finding: Finding, lang: str) -> str:
    lines = [f"{_where(finding)}", f"[{finding.severity}] {finding.rule}: {finding.message(lang)}"]
    if finding.missing or finding.reason:
        lines.append(f"missing {finding.missing or '-'}: {finding.reason or ''}")
    for c in finding.citations:
        chapter = f" {c.chapter}" if c.chapter else ""
        lines.append(f"{c.title} {c.display_label}{chapter} [{c.ref}]: 「{c.text}」")
    lines.append(f"fingerprint {finding.fingerprint}")
    return "\n".join(lines)


def junit_tree(report: Report, *, lang: str = "zh") -> ET.ElementTree[ET.Element]:
    rules = rules_of(report.rules, report.findings)
    by_rule: dict[str, list[Finding]] = {rule.id: [] for rule in rules}
    for finding in report.findings:
        by_rule[finding.rule].append(finding)
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
        ("summary", report.counts.summary()),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    tests = failures = errors = 0
    for rule in rules:
        case = ET.SubElement(suite, "testcase", classname=f"{report.pack.id}.{rule.id.split('-')[0]}", name=rule.id)
        tests += 1
        passed_through: list[str] = []
        for finding in by_rule[rule.id]:
            disposition = report.disposition(finding)
            if disposition.blocking:
                failures += 1
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{finding.record.id or _where(finding)}: {finding.message(lang)}",
                    type=f"{finding.outcome}/{finding.severity}",
                )
                failure.text = _detail(finding, lang)
            else:
                why = disposition.tag or (
                    "below --fail-on" if finding.outcome.value == "violation" else str(finding.outcome)
                )
                passed_through.append(f"{why}: {_where(finding)} {finding.rule}: {finding.message(lang)}")
        if passed_through:
            ET.SubElement(case, "system-out").text = "\n".join(passed_through)
    if report.invalid:
        case = ET.SubElement(suite, "testcase", classname=f"{report.pack.id}.svcpolicy", name="svcpolicy.records")
        tests += 1
        for item in report.invalid:
            errors += 1
            error = ET.SubElement(case, "error", message=f"invalid record {item.record.locator}", type="invalid")
            error.text = f"{item.record.locator} {item.record.id or '-'}: {item.error}"
    if report.input_failures:
        case = ET.SubElement(suite, "testcase", classname=f"{report.pack.id}.svcpolicy", name="svcpolicy.inputs")
        tests += 1
        for failure_ in report.input_failures:
            errors += 1
            error = ET.SubElement(case, "error", message=f"input not read: {failure_.source}", type="input")
            error.text = failure_.error
    notes = report.gate.notes() if report.gate is not None else []
    if notes:
        ET.SubElement(suite, "system-err").text = "\n".join(str(note) for note in notes)
    for element in (suite, suites):
        element.set("tests", str(tests))
        element.set("failures", str(failures))
        element.set("errors", str(errors))
        element.set("skipped", "0")
        element.set("time", "0")
    for element in suites.iter():
        if element.text:
            element.text = _xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_safe(value))
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(report: Report, out: TextIO, lang: str = "zh") -> None:
    tree = junit_tree(report, lang=lang)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(tree.getroot(), encoding="unicode"))
    out.write("\n")
