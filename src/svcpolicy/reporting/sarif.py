"""SARIF 2.1.0 output, for code-scanning dashboards (GitHub, GitLab, Azure DevOps) and SARIF viewers.

One run per report. The driver lists one ``reportingDescriptor`` per rule of the pack, with the provisions it
enforces (verbatim) in ``properties.citations``. Each finding is a ``result`` pointing at the record's file and
line (``region.startLine``), with the record id and item path as a logical location and the finding's
fingerprint in ``partialFingerprints`` so dashboards track it across runs. Waived findings carry an external,
accepted ``suppression`` (reason, approver, expiry); with a baseline, ``baselineState`` says new or unchanged.
Invalid records are results of the tool's own rule ``svcpolicy/invalid-record``; unreadable inputs and
waiver/baseline notes are invocation notifications.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any, TextIO

import orjson

from svcpolicy.pack.schema import Severity
from svcpolicy.results.catalog import RuleInfo, rules_of
from svcpolicy.results.dispositions import Status
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Report

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


def _citation_line(citation: Citation) -> str:
    chapter = f" {citation.chapter}" if citation.chapter else ""
    return f"{citation.title} {citation.display_label}{chapter} [{citation.ref}]: 「{citation.text}」"


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    help_text = "\n".join(_citation_line(c) for c in rule.citations)
    help_md = "\n\n".join(
        f"**{c.title} {c.display_label}**{' ' + c.chapter if c.chapter else ''} `{c.ref}`\n\n> {c.text}"
        for c in rule.citations
    )
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.title},
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
    if rule.description:
        descriptor["fullDescription"] = {"text": rule.description}
    return descriptor


def artifact_location(source: str) -> dict[str, Any]:
    """A file as SARIF wants it: relative to the working directory (``%SRCROOT%``) when it lies inside it."""
    path = Path(source)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return {"uri": path.as_uri()}
    return {"uri": urllib.parse.quote(path.as_posix()), "uriBaseId": SRCROOT}


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


def _result(report: Report, finding: Finding, index: int, lang: str) -> dict[str, Any]:
    disposition = report.disposition(finding)
    primary = finding.citations[0] if finding.citations else None
    cited = f" ({primary.title} {primary.display_label})" if primary else ""
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
    if report.gate is not None and report.gate.baseline is not None:
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


def sarif_log(report: Report, *, lang: str = "zh") -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict ready for JSON)."""
    from svcpolicy._version import __version__

    rules = rules_of(report.rules, report.findings)
    descriptors = [_descriptor(rule) for rule in rules]
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = [_result(report, f, index[f.rule], lang) for f in report.findings]
    if report.invalid:
        descriptors.append(
            {
                "id": INVALID_RECORD_RULE,
                "shortDescription": {"text": "A record could not be parsed or fails the record model"},
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["svcpolicy"]},
            }
        )
        results.extend(_invalid_result(item, len(descriptors) - 1) for item in report.invalid)
    invocation: dict[str, Any] = {"executionSuccessful": not report.input_failures}
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
    run: dict[str, Any] = {
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
        "results": results,
        "properties": {
            "pack": report.pack.to_dict(),
            "asOf": report.as_of.isoformat() if report.as_of else None,
            "counts": report.counts.to_dict(),
            "gate": None if report.gate is None else report.gate.to_dict(),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def write_sarif(report: Report, out: TextIO, lang: str = "zh") -> None:
    out.write(orjson.dumps(sarif_log(report, lang=lang), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    out.write("\n")
