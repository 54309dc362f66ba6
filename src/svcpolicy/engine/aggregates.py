"""Aggregate rules: duties visible only over many records, judged per group when the input ends.

A compiled ``AggregateProgram`` is immutable and shared; the groups of one evaluation live in an
``AggregateRun``. Each group keeps a fixed-size accumulator per aggregate plus at most ``MAX_MEMBER_REFS``
member references, so memory grows with the number of groups, never with the number of records.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from svcpolicy.engine.parameters import RECORD_TIME_FIELD, record_date
from svcpolicy.engine.programs import citation_for, jsonable, rule_window, window_text
from svcpolicy.engine.undetermined import undetermined_finding
from svcpolicy.errors import ExpressionError
from svcpolicy.expr import CompiledExpr, Compiler, Env, Undetermined, parse_for_each
from svcpolicy.expr.nodes import Node
from svcpolicy.pack.definition import PackDefinition, Site
from svcpolicy.pack.schema import AGGREGATE_FUNCTIONS, Rule
from svcpolicy.results.findings import Finding, Outcome, PackRef, RecordRef

MAX_MEMBER_REFS = 10
MAX_DISTINCT = 100_000
_SPEC = re.compile(r"^\s*(?P<function>[a-z_]+)\s*\((?P<argument>.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class AggregateSpec:
    """One named aggregate: its function and the member expression it reads (none for ``count()``)."""

    name: str
    function: str
    argument: CompiledExpr | None


class AggregateProgram:
    """An aggregate rule, compiled: member filter, group keys, aggregates, and the group condition."""

    def __init__(self, rule: Rule, site: Site, pack: PackDefinition, compiler: Compiler, tz: dt.tzinfo) -> None:
        self.rule = rule
        self.id = rule.id
        self.tz = tz
        self.citations = tuple(citation_for(pack, ref) for ref in rule.cite)
        self.kinds = frozenset(rule.applies_to)
        self.window = rule_window(rule, pack)
        self.window_text = window_text(self.window)
        self.loop: tuple[str, str] | None = None
        self.collection: CompiledExpr | None = None
        if rule.for_each:
            self.loop = parse_for_each(rule.for_each, site.expression_at("for_each"))
            self.collection = compiler.compile(self.loop[1], location=site.expression_at("for_each"))
        let_nodes: dict[str, Node] = {}
        for name, source in rule.let.items():
            compiled = compiler.compile(
                source, location=site.expression_at("let", name), lets=let_nodes, loop=self.loop
            )
            let_nodes[name] = compiled.node

        def member(source: str, *where: str | int) -> CompiledExpr:
            return compiler.compile(source, location=site.expression_at(*where), lets=let_nodes, loop=self.loop)

        self.where = member(rule.where, "where") if rule.where else None
        self.key_names = tuple(rule.group_by)
        self.keys = tuple(member(source, "group_by", name) for name, source in rule.group_by.items())
        self.specs = tuple(self._spec(name, text, site, member) for name, text in rule.aggregate.items())
        # the hot path: key closures, and per aggregate that reads a value its position, updater and closure
        self.key_fns = tuple(k.fn for k in self.keys)
        self.updaters = tuple((i, _UPDATERS[s.function]) for i, s in enumerate(self.specs) if s.argument is not None)
        self.value_fns = tuple(s.argument.fn for s in self.specs if s.argument is not None)
        self.when = compiler.compile(rule.when, location=site.expression_at("when"))
        self.message_zh, self.message_en = (
            compiler.template(text, location=site.at("message", lang), lang=lang)
            for lang, text in (("zh", rule.message.zh), ("en", rule.message.en))
        )

    @staticmethod
    def _spec(name: str, text: str, site: Site, member: Any) -> AggregateSpec:
        where = site.expression_at("aggregate", name)
        match = _SPEC.match(text)
        if match is None or match["function"] not in AGGREGATE_FUNCTIONS:
            known = ", ".join(f"{f}()" for f in AGGREGATE_FUNCTIONS)
            raise ExpressionError(f"aggregate {name!r} must be one of {known}, e.g. sum(fee.amount)", where)
        function, argument = match["function"], match["argument"].strip()
        if function == "count":
            if argument:
                raise ExpressionError("count() takes no argument: filter members with `where`", where)
            return AggregateSpec(name, function, None)
        if not argument:
            raise ExpressionError(f"{function}() needs an expression, e.g. {function}(fee.amount)", where)
        return AggregateSpec(name, function, member(argument, "aggregate", name))

    def in_force(self, record: Mapping[str, Any]) -> bool:
        start, end = self.window
        if start is None and end is None:
            return True
        day = record_date(record, self.tz)
        if day is None:
            raise Undetermined(f"rule {self.id} is dated and the record has no {RECORD_TIME_FIELD}", RECORD_TIME_FIELD)
        return (start is None or day >= start) and (end is None or day <= end)


_FLOAT_SCALE_BITS = 1074
"""Every finite float is an integer multiple of 2**-1074, so floats are summed exactly as integers of that unit:
the total is then the same however the stream was split and merged (float addition is not associative)."""


def _exact_float(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_FLOAT_SCALE_BITS + 1 - denominator.bit_length())


def _add_sum(acc: list[Any], i: int, value: Any) -> None:
    if value is not None:
        total = acc[i]
        if type(value) is float and math.isfinite(value):
            total[2] = _exact_float(value) + (total[2] or 0)
        else:
            total[0] += value
        total[1] += 1


def _sum(total: list[Any]) -> Any:
    """A sum's value: exact for integers and decimals, correctly rounded for floats."""
    floats = total[2]
    if floats is None:
        return total[0]
    rounded = floats / (1 << _FLOAT_SCALE_BITS)  # int / int is correctly rounded
    if isinstance(total[0], Decimal):
        return total[0] + Decimal(rounded)
    return total[0] + rounded


