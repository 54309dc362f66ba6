"""The decision on one record, as a bank system asks for it before or after a transaction (``Policy.check``).

Like a policy engine's decision: one outcome to branch on, the findings that explain it, and the fields whose
absence kept some rule from deciding (what the caller should supply to get a definite answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from svcpolicy.results.findings import Finding, Outcome


@dataclass(frozen=True)
class Decision:
    """``outcome``: violation, undetermined, compliant or invalid (``error`` then says why the record is invalid);
    ``findings``: the violations and undetermined findings; ``undetermined_fields``: the missing fields, in order."""

    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    undetermined_fields: tuple[str, ...] = ()
    error: str | None = None

    @classmethod
    def of(cls, outcome: Outcome, findings: Iterable[Finding]) -> Decision:
        kept = tuple(findings)
        missing = (f.missing for f in kept if f.outcome is Outcome.UNDETERMINED and f.missing)
        return cls(outcome, kept, tuple(dict.fromkeys(missing)))

    @property
    def compliant(self) -> bool:
        """True only when every rule decided and none was breached."""
        return self.outcome is Outcome.COMPLIANT

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.outcome is Outcome.VIOLATION)
