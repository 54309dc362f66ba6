"""Rules to rulesets: each record rule's conditions by role, packed within durable-rules' limits.

A rule becomes up to three durable-rules rules by role (violation, attention, guard), each split into as many
rules as keep one rule's expression sequence within bounds, and the rules are spread over as many rulesets as
keep durable-rules' matching stack from overflowing. The facts' layout (:class:`LoopLayout`, the record slots)
comes out with the rules, for the adapter to project records into.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from svcpolicy.engines.durable.conditions import FALSE, TRUE, Cond, Json, all_of, any_of, leaf
from svcpolicy.engines.durable.lowering import NodeCompiler, Scope, given
from svcpolicy.engines.durable.operands import Key
from svcpolicy.engines.durable.slots import Slot, SlotTable
from svcpolicy.engines.durable.unsupported import Unsupported
from svcpolicy.expr import nodes as n
from svcpolicy.expr.env import CalendarLike
from svcpolicy.records.model import RECORD_TYPE
from svcpolicy.records.types import FieldSpec


@dataclass(frozen=True)
class RuleSpec:
    """What the durable compiler needs of a record rule (built from the closure engine's compiled rule).

    ``window`` bounds the rule's days in force as microseconds of ``time_field`` (start inclusive, end
    exclusive); ``loop`` is the ``for_each`` variable and the parsed collection.
    """

    id: str
    when: n.Node
    applies_if: n.Node | None = None
    loop: tuple[str, n.Node] | None = None
    window: tuple[int | None, int | None] = (None, None)
    time_field: str = "started_at"


@dataclass(frozen=True)
class LoopLayout:
    """Facts for the items of one ``for_each`` collection: one fact per item, ``k`` = ``name``."""

    name: str
    collection: Slot  # mode "size" in the record table: the adapter reads the list with it
    item_slots: tuple[Slot, ...]
    record_slots: tuple[Slot, ...]


@dataclass(frozen=True)
class CompiledRule:
    """One rule's durable-rules rules (by role), or why it has none.

    Roles: ``v`` fires for a violation, ``a`` for a violation or an undetermined outcome (so ``a`` without
    ``v`` is undetermined), ``g`` (for_each rules, on the record fact) when the guards or the collection are
    undetermined.
    """

    id: str
    names: Mapping[str, str]  # durable-rules rule name -> role
    unsupported: str | None = None

    @property
    def supported(self) -> bool:
        return self.unsupported is None

    def role(self, name: str) -> str | None:
        return self.names.get(name)


@dataclass
class CompiledRuleset:
    """The durable-rules rules of a pack's record rules, and the layout of the facts they match.

    ``definition`` holds every durable-rules rule by name and ``bodies`` its condition;
    :attr:`groups` spreads them over as many rulesets as keep each within durable-rules' matching stack.
    """

    definition: dict[str, Json]
    rules: list[CompiledRule]
    record_slots: tuple[Slot, ...]
    loops: tuple[LoopLayout, ...]
    bodies: dict[str, Cond] = field(default_factory=dict)

    @property
    def unsupported(self) -> list[tuple[str, str]]:
        return [(r.id, r.unsupported) for r in self.rules if r.unsupported is not None]

    @property
    def groups(self) -> list[dict[str, Json]]:
        """The rules spread over rulesets, each within durable-rules' limits (see :meth:`groups_of`)."""
        return self.groups_of(self.definition)

    def groups_of(self, names: Iterable[str]) -> list[dict[str, Json]]:
        """Some rules spread over rulesets: each within durable-rules' matching stack (see :func:`width`: the
        rules of one ruleset hang off one shared node, so their widths add up), and within
        :data:`MAX_RULESET_RULES` rules and :data:`MAX_RULESET_BYTES` of text."""
        groups: list[dict[str, Json]] = []
        current: dict[str, Json] = {}
        used = size = 0
        for name in names:
            rule = self.definition[name]
            need, text = width(self.bodies[name]), len(orjson.dumps(rule, default=str))
            full = used + need > MAX_WIDTH or len(current) >= MAX_RULESET_RULES or size + text > MAX_RULESET_BYTES
            if current and full:
                groups.append(current)
                current, used, size = {}, 0, 0
            current[name] = rule
            used += need
            size += text
        if current:
            groups.append(current)
        return groups

    def without(self, rule_ids: Mapping[str, str]) -> CompiledRuleset:
        """The same ruleset with some rules marked unsupported (e.g. durable-rules refused to load them)."""
        rules = [CompiledRule(r.id, {}, rule_ids[r.id]) if r.id in rule_ids else r for r in self.rules]
        dropped = {name for r in self.rules if r.id in rule_ids for name in r.names}
        definition = {k: v for k, v in self.definition.items() if k not in dropped}
        return CompiledRuleset(definition, rules, self.record_slots, self.loops, self.bodies)


