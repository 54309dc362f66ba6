"""SARIF 2.1.0 output, for code-scanning dashboards (GitHub, GitLab, Azure DevOps) and SARIF viewers.

One run per report. The driver lists one ``reportingDescriptor`` per rule of the pack, with the provisions it
enforces (verbatim) in ``properties.citations``. Each finding is a ``result`` pointing at the record's file and
line (``region.startLine``), with the record id and item path as a logical location and the finding's
fingerprint in ``partialFingerprints`` so dashboards track it across runs. Waived findings carry an external,
accepted ``suppression`` (reason, approver, expiry); with a baseline, ``baselineState`` says new or unchanged.
Invalid records are results of the tool's own rule ``svcpolicy/invalid-record``; unreadable inputs and
waiver/baseline notes are invocation notifications. The invocation's ``properties.verdict`` is the gate's
verdict (passed, blocking, reasons): ``executionSuccessful`` is false only when an input could not be read.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any, TextIO

import orjson

from svcpolicy.records.readers import source_path
from svcpolicy.reporting import wording
from svcpolicy.reporting.finished import feed
from svcpolicy.results.catalog import RuleInfo, rules_of
from svcpolicy.results.dispositions import Disposition, Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Report
from svcpolicy.severity import Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "svcpolicyFingerprint/v1"
INVALID_RECORD_RULE = "svcpolicy/invalid-record"

_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def level(severity: Severity) -> str:
    """SARIF level of a severity: critical/high are errors, medium warnings, low/info notes."""
    return _LEVELS[severity]


def _descriptor(rule: RuleInfo, lang: str) -> dict[str, Any]:
    help_text = "\n".join(wording.citation_line(c, lang, text=True) for c in rule.citations)
    help_md = "\n\n".join(
        f"**{wording.citation_line(c, lang, ref=False)}** `{c.ref}`\n\n> {c.text}" for c in rule.citations
    )
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": wording.rule_title(rule, lang)},
        "defaultConfiguration": {"level": level(rule.severity)},
        "help": {"text": help_text, "markdown": help_md},
        "properties": {
            "severity": str(rule.severity),
            "kind": rule.kind,
            "waivable": rule.waivable,
            "citations": [c.to_dict() for c in rule.citations],
            "tags": ["compliance", str(rule.severity)],
        },
    }
    description = wording.rule_description(rule, lang)
    if description:
        descriptor["fullDescription"] = {"text": description}
    return descriptor


def artifact_location(source: str) -> dict[str, Any]:
    """A file as SARIF wants it: relative to the working directory (``%SRCROOT%``) when it lies inside it. The
    URI percent-encodes the name's real bytes, so that a name that is not UTF-8 (shown escaped, ``n\\xff.jsonl``,
    in every text) still leads to the file."""
    path = Path(os.fsdecode(source_path(source)))
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return {"uri": path.as_uri()}
    return {"uri": urllib.parse.quote(os.fsencode(path.as_posix())), "uriBaseId": SRCROOT}


def _location(ref: RecordRef) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if ref.source is not None and not ref.source.startswith("<"):
        physical: dict[str, Any] = {"artifactLocation": artifact_location(ref.source)}
        if ref.line:
            physical["region"] = {"startLine": ref.line}
        location["physicalLocation"] = physical
    if ref.id is not None:
        name = ref.id if ref.path is None else f"{ref.id}/{ref.path}"
        location["logicalLocations"] = [{"name": ref.path or ref.id, "fullyQualifiedName": name, "kind": "object"}]
    return location


def _result(finding: Finding, disposition: Disposition, index: int, lang: str, has_baseline: bool) -> dict[str, Any]:
    primary = finding.citations[0] if finding.citations else None
    cited = f" ({wording.citation_line(primary, lang, ref=False)})" if primary else ""
    result: dict[str, Any] = {"ruleId": finding.rule, "ruleIndex": index}
    if finding.outcome is Outcome.VIOLATION:
        result["kind"] = "fail"
        result["level"] = level(finding.severity)
    else:
        result["kind"] = "review"
        result["level"] = "none"
    result["message"] = {"text": finding.message(lang) + cited}
    refs = [finding.record] if finding.group is None else list(finding.members)
    locations = [loc for loc in (_location(r) for r in refs[:1]) if loc]
    if locations:
        result["locations"] = locations
    related = [{"id": i, **loc} for i, loc in enumerate((_location(r) for r in refs[1:]), start=1) if loc]
    if related:
        result["relatedLocations"] = related
    result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if has_baseline:
        result["baselineState"] = "unchanged" if disposition.status is Status.BASELINED else "new"
    if disposition.status is Status.WAIVED and disposition.waiver is not None:
        placed = waiver = disposition.waiver
        suppression: dict[str, Any] = {
            "kind": "external",
            "status": "accepted",
            "justification": waiver.reason,
            "properties": {
                "waiver": placed.label,
                "approver": waiver.approver,
                "expires": waiver.expires.isoformat(),
                "ticket": waiver.ticket,
            },
        }
        if placed.location.file:
            region = {"startLine": placed.location.line} if placed.location.line else None
            physical: dict[str, Any] = {"artifactLocation": artifact_location(placed.location.file)}
            if region:
                physical["region"] = region
            suppression["location"] = {"physicalLocation": physical}
        result["suppressions"] = [suppression]
    properties: dict[str, Any] = {
        "severity": str(finding.severity),
        "outcome": str(finding.outcome),
        "status": str(disposition.status),
        "blocking": disposition.blocking,
        "recordId": finding.record.id,
        "itemPath": finding.record.path,
        "citations": [c.ref for c in finding.citations],
        "evidence": finding.evidence,
    }
    if finding.missing or finding.reason:
        properties["missing"] = finding.missing
        properties["reason"] = finding.reason
    if finding.group is not None:
        properties["group"] = finding.group
        properties["membersTotal"] = finding.members_total
    if disposition.note:
        properties["gateNote"] = disposition.note
    result["properties"] = properties
    return result


def _invalid_result(item: InvalidRecord, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": INVALID_RECORD_RULE,
        "ruleIndex": index,
        "kind": "fail",
        "level": "error",
        "message": {"text": f"invalid record {item.record.id or ''}: {item.error}".replace("  ", " ")},
    }
    location = _location(item.record)
    if location:
        result["locations"] = [location]
    return result


_INVALID_DESCRIPTOR = {
    "id": INVALID_RECORD_RULE,
    "shortDescription": {"text": "A record could not be parsed or fails the record model"},
    "defaultConfiguration": {"level": "error"},
    "properties": {"tags": ["svcpolicy"]},
}


def _json(value: Any, indent: int) -> str:
    """Indented JSON to stand ``indent`` spaces in (orjson escapes line breaks inside strings, so lines split)."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    return text.replace("\n", "\n" + " " * indent)


