"""The signal that a rule cannot be decided for a record, as distinct from a crash or a pass."""

from __future__ import annotations


class Undetermined(Exception):
    """Raised while evaluating when data is absent or unusable; the rule's outcome becomes undetermined.

    ``field`` is the concrete path of the absent field (``operations[2].authorization.at``) so the finding can
    name what the record must supply; it is ``None`` when the cause is not an absent field (a type error, a
    calendar gap, no ``as_of``).
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
