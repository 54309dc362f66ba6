"""What the compliance gate makes of each finding (open, waived, baselined; blocking or not), as plain data.

The gate (``svcpolicy.gate``) decides; a report carries its decisions, and every writer reads them from here,
so no format judges a finding, or the run, on its own. The run's verdict (``GateVerdict``) is the gate's too:
writers print it and ``svcpolicy check`` exits with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from svcpolicy.errors import SourceLocation
from svcpolicy.frozen import Frozen
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome


class WaiverNote(Frozen):
    """The waiver that excused a finding, as reports show it."""

    _fields = ("label", "reason", "approver", "expires", "ticket", "location")
    label: str
    reason: str
    approver: str
    expires: dt.date
    ticket: str | None
    location: SourceLocation

    def __init__(
        self, label: str, reason: str, approver: str, expires: dt.date, ticket: str | None, location: SourceLocation
    ) -> None:
        self.__dict__.update(
            label=label, reason=reason, approver=approver, expires=expires, ticket=ticket, location=location
        )


class Status(StrEnum):
    OPEN = "open"
    WAIVED = "waived"
    BASELINED = "baselined"


class Disposition(Frozen):
    """What the gate makes of one finding."""

    _fields = ("status", "blocking", "waiver", "note")
    status: Status
    blocking: bool
    waiver: WaiverNote | None
    note: str | None

    def __init__(
        self, status: Status, blocking: bool, waiver: WaiverNote | None = None, note: str | None = None
    ) -> None:
        self.__dict__.update(status=status, blocking=blocking, waiver=waiver, note=note)

    @property
    def tag(self) -> str:
        """A short marker for text renderings: ``waived W-7 until 2026-12-31``, ``baselined``, or ``""``."""
        if self.status is Status.WAIVED and self.waiver is not None:
            return f"waived {self.waiver.label} until {self.waiver.expires.isoformat()}"
        if self.status is Status.BASELINED:
            return "baselined"
        return self.note or ""

    def to_dict(self) -> dict[str, Any]:
        waiver = None
        if self.waiver is not None:
            w = self.waiver
            waiver = {
                "id": w.label,
                "reason": w.reason,
                "approver": w.approver,
                "expires": w.expires.isoformat(),
                "ticket": w.ticket,
                "file": str(w.location),
            }
        return {"status": str(self.status), "blocking": self.blocking, "waiver": waiver, "gate_note": self.note}


OPEN_INVALID = Disposition(Status.OPEN, True)


class GateNote(Frozen):
    """Something the gate reports about its own inputs: a stale or expired waiver, a refused one, a baseline."""

    _fields = ("kind", "message", "location")
    kind: str
    message: str
    location: str | None

    def __init__(self, kind: str, message: str, location: str | None = None) -> None:
        self.__dict__.update(kind=kind, message=message, location=location)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "message": self.message, "location": self.location}


def default_disposition(item: Finding | InvalidRecord) -> Disposition:
    """Without a gate: every violation and invalid record blocks, nothing is waived."""
    if isinstance(item, InvalidRecord):
        return OPEN_INVALID
    return Disposition(Status.OPEN, item.outcome is Outcome.VIOLATION)


class GateReason(Frozen):
    """One reason a run fails its gate, and how many items of that kind there are."""

    _fields = ("kind", "count")
    kind: str
    """``blocking-finding``, ``invalid-record``, ``input-failure`` or ``stale-waiver``."""
    count: int

    def __init__(self, kind: str, count: int) -> None:
        self.__dict__.update(kind=kind, count=count)

    def __str__(self) -> str:
        return f"{self.count} {_REASON_TEXT[self.kind]}"

    def to_dict(self) -> dict[str, str | int]:
        return {"kind": self.kind, "count": self.count, "message": str(self)}


_REASON_TEXT = {
    "blocking-finding": "blocking finding(s)",
    "invalid-record": "invalid record(s)",
    "input-failure": "input(s) not read",
    "stale-waiver": "stale, expired or refused waiver(s) (--fail-on-stale-waivers)",
}


class GateVerdict(Frozen):
    """Whether a run passes its gate, and why not: the one answer every writer and the exit code give."""

    _fields = ("reasons", "stale_waivers")
    reasons: tuple[GateReason, ...]
    stale_waivers: tuple[GateNote, ...]
    """The waiver notes that fail the run (only under ``--fail-on-stale-waivers``)."""

    def __init__(self, reasons: tuple[GateReason, ...] = (), stale_waivers: tuple[GateNote, ...] = ()) -> None:
        self.__dict__.update(reasons=reasons, stale_waivers=stale_waivers)

    @classmethod
    def of(
        cls,
        *,
        blocking_findings: int,
        invalid_records: int,
        input_failures: int,
        stale_waivers: Sequence[GateNote] = (),
    ) -> GateVerdict:
        """The verdict on what a run saw; any reason at all fails it."""
        counted = (
            ("blocking-finding", blocking_findings),
            ("invalid-record", invalid_records),
            ("input-failure", input_failures),
            ("stale-waiver", len(stale_waivers)),
        )
        return cls(tuple(GateReason(kind, n) for kind, n in counted if n), tuple(stale_waivers))

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def blocking(self) -> int:
        """Findings and invalid records that fail the gate."""
        return self.count("blocking-finding") + self.count("invalid-record")

    @property
    def input_failures(self) -> int:
        return self.count("input-failure")

    def count(self, kind: str) -> int:
        return sum(r.count for r in self.reasons if r.kind == kind)

    def failures(self) -> str:
        """What fails the run, briefly: ``3 blocking, 1 input(s) not read`` (empty when it passes)."""
        parts = [f"{self.blocking} blocking"] if self.blocking else []
        parts += [str(r) for r in self.reasons if r.kind not in ("blocking-finding", "invalid-record")]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "blocking": self.blocking, "reasons": [r.to_dict() for r in self.reasons]}


def default_verdict(items: Iterable[Finding | InvalidRecord], input_failures: int) -> GateVerdict:
    """Without a gate (a plain evaluation): every violation, invalid record and unread input fails the run."""
    findings = invalid = 0
    for item in items:
        if isinstance(item, InvalidRecord):
            invalid += 1
        elif default_disposition(item).blocking:
            findings += 1
    return GateVerdict.of(blocking_findings=findings, invalid_records=invalid, input_failures=input_failures)


class GateView(Protocol):
    """What a report's writers need of the gate that judged it (``svcpolicy.gate.Gate`` is the one implementation).

    The verdict is read, never recomputed: a writer has no way to judge the run differently from the gate.
    """

    @property
    def verdict(self) -> GateVerdict: ...

    @property
    def has_baseline(self) -> bool: ...

    def disposition(self, item: Finding | InvalidRecord) -> Disposition: ...

    def notes(self) -> list[GateNote]: ...

    def to_dict(self) -> dict[str, Any]: ...
