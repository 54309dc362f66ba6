"""The result of an evaluation: findings, invalid records and counts that reconcile."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from svcpolicy.findings import Finding, InvalidRecord, Outcome, PackRef


@dataclass
class Counts:
    """Per-record tallies: every record read lands in exactly one of the four outcome buckets."""

    records: int = 0
    compliant: int = 0
    with_violations: int = 0
    undetermined: int = 0
    invalid: int = 0
    violations: int = 0
    undetermined_findings: int = 0
    input_errors: int = 0

    @property
    def reconciled(self) -> bool:
        return self.records == self.compliant + self.with_violations + self.undetermined + self.invalid

    def add_record(self, outcome: Outcome) -> None:
        self.records += 1
        if outcome is Outcome.COMPLIANT:
            self.compliant += 1
        elif outcome is Outcome.VIOLATION:
            self.with_violations += 1
        elif outcome is Outcome.UNDETERMINED:
            self.undetermined += 1
        else:
            self.invalid += 1

    def summary(self) -> str:
        return (
            f"{self.records} records: {self.compliant} compliant, {self.with_violations} with violations "
            f"({self.violations} violations), {self.undetermined} undetermined, {self.invalid} invalid"
        )

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "records": self.records,
            "compliant": self.compliant,
            "with_violations": self.with_violations,
            "undetermined": self.undetermined,
            "invalid": self.invalid,
            "violations": self.violations,
            "undetermined_findings": self.undetermined_findings,
            "input_errors": self.input_errors,
            "reconciled": self.reconciled,
        }


@dataclass(frozen=True)
class InputFailure:
    """A whole input that could not be read (missing file, unknown format); the run went on without it."""

    source: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "error": self.error}


@dataclass
class Report:
    """Everything an evaluation found, in input order, with counts that account for every record."""

    pack: PackRef
    as_of: dt.datetime | None
    findings: list[Finding] = field(default_factory=list)
    invalid: list[InvalidRecord] = field(default_factory=list)
    input_failures: list[InputFailure] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.VIOLATION]

    @property
    def undetermined(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.UNDETERMINED]

    def violations_by_rule(self) -> dict[str, int]:
        return dict(Counter(f.rule for f in self.violations))

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack.to_dict(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "counts": self.counts.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "invalid": [i.to_dict() for i in self.invalid],
            "input_failures": [i.to_dict() for i in self.input_failures],
        }

    def __repr__(self) -> str:
        return f"<Report {self.pack.id} {self.pack.version}: {self.counts.summary()}>"