class SarifStream:
    """A SARIF log written as the run goes: each result as it comes, the rules and the invocation (with the
    gate's verdict) at the end, when the report is finished. Memory stays with the rules, not the findings."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out, self._lang = report, out, lang
        catalog = rules_of(report.rules, ())
        self._rules: list[RuleInfo | None] = list(catalog)
        """The rules in ``ruleIndex`` order, as they are first met; None is the invalid-record rule."""
        self._index = {rule.id: i for i, rule in enumerate(catalog)}
        self._invalid_index: int | None = None
        self._count = 0
        out.write(f'{{\n  "$schema": "{SARIF_SCHEMA}",\n  "version": "{SARIF_VERSION}",\n  "runs": [\n    {{\n')
        out.write('      "results": [')

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        if isinstance(item, InvalidRecord):
            if self._invalid_index is None:
                self._invalid_index = len(self._rules)
                self._rules.append(None)
            result = _invalid_result(item, self._invalid_index)
        else:
            if item.rule not in self._index:
                self._index[item.rule] = len(self._rules)
                self._rules.append(RuleInfo(item.rule, item.title, item.severity, item.citations))
            has_baseline = self._report.gate is not None and self._report.gate.has_baseline
            result = _result(item, disposition, self._index[item.rule], self._lang, has_baseline)
        self._out.write(("," if self._count else "") + "\n        " + _json(result, 8))
        self._count += 1

    def close(self) -> None:
        """The rest of the run: rules, invocation with the verdict, counts and gate."""
        from svcpolicy._version import __version__

        report = self._report
        descriptors = [_INVALID_DESCRIPTOR if rule is None else _descriptor(rule, self._lang) for rule in self._rules]
        verdict = report.verdict
        invocation: dict[str, Any] = {
            "executionSuccessful": not verdict.input_failures,
            "properties": {"verdict": verdict.to_dict()},
        }
        failures = [
            {
                "level": "error",
                "message": {"text": f"input not read: {failure.error}"},
                "locations": [{"physicalLocation": {"artifactLocation": artifact_location(failure.source)}}],
            }
            for failure in report.input_failures
        ]
        if failures:
            invocation["toolExecutionNotifications"] = failures
        notes = report.gate.notes() if report.gate is not None else []
        if notes:
            invocation["toolConfigurationNotifications"] = [
                {"level": "warning", "message": {"text": str(note)}, "descriptor": {"id": note.kind}} for note in notes
            ]
        rest: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "svcpolicy",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": descriptors,
                    "properties": {"pack": report.pack.to_dict()},
                }
            },
            "invocations": [invocation],
            "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
            "properties": {
                "pack": report.pack.to_dict(),
                "asOf": report.as_of.isoformat() if report.as_of else None,
                "counts": report.counts.to_dict(),
                "gate": None if report.gate is None else report.gate.to_dict(),
            },
        }
        members = ",\n".join(f"      {_json(key, 6)}: {_json(value, 6)}" for key, value in rest.items())
        self._out.write(("\n      ]" if self._count else "]") + ",\n" + members + "\n    }\n  ]\n}\n")


def write_sarif(report: Report, out: TextIO, lang: str = "zh") -> None:
    """The report as a SARIF 2.1.0 log."""
    feed(SarifStream(report, out, lang), report)