def _add_share(acc: list[Any], i: int, value: Any) -> None:
    share = acc[i]
    share[0] += value is True
    share[1] += 1


def _add_distinct(acc: list[Any], i: int, value: Any) -> None:
    if value is not None and len(acc[i]) < MAX_DISTINCT:
        acc[i].add(value)


def _add_min(acc: list[Any], i: int, value: Any) -> None:
    if value is not None and (acc[i] is None or value < acc[i]):
        acc[i] = value


def _add_max(acc: list[Any], i: int, value: Any) -> None:
    if value is not None and (acc[i] is None or value > acc[i]):
        acc[i] = value


def _add_peak(acc: list[Any], i: int, value: Any) -> None:
    if not isinstance(value, list | tuple) or len(value) != 2 or value[0] is None:
        raise TypeError("peak() takes a pair (when, change) with a known time")
    at, change = value
    if isinstance(change, bool) or not isinstance(change, int | float | Decimal):
        raise TypeError("peak()'s change is a number")
    events = acc[i]
    if events is not None:
        events.append((at, change))
        if len(events) > MAX_DISTINCT:
            acc[i] = None  # too many to order: the result is unknown rather than a guess


def _peak(events: list[tuple[Any, Any]] | None) -> Any:
    """The highest running total of the changes taken in time order (decreases first at equal times), from 0."""
    if events is None:
        return None
    try:
        ordered = sorted(events, key=lambda event: (event[0], event[1]))
    except TypeError:  # times of different kinds (a date and a datetime) have no order
        return None
    running = highest = 0
    for _, change in ordered:
        running += change
        highest = max(highest, running)
    return highest


def _merge_sum(mine: list[Any], theirs: list[Any]) -> list[Any]:
    floats = theirs[2] if mine[2] is None else mine[2] if theirs[2] is None else mine[2] + theirs[2]
    return [mine[0] + theirs[0], mine[1] + theirs[1], floats]


