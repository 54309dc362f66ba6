"""The signal that a rule cannot be decided for a record, as distinct from a crash or a pass."""

from __future__ import annotations

from typing import TYPE_CHECKING


class Undetermined(Exception):
    """Raised while evaluating when data is absent or unusable; the rule's outcome becomes undetermined.

    ``field`` is the concrete path of the absent field (``operations[2].authorization.at``) so the finding can
    name what the record must supply; it is ``None`` when the cause is not an absent field (a type error, a
    calendar gap, no ``as_of``).

    Both are kept as the exception's ``args``, with no ``__init__`` of ours: records raise these by the
    thousand (an absent optional field inside an ``or`` that the other side decides), and the built-in
    constructor costs a seventh of a Python one.
    """

    if TYPE_CHECKING:

        def __init__(self, reason: str, field: str | None = None) -> None: ...

    @property
    def reason(self) -> str:
        """Why the rule cannot be decided, in words a finding shows."""
        reason: str = self.args[0]
        return reason

    @property
    def field(self) -> str | None:
        """The concrete path of the absent field that made it so, or None."""
        args = self.args
        return args[1] if len(args) > 1 else None

    def __str__(self) -> str:
        return self.reason


class AbsentField(Undetermined):
    """An absent field, its concrete path given in parts (``operations[2]``, ``.authorization``) and joined only
    when someone reads it: most are caught and dropped by a rule that decides without the field."""

    if TYPE_CHECKING:

        def __init__(self, *path: str) -> None: ...

    @property
    def field(self) -> str:
        return "".join(self.args)

    @property
    def reason(self) -> str:
        return f"field {self.field} is absent"
