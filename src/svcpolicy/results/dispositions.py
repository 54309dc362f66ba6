"""What the compliance gate makes of each finding (open, waived, baselined; blocking or not), as plain data.

The gate (``svcpolicy.gate``) decides; a report carries its decisions, and every writer reads them from here,
so no format judges a finding on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from svcpolicy.errors import SourceLocation
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome


@dataclass(frozen=True)
class WaiverNote:
    """The waiver that excused a finding, as reports show it."""

    label: str
    reason: str
    approver: str
    expires: dt.date
    ticket: str | None
    location: SourceLocation


class Status(StrEnum):
    OPEN = "open"
    WAIVED = "waived"
    BASELINED = "baselined"


@dataclass(frozen=True)
class Disposition:
    """What the gate makes of one finding."""

    status: Status
    blocking: bool
    waiver: WaiverNote | None = None
    note: str | None = None

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


@dataclass(frozen=True)
class GateNote:
    """Something the gate reports about its own inputs: a stale or expired waiver, a refused one, a baseline."""

    kind: str
    message: str
    location: str | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "message": self.message, "location": self.location}


def default_disposition(item: Finding | InvalidRecord) -> Disposition:
    """Without a gate: every violation and invalid record blocks, nothing is waived."""
    if isinstance(item, InvalidRecord):
        return OPEN_INVALID
    return Disposition(Status.OPEN, item.outcome is Outcome.VIOLATION)


class GateView(Protocol):
    """What a report needs of the gate that judged it (``svcpolicy.gate.Gate`` is the one implementation)."""

    @property
    def failed(self) -> bool: ...

    @property
    def fail_on_stale_waivers(self) -> bool: ...

    @property
    def baseline(self) -> object | None: ...

    def stale(self) -> list[GateNote]: ...

    def disposition(self, item: Finding | InvalidRecord) -> Disposition: ...

    def notes(self) -> list[GateNote]: ...

    def to_dict(self) -> dict[str, Any]: ...