def compile_rules(
    specs: Sequence[RuleSpec],
    *,
    defaults: Mapping[str, Any],
    constants: Mapping[str, Any],
    params: frozenset[str],
    tz: dt.tzinfo,
    calendar: CalendarLike,
) -> CompiledRuleset:
    """Compile record rules into one durable-rules ruleset; rules it cannot express are marked, with a reason."""
    record_table = SlotTable("p")
    loop_tables: dict[str, tuple[str, SlotTable, set[str], Slot, FieldSpec, str]] = {}
    definition: dict[str, Json] = {}
    bodies: dict[str, Cond] = {}
    compiled: list[CompiledRule] = []
    record_used: set[str] = set()
    for index, spec in enumerate(specs):
        try:
            rule, rules, used, loop_name = _compile_rule(
                index, spec, defaults, constants, params, tz, calendar, record_table, loop_tables, bodies
            )
            if any(width(bodies[name]) > MAX_WIDTH for name in rule.names):
                raise Unsupported("has more alternatives than durable-rules' 64-entry matching stack can hold")
            if len(rule.names) > MAX_RULES_PER_RULE:
                raise Unsupported(
                    f"splits into {len(rule.names):,} durable-rules rules, more than the {MAX_RULES_PER_RULE:,} "
                    "one rule may take"
                )
        except Unsupported as exc:
            compiled.append(CompiledRule(spec.id, {}, exc.reason))
            continue
        compiled.append(rule)
        definition.update(rules)
        record_used |= used
        if loop_name is not None:
            loop_tables[loop_name][2].update(used)
    by_key = {slot.key: slot for slot in record_table}
    loops = []
    for name, table, used, collection, _, _ in loop_tables.values():
        loops.append(
            LoopLayout(
                name, collection, tuple(table), tuple(by_key[k] for k in sorted(used, key=_slot_order) if k in by_key)
            )
        )
    record_slots = tuple(by_key[k] for k in sorted(record_used, key=_slot_order) if k in by_key)
    return CompiledRuleset(definition, compiled, record_slots, tuple(loops), bodies)


MAX_EXPRESSIONS = 26
"""durable-rules allows 31 entries in one rule's expression sequence; each ``$and``/``$or`` takes two, inside
``$iany``/``$iall`` too, and a few are its own (measured: tests and references take none; 30 entries fail)."""
MAX_WIDTH = 60
"""durable-rules matches a fact with a 64-entry stack of network nodes (measured: 65 matching rules overflow it)."""
MAX_RULESET_RULES = 64
MAX_RULESET_BYTES = 64_000
"""Bounds of one ruleset: durable-rules spins forever creating some large rulesets (measured: 459 KB, 672 rules,
in one ruleset); the compiler's rulesets take at most 46 rules and 39 KB within the matching stack."""
MAX_RULES_PER_RULE = 1_000
"""A record rule whose alternatives split into more durable-rules rules than this runs on the closure engine
(the bundled pack's largest takes 656)."""


def expressions(cond: Cond) -> int:
    """How many entries ``cond`` takes in durable-rules' expression sequence."""
    if cond.op in ("and", "or"):
        return 2 + sum(expressions(p) for p in cond.parts)
    if cond.op in ("iany", "iall"):
        return expressions(cond.parts[0])
    return 0


def width(cond: Cond) -> int:
    """An upper bound of the network nodes matching ``cond`` stacks at once: every option of an ``or`` may
    be stacked together; a chain (``and``) adds what each link stacks beside the one it continues with."""
    if cond.op == "or":
        return sum(width(p) for p in cond.parts)
    if cond.op == "and":
        return 1 + sum(width(p) - 1 for p in cond.parts)
    return 1


def _disjuncts(condition: Cond) -> list[Cond]:
    """``condition`` split into a disjunction of conditions small enough for one durable-rules rule each."""
    if condition.op == "false":
        return []
    if expressions(condition) <= MAX_EXPRESSIONS and width(condition) <= MAX_WIDTH:
        return [condition]
    if condition.op == "or":
        return list(dict.fromkeys(d for part in condition.parts for d in _disjuncts(part)))
    if condition.op == "and":
        ors = [p for p in condition.parts if p.op == "or"]
        if ors:
            widest = max(ors, key=lambda p: len(p.parts))
            rest = [p for p in condition.parts if p is not widest]
            return list(dict.fromkeys(d for option in widest.parts for d in _disjuncts(all_of(*rest, option))))
    return [condition]


def _slot_order(key: str) -> tuple[str, int]:
    digits = "".join(c for c in key if c.isdigit())
    return key.rstrip("0123456789"), int(digits or 0)