def _merge_share(mine: list[Any], theirs: list[Any]) -> list[Any]:
    return [mine[0] + theirs[0], mine[1] + theirs[1]]


def _merge_distinct(mine: set[Any], theirs: set[Any]) -> set[Any]:
    """Only the size is read: capped at MAX_DISTINCT, it is min(cap, distinct values) as in one pass."""
    merged = mine | theirs
    return merged if len(merged) <= MAX_DISTINCT else set(itertools.islice(merged, MAX_DISTINCT))


def _merge_min(mine: Any, theirs: Any) -> Any:
    return mine if theirs is None or (mine is not None and not theirs < mine) else theirs


def _merge_max(mine: Any, theirs: Any) -> Any:
    return mine if theirs is None or (mine is not None and not theirs > mine) else theirs


def _merge_peak(mine: list[Any] | None, theirs: list[Any] | None) -> list[Any] | None:
    if mine is None or theirs is None or len(mine) + len(theirs) > MAX_DISTINCT:
        return None
    return mine + theirs


def _merge_count(mine: Any, theirs: Any) -> Any:
    return None  # count() keeps no accumulator: it is the group's member count


Merger = Callable[[Any, Any], Any]
_MERGERS: dict[str, Merger] = {
    "count": _merge_count,
    "sum": _merge_sum,
    "avg": _merge_sum,
    "share": _merge_share,
    "distinct": _merge_distinct,
    "min": _merge_min,
    "max": _merge_max,
    "peak": _merge_peak,
}
"""Fold the accumulator of a later part of the stream into an earlier one's: the result is what one pass over both
parts would hold (ties keep the earlier value, as ``_add_min``/``_add_max`` do)."""

Updater = Callable[[list[Any], int, Any], None]
_UPDATERS: dict[str, Updater] = {
    "sum": _add_sum,
    "avg": _add_sum,
    "share": _add_share,
    "distinct": _add_distinct,
    "min": _add_min,
    "max": _add_max,
    "peak": _add_peak,
}


class _Group:
    """The running state of one group: member count, per-aggregate accumulators, a few member references."""

    __slots__ = ("accumulators", "left_out", "members", "refs")

    def __init__(self, specs: tuple[AggregateSpec, ...]) -> None:
        self.members = 0
        self.left_out = 0
        self.refs: list[RecordRef] = []
        self.accumulators: list[Any] = [
            set()
            if s.function == "distinct"
            else [0, 0, None]
            if s.function in ("sum", "avg")
            else [0, 0]
            if s.function == "share"
            else []
            if s.function == "peak"
            else None
            for s in specs
        ]

    def add(self, updaters: tuple[tuple[int, Updater], ...], values: list[Any], ref: _LazyRef) -> None:
        accumulators = self.accumulators
        for (i, update), value in zip(updaters, values, strict=True):
            update(accumulators, i, value)
        self.members += 1
        if len(self.refs) < MAX_MEMBER_REFS:
            self.refs.append(ref.resolve())

    def merge(self, later: _Group, specs: tuple[AggregateSpec, ...]) -> None:
        """Fold in the same group's state from a later part of the stream."""
        self.members += later.members
        self.left_out += later.left_out
        self.refs.extend(later.refs[: MAX_MEMBER_REFS - len(self.refs)])
        self.accumulators = [
            _MERGERS[spec.function](mine, theirs)
            for spec, mine, theirs in zip(specs, self.accumulators, later.accumulators, strict=True)
        ]

    def results(self, specs: tuple[AggregateSpec, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec, acc in zip(specs, self.accumulators, strict=True):
            if spec.function == "count":
                out[spec.name] = self.members
            elif spec.function == "sum":
                out[spec.name] = _sum(acc)
            elif spec.function == "avg":
                out[spec.name] = _sum(acc) / acc[1] if acc[1] else None
            elif spec.function == "share":
                out[spec.name] = acc[0] / acc[1] if acc[1] else None
            elif spec.function == "distinct":
                out[spec.name] = len(acc)
            elif spec.function == "peak":
                out[spec.name] = _peak(acc)
            else:
                out[spec.name] = acc
        return out


class _LazyRef:
    """A member's record reference, built only if the group keeps it (most members are only counted)."""

    __slots__ = ("collection", "index", "record")

    def __init__(self, record: RecordRef, collection: str | None = None, index: int = 0) -> None:
        self.record = record
        self.collection = collection
        self.index = index

    def resolve(self) -> RecordRef:
        if self.collection is None:
            return self.record
        record = self.record
        return RecordRef(record.id, record.source, record.line, f"{self.collection}[{self.index}]")


def _hashable(value: Any, what: str) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v, what) for v in value)
    if isinstance(value, dict):
        raise Undetermined(f"group key {what} is a mapping; group by one of its fields instead")
    return value


