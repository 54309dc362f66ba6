"""Aggregate rules: duties visible only over many records, judged per group when the input ends.

A compiled ``AggregateProgram`` is immutable and shared; the groups of one evaluation live in an
``AggregateRun``. Each group is one flat list (``svcpolicy.engine.accumulators``): member counts, at most
``MAX_MEMBER_REFS`` member references and fixed-size accumulators, so memory grows with the number of groups, never
with the number of records; past ``max_groups`` groups a run spills them to disk (``svcpolicy.engine.spill``) and
merges them when the input ends.

A stream reads its members with one generated function per record kind for all aggregates
(``svcpolicy.engine.group_feed``), which does what ``AggregateRun.add`` does inline, or calls ``leave_out``;
``AggregateRun.feed``
reads one rule's members with its closures (the reference, and the fallback), where filters and group keys that
read only the record are computed once per record for all rules (``Compiler.once_per_record``): seven bundled
rules group by ``(branch_id, month(started_at))``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import is_not
from typing import TYPE_CHECKING, Any

from svcpolicy.engine.accumulators import (
    LEFT_OUT,
    MAX_DISTINCT,
    MAX_MEMBER_REFS,
    MEMBERS,
    GroupLayout,
    State,
)
from svcpolicy.engine.activity import Activity, window_activity
from svcpolicy.engine.parameters import record_date
from svcpolicy.engine.programs import citation_for, jsonable, rule_window, window_text
from svcpolicy.engine.spill import SpilledGroups
from svcpolicy.engine.undetermined import undetermined_finding
from svcpolicy.errors import ExpressionError
from svcpolicy.expr import CompiledExpr, Compiler, Env, Undetermined, parse_for_each
from svcpolicy.expr.compiled import Fn
from svcpolicy.expr.group_keys import group_key
from svcpolicy.expr.nodes import Name, Node, walk
from svcpolicy.frozen import Frozen
from svcpolicy.pack.definition import Site
from svcpolicy.pack.spec import PackSpec, RuleSpec
from svcpolicy.results.findings import Finding, Outcome, PackRef, RecordRef

if TYPE_CHECKING:  # the feed generator is imported when a kind's feed is first made, which a short run never does
    from svcpolicy.expr.codegen_groups import GroupTrees

__all__ = [
    "MAX_DISTINCT",
    "MAX_GROUPS_IN_MEMORY",
    "MAX_MEMBER_REFS",
    "AggregateProgram",
    "AggregateRun",
    "AggregateSpec",
    "GroupTally",
]

MAX_GROUPS_IN_MEMORY = 100_000
"""A run's default budget: beyond this many groups in memory (a few hundred bytes each) it spills them to disk."""

AGGREGATE_FUNCTIONS = ("count", "sum", "avg", "min", "max", "distinct", "share", "peak")
"""What an aggregate rule's ``aggregate:`` entries may compute (accumulators: :mod:`svcpolicy.engine.accumulators`)."""

_SPEC = re.compile(r"^\s*(?P<function>[a-z_]+)\s*\((?P<argument>.*)\)\s*$", re.DOTALL)
_NO_VALUES: tuple[Any, ...] = ()

Key = tuple[Any, ...]


class AggregateSpec(Frozen):
    """One named aggregate: its function and the member expression it reads (none for ``count()``)."""

    _fields = ("name", "function", "argument")
    name: str
    function: str
    argument: CompiledExpr | None

    def __init__(self, name: str, function: str, argument: CompiledExpr | None) -> None:
        self.__dict__.update(name=name, function=function, argument=argument)