class _UsageTable(SlotTable):
    """A view of a slot table that remembers which keys one rule used."""

    def __init__(self, table: SlotTable, used: set[str]) -> None:
        self.prefix = table.prefix
        self.slots = table.slots
        self.used = used

    def get(self, *args: Any, **kwargs: Any) -> Slot:
        slot = super().get(*args, **kwargs)
        self.used.add(slot.key)
        return slot


def _compile_rule(
    index: int,
    spec: RuleSpec,
    defaults: Mapping[str, Any],
    constants: Mapping[str, Any],
    params: frozenset[str],
    tz: dt.tzinfo,
    calendar: CalendarLike,
    record_table: SlotTable,
    loop_tables: dict[str, tuple[str, SlotTable, set[str], Slot, FieldSpec, str]],
    bodies: dict[str, Cond],
) -> tuple[CompiledRule, dict[str, Json], set[str], str | None]:
    used: set[str] = set()
    records = _UsageTable(record_table, used)
    scope = Scope()
    loop_name: str | None = None
    loop_view: SlotTable | None = None
    collection_slot: Slot | None = None
    probe = NodeCompiler(
        root_type=RECORD_TYPE,
        defaults=defaults,
        record_table=records,
        loop_table=None,
        constants=constants,
        params=params,
        tz=tz,
        calendar=calendar,
        item_prefix=f"q{index}_",
    )
    if spec.loop is not None:
        var, collection = spec.loop
        if not isinstance(collection, n.PATH_NODES):
            raise Unsupported(f"for_each over `{collection.text}`, which is not a field path")
        root, steps, ftype, schema = probe.path(collection, scope, use_defaults=True)
        if root != "record" or ftype.kind != "list" or ftype.item is None:
            raise Unsupported(f"for_each over `{collection.text}`, which is not a list of the record")
        collection_slot = record_table.get("record", steps, "size", "list")
        spelled = collection_slot.key
        if spelled not in loop_tables:
            name = f"c{len(loop_tables)}"
            loop_tables[spelled] = (
                name,
                SlotTable(f"l{len(loop_tables)}_"),
                set(),
                collection_slot,
                ftype.item,
                f"{schema}[]",
            )
        loop_name, loop_table, _, _, item_type, item_schema = loop_tables[spelled]
        loop_view = _UsageTable(loop_table, set())
        scope = Scope(loop_var=var, loop_type=item_type, loop_schema=item_schema)
    compiler = NodeCompiler(
        root_type=RECORD_TYPE,
        defaults=defaults,
        record_table=records,
        loop_table=loop_view,
        constants=constants,
        params=params,
        tz=tz,
        calendar=calendar,
        item_prefix=f"q{index}_",
    )
    record_scope = Scope()
    # guards: in force (by the record's time) and applies_if, both judged on record fields
    if spec.window != (None, None):
        time = compiler.key(n.Name(spec.time_field, text=spec.time_field, loc=None), record_scope)
        start, end = spec.window
        inside = all_of(
            time.value(),
            leaf({"$gte": {time.name: start}}) if start is not None else TRUE,
            leaf({"$lt": {time.name: end}}) if end is not None else TRUE,
        )
        in_force_u = any_of(time.absent(), time.null())
    else:
        inside, in_force_u = TRUE, FALSE
    if spec.applies_if is not None:
        applies = compiler.top(spec.applies_if, record_scope)
        applies_t = applies.t()
        applies_raises = compiler.raises(spec.applies_if, record_scope)
    else:
        applies_t, applies_raises = TRUE, FALSE
    guard_t = all_of(inside, applies_t)
    guard_u = any_of(in_force_u, all_of(inside, applies_raises))
    when = compiler.top(spec.when, scope)
    violation = all_of(guard_t, when.t())
    attention = all_of(guard_t, when.nf())
    names: dict[str, str] = {}
    rules: dict[str, Json] = {}

    def add(role: str, fact: str, condition: Cond) -> None:
        """One durable-rules rule per disjunct (durable-rules limits the size of one rule's conditions)."""
        parts = _disjuncts(condition)
        for part_index, part in enumerate(parts):
            name = f"r{index}{role}{part_index}"
            body = all_of(leaf({"k": fact}), part)
            rules[name] = {"all": [{"m": body.render()}]}
            names[name] = role
            bodies[name] = body

    if loop_name is None:
        add("v", "r", violation)
        add("a", "r", any_of(guard_u, attention))
        return CompiledRule(spec.id, names), rules, used, None
    size = Key(given(collection_slot), "fact")
    add("g", "r", any_of(guard_u, all_of(guard_t, size.absent())))
    add("v", loop_name, violation)
    add("a", loop_name, attention)
    used.add(size.slot.key)
    return CompiledRule(spec.id, names), rules, used, size.slot.key
