"""How serious a violation is: a plain enum, so that findings, reports and the gate can name it without importing
the pack schema (and pydantic with it) on a run that reads its pack from the cache."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How serious a violation is; ``--fail-on`` compares against this order."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)
