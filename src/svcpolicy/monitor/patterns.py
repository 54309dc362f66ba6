"""Which events a sequence pattern takes: its equalities, its parameter lists and its ``when`` condition.

A ``when`` condition is written in the pack's expression language and compiled by the same compiler as the
record rules, so a sequence can say exactly what its record rule says (an operation affects the customer's
rights when its kind is in ``params.rights_affecting_operation_kinds`` or the system flags it so). It reads
the event's own fields, and is compiled when the monitor starts: a condition naming a field the event type
does not have is a pack error at that point, not a silent miss on every event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from svcpolicy.engine.pattern_conditions import compile_condition
from svcpolicy.errors import SourceLocation
from svcpolicy.expr import CompiledExpr, Compiler, Env, Undetermined
from svcpolicy.monitor.codes import compared
from svcpolicy.pack.sequences import Pattern
from svcpolicy.policy import Policy
from svcpolicy.records.events import Event


class PatternMatcher:
    """One pattern of a sequence rule, ready to test events against."""

    def __init__(self, pattern: Pattern, condition: CompiledExpr | None, policy: Policy) -> None:
        self.pattern = pattern
        self._condition = condition
        self._policy = policy

    @property
    def reads_parameters(self) -> bool:
        """Whether :meth:`matches` needs the parameters in force (a ``where_in`` or a ``when``)."""
        return bool(self.pattern.where_in) or self._condition is not None

    def matches(self, event: Event, params: Mapping[str, Any]) -> bool | None:
        """Whether the pattern takes the event; None when its condition cannot be decided from the event."""
        try:
            return self._decide(event, params)
        except Undetermined:
            return None

    def undecided_because(self, event: Event, params: Mapping[str, Any]) -> str:
        """Why :meth:`matches` could not decide on the event, in words that name the missing field if one is."""
        missing = ""
        try:
            self._decide(event, params)
        except Undetermined as exc:
            missing = f" ({exc.args[0]})" if exc.args and exc.args[0] else ""
        return f"{event.type} {event.id}: the condition `{self.pattern.when}` cannot be decided from the event{missing}"

    def _decide(self, event: Event, params: Mapping[str, Any]) -> bool:
        pattern = self.pattern
        for name, expected in pattern.where.items():
            if compared(event, name) != expected:
                return False
        for name, parameter in pattern.where_in.items():
            if compared(event, name) not in params[parameter]:
                return False
        if self._condition is None:
            return True
        env = Env(_Fields(event), params=params, as_of=None, tz=self._policy.tz, calendar=self._policy.calendar)
        return bool(self._condition(env))


class _Fields(Mapping[str, Any]):
    """An event's fields as the mapping a condition reads, without copying them (one lookup per field read); a
    field the event type reads as unknown when absent is missing from it, so the condition is undetermined."""

    __slots__ = ("_event",)

    def __init__(self, event: Event) -> None:
        self._event = event

    def __getitem__(self, name: str) -> Any:
        event = self._event
        if name not in type(event).model_fields:
            raise KeyError(name)
        if not event.known(name):
            raise KeyError(name)
        return getattr(event, name)

    def __iter__(self) -> Iterator[str]:
        return iter(type(self._event).model_fields)

    def __len__(self) -> int:
        return len(type(self._event).model_fields)


def compile_pattern(pattern: Pattern, compiler: Compiler, policy: Policy, location: SourceLocation) -> PatternMatcher:
    """The pattern's matcher; raises ExpressionError at ``location`` for a condition the event cannot answer."""
    return PatternMatcher(pattern, compile_condition(pattern, compiler, location), policy)


def pattern_compiler(policy: Policy) -> Compiler:
    """The expression compiler for patterns: the pack's parameters; every event field is present (null if unset)."""
    return Compiler(params=list(policy.definition.parameters), absent_defaults={}, constants=policy.parameters.constant)