class AggregateProgram:
    """An aggregate rule, compiled: member filter, group keys, aggregates, and the group condition."""

    def __init__(self, rule: RuleSpec, site: Site, pack: PackSpec, compiler: Compiler, tz: dt.tzinfo) -> None:
        self.rule = rule
        self.id = rule.id
        self.tz = tz
        self.citations = tuple(citation_for(pack, ref) for ref in rule.cite)
        self.kinds = rule.applies_to
        self.window = rule_window(rule, pack)
        self.window_text = window_text(self.window)
        self.dated = self.window != (None, None)
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
        self.when = compiler.compile(rule.when, location=site.expression_at("when"))
        self.message_zh, self.message_en = (
            compiler.template(text, location=site.at("message", lang), lang=lang, deferred=True)
            for lang, text in (("zh", rule.message_zh), ("en", rule.message_en))
        )
        # the hot path: one closure each for the filter, the key and the values; the first two shared by rules
        self.layout = GroupLayout([s.function for s in self.specs], ref_stride=1 if self.loop is None else 2)
        loop_var = self.loop[0] if self.loop else None
        self.where_fn: Fn | None = None
        if self.where is not None:
            self.where_fn = self.where.fn
            if _reads_only_the_record([self.where.node], loop_var):
                self.where_fn = compiler.once_per_record(self.where.fn, "aggregate filter", [self.where.node])
        self.key_of = _key_of(self.keys, self.key_names)
        key_nodes = [k.node for k in self.keys]
        if _reads_only_the_record(key_nodes, loop_var):
            self.key_of = compiler.once_per_record(self.key_of, "aggregate key", key_nodes)
        self.values_of = _values_of(tuple(s.argument.fn for s in self.specs if s.argument is not None))

    @cached_property
    def trees(self) -> GroupTrees:
        """What the rule reads per record, for the generated feed of its kind (``svcpolicy.expr.codegen_groups``)."""
        from svcpolicy.expr.codegen_groups import GroupTrees

        return GroupTrees(
            self.collection.node if self.collection else None,
            self.loop,
            self.where.node if self.where else None,
            tuple(key.node for key in self.keys),
            self.key_names,
            tuple(s.argument.node for s in self.specs if s.argument is not None),
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
        """Whether the rule takes members from this record; raises Undetermined when its time is unknown."""
        if not self.dated:
            return True
        active = self.activity_on(record_date(record, self.tz))
        if isinstance(active, Undetermined):
            raise active
        return active

    def activity_on(self, day: dt.date | None) -> Activity:
        """Whether the rule takes members from a record of ``day`` (its ``record_date``; None when it has none):
        False when not in force that day, or why that is unknown."""
        return window_activity(self.id, self.window, day)

    def member_ref(self, record: RecordRef, index: int | None) -> RecordRef:
        """A member's reference: its record's, or with ``for_each`` its item's (``operations[1]``)."""
        if self.loop is None or index is None:
            return record
        return RecordRef(record.id, record.source, record.line, f"{self.loop[1].strip()}[{index}]")

    def member_refs(self, state: State) -> tuple[RecordRef, ...]:
        """The member references a group kept (the first MAX_MEMBER_REFS)."""
        return tuple(self.member_ref(record, index) for record, index in self.layout.refs(state))


def _key_of(keys: tuple[CompiledExpr, ...], names: tuple[str, ...]) -> Fn:
    """A group's key from one member; lists become tuples, mappings cannot be keys. Up to three parts unrolled."""
    fns = tuple(k.fn for k in keys)

    def hashable(key: Key) -> Key:
        return group_key(key, names)

    if len(fns) == 1:
        (k0,) = fns

        def key_of_one(env: Env) -> Key:
            part = k0(env)
            return hashable((part,)) if type(part) in _COMPOUND else (part,)

        return key_of_one
    if len(fns) == 2:
        k0, k1 = fns

        def key_of_two(env: Env) -> Key:
            a, b = k0(env), k1(env)
            return hashable((a, b)) if type(a) in _COMPOUND or type(b) in _COMPOUND else (a, b)

        return key_of_two
    if len(fns) == 3:
        k0, k1, k2 = fns

        def key_of_three(env: Env) -> Key:
            a, b, c = k0(env), k1(env), k2(env)
            compound = type(a) in _COMPOUND or type(b) in _COMPOUND or type(c) in _COMPOUND
            return hashable((a, b, c)) if compound else (a, b, c)

        return key_of_three

    def key_of_many(env: Env) -> Key:
        key = tuple([fn(env) for fn in fns])
        return hashable(key) if any(type(part) in _COMPOUND for part in key) else key

    return key_of_many


_COMPOUND = (list, dict)


def _values_of(fns: tuple[Fn, ...]) -> Callable[[Env], tuple[Any, ...]]:
    """A member's values, one per aggregate that reads one: all taken before any accumulator changes."""
    if not fns:
        return lambda env: _NO_VALUES
    if len(fns) == 1:
        (v0,) = fns
        return lambda env: (v0(env),)
    return lambda env: tuple([fn(env) for fn in fns])


MAX_INTERNED_PARTS = 4096
"""Text key parts a run keeps one copy of: the first ones seen, which for keys such as (branch, month) are the
parts that repeat. Beyond this, parts are stored as they come (a key part seen once gains nothing from a copy)."""


@dataclass
class GroupTally:
    """An aggregate run's state without its compiled program: plain data that pickles, to merge elsewhere."""

    rule: str
    groups: dict[Key, State]
    unkeyed: list[RecordRef]
    unkeyed_total: int
    unkeyed_reason: str | None


class AggregateRun:
    """The groups of one aggregate rule during one evaluation, at most ``max_groups`` of them in memory."""

    def __init__(self, program: AggregateProgram, *, max_groups: int | None = None) -> None:
        self.program = program
        self.max_groups = MAX_GROUPS_IN_MEMORY if max_groups is None else max(1, max_groups)
        self.groups: dict[Key, State] = {}
        self.spilled: SpilledGroups | None = None
        self.unkeyed: list[RecordRef] = []
        self.unkeyed_total = 0
        self.unkeyed_reason: str | None = None
        self._parts: dict[str, str] = {}
        self._layout = program.layout
        self._accumulates = bool(program.layout.updates)

    def tally(self) -> GroupTally:
        """The groups so far, to be merged into the run of another part of the stream (all read back into memory
        if this run spilled)."""
        groups = dict(self._all_groups()) if self.spilled is not None else self.groups
        return GroupTally(self.program.id, groups, self.unkeyed, self.unkeyed_total, self.unkeyed_reason)

    def merge(self, later: GroupTally) -> None:
        """Fold in the tally of the part of the stream that follows this run's: groups keep their first appearance
        and first member references, so the findings are those of one pass over both parts."""
        if later.rule != self.program.id:
            raise ValueError(f"cannot merge groups of rule {later.rule} into {self.program.id}")
        fold = self.program.layout.fold
        for key, state in later.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self._add_group(key, state)
            else:
                fold(mine, state)
        self.unkeyed.extend(later.unkeyed[: MAX_MEMBER_REFS - len(self.unkeyed)])
        self.unkeyed_total += later.unkeyed_total
        self.unkeyed_reason = self.unkeyed_reason or later.unkeyed_reason

    def feed(self, env: Env, record: Mapping[str, Any], ref: RecordRef) -> None:
        """Add one validated record's contribution (its items', with ``for_each``)."""
        program = self.program
        if record.get("kind", "interaction") not in program.kinds:
            return
        try:
            if program.dated and not program.in_force(record):
                return
            if program.collection is None:
                self._member(env, ref, None)
                return
            items = program.collection.fn(env)
        except Undetermined as exc:
            self.leave_out(None, ref, None, exc)
            return
        if not items:
            return
        if not isinstance(items, list | tuple):
            self.leave_out(None, ref, None, Undetermined(f"{program.loop[1] if program.loop else ''} is not a list"))
            return
        assert program.loop is not None  # noqa: S101 - set together with collection
        var = program.loop[0]
        values, positions = env.locals, env.positions
        for i, item in enumerate(items):
            values[var] = item
            positions[var] = i
            self._member(env, ref, i)

    def _member(self, env: Env, ref: RecordRef, index: int | None) -> None:
        program = self.program
        key: Key | None = None
        try:
            where = program.where_fn
            if where is not None and where(env) is not True:
                return
            key = program.key_of(env)
            values = program.values_of(env)
        except Undetermined as exc:
            self.leave_out(key, ref, index, exc)
            return
        self.add(key, values, ref, index)

    def add(self, key: Key, values: tuple[Any, ...], ref: RecordRef, index: int | None) -> None:
        """A member with its group key and values (one per aggregate that reads one), as the closures add it (the
        generated feeds write these steps inline: ``svcpolicy.expr.codegen_groups``)."""
        state = self.groups.get(key)
        if state is None:
            state = self.new_group(key)
        if self._accumulates:
            try:
                self._layout.add(state, values)
            except TypeError as exc:  # e.g. sum over text, min over mixed kinds
                self.cannot_aggregate(key, ref, index, exc)
                return
        if state[MEMBERS] < MAX_MEMBER_REFS:  # past that it holds MAX_MEMBER_REFS (counted_lines)
            self._layout.keep_ref(state, ref, index)
        state[MEMBERS] += 1

    def new_group(self, key: Key) -> State:
        """The state of a group met for the first time (kept under its interned key)."""
        return self._add_group(key, self._layout.new())

    def cannot_aggregate(self, key: Key, ref: RecordRef, index: int | None, exc: TypeError) -> None:
        """A member whose value an accumulator refused (sum over text, min over mixed kinds): left out, in its group."""
        self.leave_out(key, ref, index, Undetermined(f"cannot aggregate: {exc}"))

    def _add_group(self, key: Key, state: State) -> State:
        """A group not in memory: past the budget, the groups held so far go to disk first."""
        if len(self.groups) >= self.max_groups:
            if self.spilled is None:
                self.spilled = SpilledGroups()
            self.spilled.spill(self.groups.items())
            self.groups = {}
        self.groups[self._interned(key)] = state
        return state

    def _interned(self, key: Key) -> Key:
        """A new group's key with its text parts shared with earlier groups' (see MAX_INTERNED_PARTS)."""
        parts = self._parts
        if len(parts) >= MAX_INTERNED_PARTS:
            shared = tuple([parts.get(part, part) if type(part) is str else part for part in key])
        else:
            shared = tuple([parts.setdefault(part, part) if type(part) is str else part for part in key])
        # the key itself when nothing changed: rules that share a per-record key then share its tuple too
        return shared if any(map(is_not, shared, key)) else key

    def leave_out(self, key: Key | None, ref: RecordRef, index: int | None, exc: Undetermined) -> None:
        """A member the rule cannot judge: counted in its group when its key is known, else among the unkeyed."""
        if key is not None:
            state = self.groups.get(key)
            if state is None:
                state = self._add_group(key, self.program.layout.new())
            state[LEFT_OUT] += 1
            self.program.layout.keep_ref(state, ref, index)
            return
        self.unkeyed_total += 1
        self.unkeyed_reason = self.unkeyed_reason or exc.reason
        if len(self.unkeyed) < MAX_MEMBER_REFS:
            self.unkeyed.append(self.program.member_ref(ref, index))

    def _all_groups(self) -> Iterator[tuple[Key, State]]:
        """Every group in order of first appearance, spilled ones merged back."""
        if self.spilled is None:
            yield from self.groups.items()
            return
        if self.groups:
            self.spilled.spill(self.groups.items())
            self.groups = {}
        yield from self.spilled.merged(self.program.layout.fold)

    def findings(self, env: Env, pack: PackRef) -> Iterator[Finding]:
        """Judge every group (in order of first appearance); yield violations and undetermined groups."""
        program = self.program
        names = [spec.name for spec in program.specs]
        for key, state in self._all_groups():
            named = dict(zip(program.key_names, key, strict=True))
            results = dict(zip(names, program.layout.results(state), strict=True))
            members, left_out = state[MEMBERS], state[LEFT_OUT]
            if members == 0:
                reason = f"all {left_out} members of this group lack data the rule needs"
                yield self._undetermined(named, results, state, pack, reason)
                continue
            env.reset({**named, **results}, env.params)
            try:
                verdict = program.when.fn(env)
            except Undetermined as exc:
                yield self._undetermined(named, results, state, pack, exc.reason)
                continue
            if verdict is True:
                yield self._violation(named, results, state, env, pack)
            elif left_out:
                reason = f"{left_out} members lack data the rule needs; the group may be in breach"
                yield self._undetermined(named, results, state, pack, reason)
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
        self, group_key: dict[str, Any], results: dict[str, Any], state: State, env: Env, pack: PackRef
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
            members=program.member_refs(state),
            members_total=state[MEMBERS] + state[LEFT_OUT],
            left_out=state[LEFT_OUT],
            effective=program.window_text,
        )

    def _undetermined(
        self, group_key: dict[str, Any], results: dict[str, Any], state: State, pack: PackRef, reason: str
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
            members=program.member_refs(state),
            members_total=state[MEMBERS] + state[LEFT_OUT],
            left_out=state[LEFT_OUT],
            effective=program.window_text,
        )


def _group_evidence(group_key: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """A group's evidence: its key and its aggregates' values."""
    return {k: jsonable(v) for k, v in {**group_key, **results}.items()}


def _group_key(group_key: dict[str, Any]) -> dict[str, Any]:
    """A group's key as JSON-able values (the finding's ``group``, which its fingerprint reads)."""
    return {k: jsonable(v) for k, v in group_key.items()}


def _reads_only_the_record(nodes: list[Node], loop_var: str | None) -> bool:
    """Whether expressions depend on the record, its parameters and the clock only, not on a ``for_each`` item."""
    return loop_var is None or not any(
        isinstance(part, Name) and part.id == loop_var for node in nodes for part in walk(node)
    )
