"""A sequence pattern's ``when`` condition, compiled and checked against its event type's fields.

One home for the check, because two places need it: the monitor compiles the conditions when it starts, and
``svcpolicy lint`` (and ``check``, which refuses what lint rejects) reports a bad one before any monitor runs.
"""

from __future__ import annotations

from svcpolicy.errors import ExpressionError, SourceLocation
from svcpolicy.expr import CompiledExpr, Compiler
from svcpolicy.pack.sequences import Pattern
from svcpolicy.records.events import EVENT_TYPES


def compile_condition(pattern: Pattern, compiler: Compiler, location: SourceLocation) -> CompiledExpr | None:
    """The pattern's condition (None when it has none); ExpressionError at ``location`` for a condition that
    does not compile or reads a field its event type does not have."""
    if pattern.when is None:
        return None
    condition = compiler.compile(pattern.when, location=location)
    fields = EVENT_TYPES[pattern.event].model_fields
    unknown = sorted(path for path in condition.reads if path.split(".")[0] not in fields)
    if unknown:
        raise ExpressionError(f"{pattern.event} has no field {', '.join(map(repr, unknown))}", location)
    return condition