@dataclass
class GroupTally:
    """An aggregate run's state without its compiled program: plain data that pickles, to merge elsewhere."""

    rule: str
    groups: dict[tuple[Any, ...], _Group]
    unkeyed: list[RecordRef]
    unkeyed_total: int
    unkeyed_reason: str | None


class AggregateRun:
    """The groups of one aggregate rule during one evaluation."""

    def __init__(self, program: AggregateProgram) -> None:
        self.program = program
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self.unkeyed: list[RecordRef] = []
        self.unkeyed_total = 0
        self.unkeyed_reason: str | None = None

    def tally(self) -> GroupTally:
        """The groups so far, to be merged into the run of another part of the stream."""
        return GroupTally(self.program.id, self.groups, self.unkeyed, self.unkeyed_total, self.unkeyed_reason)

    def merge(self, later: GroupTally) -> None:
        """Fold in the tally of the part of the stream that follows this run's: groups keep their first appearance
        and first member references, so the findings are those of one pass over both parts."""
        if later.rule != self.program.id:
            raise ValueError(f"cannot merge groups of rule {later.rule} into {self.program.id}")
        specs = self.program.specs
        for key, group in later.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = group
            else:
                mine.merge(group, specs)
        self.unkeyed.extend(later.unkeyed[: MAX_MEMBER_REFS - len(self.unkeyed)])
        self.unkeyed_total += later.unkeyed_total
        self.unkeyed_reason = self.unkeyed_reason or later.unkeyed_reason

    def feed(self, env: Env, record: Mapping[str, Any], ref: RecordRef) -> None:
        """Add one validated record's contribution (its items', with ``for_each``)."""
        program = self.program
        if record.get("kind", "interaction") not in program.kinds:
            return
        try:
            if not program.in_force(record):
                return
            if program.collection is None:
                self._member(env, _LazyRef(ref))
                return
            items = program.collection.fn(env)
        except Undetermined as exc:
            self._left_out(None, _LazyRef(ref), exc)
            return
        if not items:
            return
        if not isinstance(items, list | tuple):
            self._left_out(
                None, _LazyRef(ref), Undetermined(f"{program.loop[1] if program.loop else ''} is not a list")
            )
            return
        assert program.loop is not None  # noqa: S101 - set together with collection
        var, path = program.loop[0], program.loop[1].strip()
        for i, item in enumerate(items):
            env.locals[var] = item
            env.positions[var] = i
            self._member(env, _LazyRef(ref, path, i))

    def _member(self, env: Env, ref: _LazyRef) -> None:
        program = self.program
        key: tuple[Any, ...] | None = None
        try:
            if program.where is not None and program.where.fn(env) is not True:
                return
            key = tuple(fn(env) for fn in program.key_fns)
            if any(type(part) in (list, dict) for part in key):
                key = tuple(_hashable(part, name) for name, part in zip(program.key_names, key, strict=True))
            values = [fn(env) for fn in program.value_fns]
        except Undetermined as exc:
            self._left_out(key, ref, exc)
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(program.specs)
        try:
            group.add(program.updaters, values, ref)
        except TypeError as exc:  # e.g. sum over text, min over mixed kinds
            self._left_out(key, ref, Undetermined(f"cannot aggregate: {exc}"))

    def _left_out(self, key: tuple[Any, ...] | None, ref: _LazyRef, exc: Undetermined) -> None:
        if key is not None:
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _Group(self.program.specs)
            group.left_out += 1
            if len(group.refs) < MAX_MEMBER_REFS:
                group.refs.append(ref.resolve())
            return
        self.unkeyed_total += 1
        self.unkeyed_reason = self.unkeyed_reason or exc.reason
        if len(self.unkeyed) < MAX_MEMBER_REFS:
            self.unkeyed.append(ref.resolve())

    def findings(self, env: Env, pack: PackRef) -> Iterator[Finding]:
        """Judge every group (in order of first appearance); yield violations and undetermined groups."""
        program = self.program
        for key, group in self.groups.items():
            named = dict(zip(program.key_names, key, strict=True))
            results = group.results(program.specs)
            if group.members == 0:
                reason = f"all {group.left_out} members of this group lack data the rule needs"
                yield self._undetermined(named, results, group, pack, reason)
                continue
            env.reset({**named, **results}, env.params)
            try:
                verdict = program.when.fn(env)
            except Undetermined as exc:
                yield self._undetermined(named, results, group, pack, exc.reason)
                continue
            if verdict is True:
                yield self._violation(named, results, group, env, pack)
            elif group.left_out:
                reason = f"{group.left_out} members lack data the rule needs; the group may be in breach"
                yield self._undetermined(named, results, group, pack, reason)
        if self.unkeyed_total:
            reason = f"{self.unkeyed_total} members could not be placed in a group: {self.unkeyed_reason}"
            yield undetermined_finding(
                program.id,
                program.rule.title,
                program.rule.severity,
                program.citations,
                RecordRef(None),
                pack,
                reason=reason,
                group={},
                members=tuple(self.unkeyed),
                members_total=self.unkeyed_total,
                left_out=self.unkeyed_total,
            )

    def _violation(
        self, group_key: dict[str, Any], results: dict[str, Any], group: _Group, env: Env, pack: PackRef
    ) -> Finding:
        program = self.program
        return Finding(
            rule=program.id,
            title=program.rule.title,
            severity=program.rule.severity,
            outcome=Outcome.VIOLATION,
            citations=program.citations,
            record=RecordRef(None),
            message_zh=program.message_zh.render(env),
            message_en=program.message_en.render(env),
            pack=pack,
            evidence=_group_evidence(group_key, results),
            group=_group_key(group_key),
            members=tuple(group.refs),
            members_total=group.members + group.left_out,
            left_out=group.left_out,
            effective=program.window_text,
        )

    def _undetermined(
        self, group_key: dict[str, Any], results: dict[str, Any], group: _Group, pack: PackRef, reason: str
    ) -> Finding:
        program = self.program
        return undetermined_finding(
            program.id,
            program.rule.title,
            program.rule.severity,
            program.citations,
            RecordRef(None),
            pack,
            reason=reason,
            evidence=_group_evidence(group_key, results),
            group=_group_key(group_key),
            members=tuple(group.refs),
            members_total=group.members + group.left_out,
            left_out=group.left_out,
            effective=program.window_text,
        )


def _group_evidence(group_key: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """A group's evidence: its key and its aggregates' values."""
    return {k: jsonable(v) for k, v in {**group_key, **results}.items()}


def _group_key(group_key: dict[str, Any]) -> dict[str, Any]:
    """A group's key as JSON-able values (the finding's ``group``, which its fingerprint reads)."""
    return {k: jsonable(v) for k, v in group_key.items()}
