"""A policy's record rules compiled for durable-rules once, and which of them durable-rules cannot run.

Compiling the bundled pack and probing durable-rules with it takes a while, and a policy is immutable, so the
result is cached per policy. A rule the durable compiler cannot express, or durable-rules itself refuses to load
(e.g. a phrase list too big for its regex automaton) or does not load within a deadline, is listed with its
reason (:func:`durable_coverage`) and judged by the closure engine, never dropped.
"""

from __future__ import annotations

import atexit
import datetime as dt
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.programs import RuleProgram
from svcpolicy.engines.durable.facts import dumps
from svcpolicy.engines.durable.packing import CompiledRule, CompiledRuleset, RuleSpec, compile_rules
from svcpolicy.engines.durable.probe import RulesetProbe
from svcpolicy.engines.durable.runtime import CREATE_ATTEMPTS, engine_module
from svcpolicy.engines.durable.slots import microseconds
from svcpolicy.records.model import ABSENT_DEFAULTS


@dataclass(frozen=True)
class DurableProgram:
    """A policy's record rules compiled for durable-rules, with the rules left to the closure engine."""

    ruleset: CompiledRuleset
    by_id: Mapping[str, CompiledRule]

    @property
    def unsupported(self) -> list[tuple[str, str]]:
        """The rules left to the closure engine, as ``(rule id, reason)``."""
        return self.ruleset.unsupported


_PROGRAMS: weakref.WeakKeyDictionary[CompiledPack, DurableProgram] = weakref.WeakKeyDictionary()
_PROGRAMS_LOCK = threading.Lock()


def rule_spec(program: RuleProgram, tz: dt.tzinfo) -> RuleSpec:
    """What the durable compiler needs of a compiled record rule."""
    return RuleSpec(
        id=program.id,
        when=program.when.node,
        applies_if=program.applies_if.node if program.applies_if is not None else None,
        loop=(program.loop[0], program.collection.node) if program.loop and program.collection else None,
        window=_window(program.window, tz),
    )


def _window(window: tuple[dt.date | None, dt.date | None], tz: dt.tzinfo) -> tuple[int | None, int | None]:
    """A rule's days in force as microsecond bounds of the record's time: [start 00:00, day after end 00:00)."""
    start, end = window
    low = microseconds(dt.datetime.combine(start, dt.time(), tz)) if start else None
    high = microseconds(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)) if end else None
    return low, high


def durable_program(policy: CompiledPack) -> DurableProgram:
    """The policy compiled for durable-rules (cached per policy; policies are immutable)."""
    with _PROGRAMS_LOCK:
        cached = _PROGRAMS.get(policy)
        if cached is not None:
            return cached
        specs = [rule_spec(p, policy.tz) for p in policy.programs]
        ruleset = compile_rules(
            specs,
            defaults=ABSENT_DEFAULTS,
            constants=policy.parameters.constant,
            params=frozenset(policy.definition.parameters),
            tz=policy.tz,
            calendar=policy.calendar,
        )
        ruleset = _loadable(ruleset)
        program = DurableProgram(ruleset, {r.id: r for r in ruleset.rules})
        _PROGRAMS[policy] = program
        return program


_PROBE = RulesetProbe(CREATE_ATTEMPTS)
atexit.register(_PROBE.close)


def _loadable(ruleset: CompiledRuleset) -> CompiledRuleset:
    """Drop (and report) any rule durable-rules itself refuses to load (e.g. a phrase list too big for its
    regex automaton, error 113) or does not load in time. The probes run in a child process with a deadline
    (:mod:`~svcpolicy.engines.durable.probe`), never here: durable-rules may spin forever holding the GIL."""
    engine_module()  # durable-rules must load in this process too, not only in the probe's
    refused: dict[str, str] = {}
    while True:
        failing = [group for group in ruleset.groups if _refusal(group) is not None]
        if not failing:
            return ruleset
        suspects = {name for group in failing for name in group}
        newly: dict[str, str] = {}
        for rule in ruleset.rules:
            if rule.supported and suspects.intersection(rule.names):
                # the rule alone, in rulesets within the same bounds: never all its rules in one ruleset
                error = next(filter(None, (_refusal(g) for g in ruleset.groups_of(rule.names))), None)
                if error is not None:
                    newly[rule.id] = f"durable-rules refused the compiled rule ({error})"
        if not newly:  # each rule loads alone but not together: leave the rules of the failing rulesets out
            error = _refusal(failing[0]) or "refused together with other rules"
            for rule in ruleset.rules:
                if rule.supported and suspects.intersection(rule.names):
                    newly[rule.id] = f"durable-rules refused the compiled rule together with others ({error})"
        refused.update(newly)
        ruleset = ruleset.without(refused)


def _refusal(group: Mapping[str, Any]) -> str | None:
    return _PROBE.refusal(dumps(dict(group)))


def durable_coverage(policy: CompiledPack) -> list[tuple[str, str]]:
    """Record rules durable-rules cannot express, as ``(rule id, reason)``; they run on the closure engine."""
    return durable_program(policy).unsupported
