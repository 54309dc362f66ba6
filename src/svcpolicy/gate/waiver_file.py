"""The waiver file's model: one waiver as written, and the file's list; imported only when a waiver file is read.

Split from :mod:`svcpolicy.gate.waivers` because defining pydantic models costs milliseconds at every import, and
most runs have no waiver file (they match findings against an empty :class:`~svcpolicy.gate.waivers.WaiverSet`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svcpolicy.pack.schema import RULE_ID_PATTERN

if TYPE_CHECKING:
    from svcpolicy.results.findings import Finding

FINGERPRINT_PATTERN = r"^sha256:[0-9a-f]{64}$"


class Waiver(BaseModel):
    """One waiver as written in the file."""

    # defer_build: validators are built when a waiver file is read, not by every run that has none
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: Annotated[str, Field(min_length=1, pattern=r"^\S+$")] | None = None
    rule: Annotated[str, Field(pattern=RULE_ID_PATTERN)] | None = None
    record: Annotated[str, Field(min_length=1)] | None = None
    path: Annotated[str, Field(min_length=1, description="item inside the record, e.g. operations[1]")] | None = None
    fingerprint: Annotated[str, Field(pattern=FINGERPRINT_PATTERN)] | None = None
    reason: Annotated[str, Field(min_length=1)]
    approver: Annotated[str, Field(min_length=1)]
    expires: dt.date
    ticket: str | None = None

    @model_validator(mode="after")
    def _names_one_finding(self) -> Waiver:
        if self.fingerprint is None:
            if self.rule is None or self.record is None:
                raise ValueError(
                    "a waiver names its finding: `rule` and `record` (and optionally `path`), or `fingerprint`"
                )
        elif self.record is not None or self.path is not None:
            raise ValueError("give `fingerprint` alone, or `rule` + `record`: not both")
        if self.path is not None and self.record is None:
            raise ValueError("`path` goes with `record`")
        return self

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint and (self.rule is None or self.rule == finding.rule)
        return (
            finding.rule == self.rule
            and finding.record.id == self.record
            and (self.path is None or finding.record.path == self.path)
        )

    def active_on(self, day: dt.date) -> bool:
        """A waiver applies up to and including its expiry date."""
        return day <= self.expires

    def target(self) -> str:
        if self.fingerprint is not None:
            return f"{self.rule + ' ' if self.rule else ''}{self.fingerprint[:19]}…"
        return f"{self.rule} on {self.record}{' ' + self.path if self.path else ''}"


class WaiverFile(BaseModel):
    """A waiver file as written: its list of waivers."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    waivers: list[Waiver] = []
