"""Nodes to durable-rules conditions: a second compiler over the same expression tree.

The closure compiler (:mod:`svcpolicy.expr.compiler`) evaluates a condition to True, False or *undetermined*.
durable-rules only *matches*: a rule fires for the facts its condition holds for. So every node is compiled
to four positive durable-rules conditions over a fact: ``T`` (the node is true), ``F`` (false), ``NT`` (not
true: false or undetermined) and ``NF`` (not false). Negation is pushed to the leaves, so no ``not`` is
needed (durable-rules has none), and Kleene logic stays exact: ``T(a and b) = T(a) ∧ T(b)``,
``F(a and b) = F(a) ∨ F(b)``, ``NT(a and b) = NT(a) ∨ NT(b)``, and so on.

A fact is not the record: the adapter (:mod:`svcpolicy.engines.durable.facts`) *projects* every record value a
rule reads into a flat fact key (``p3``), resolving the path exactly as the closure compiler does (absent-field
defaults from the record model included). A read the closure compiler would answer with *undetermined* leaves
the key out of the fact; ``null`` stays ``null``; datetimes become integer microseconds since the epoch.
The conditions test those keys: presence (``$ex``/``$nex``), null, comparisons, ``$iany``/``$iall`` over
projected lists, ``$mt`` for phrase search.

What durable-rules cannot express is reported, never approximated: :class:`Unsupported` carries a reason and
the rule is left to the closure engine. Constant sub-expressions (literals, constant parameters, ``days(3)``)
are evaluated once by the closure compiler, so both engines agree on them by construction.

The compiler is one module per idea, each importing only those listed before it: :mod:`.unsupported` (the
reasons), :mod:`.slots` (the fact layout), :mod:`.conditions` (the IR), :mod:`.operands` (comparisons),
:mod:`.quantifiers` (``$iany``/``$iall``), this module (nodes to conditions), and :mod:`.packing` (rules to
rulesets within durable-rules' limits). The types of record fields come from :mod:`svcpolicy.records.types`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from svcpolicy.engines.durable.conditions import FALSE, TRUE, Cond, Quad, all_of, any_of, cached, leaf
from svcpolicy.engines.durable.operands import (
    Const,
    Key,
    Offset,
    Operand,
    chain,
    compare_link,
    duration_microseconds,
    membership_link,
    presence,
)
from svcpolicy.engines.durable.quantifiers import Quantify
from svcpolicy.engines.durable.slots import MISSING, Mode, Root, Slot, SlotTable, Step
from svcpolicy.engines.durable.unsupported import Unsupported, kind_words, why
from svcpolicy.expr import Compiler, Env, Undetermined
from svcpolicy.expr import nodes as n
from svcpolicy.expr.env import CalendarLike
from svcpolicy.records.types import FieldSpec, Kind

MAX_OFFSET = 10**17
"""Microsecond offsets beyond this (about 3,000 years) could overflow durable-rules' 64-bit arithmetic."""

# -- phrase search ---------------------------------------------------------------------------------------

_REGEX_SPECIAL = set(".|?*+()[]{}%")
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def phrase_regex(phrases: Sequence[str]) -> str:
    """A durable-rules regex (``%`` escapes) matching any text that contains one of ``phrases``."""
    alternatives = ["".join(f"%{c}" if c in _REGEX_SPECIAL else c for c in p) for p in phrases]
    return ".*(" + "|".join(alternatives) + ").*"


def pick_sentinel(phrases: Sequence[str]) -> str:
    """A private-use character in no phrase: stands for the characters JSON would escape in projected text."""
    used = set("".join(phrases))
    for code in range(0xE000, 0xF900):
        if chr(code) not in used:
            return chr(code)
    raise Unsupported("no free private-use character to stand for escaped text")


# -- the compiler ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Names in scope while compiling: the for_each variable and the quantifier variable, if any."""

    loop_var: str | None = None
    loop_type: FieldSpec | None = None
    loop_schema: str = ""
    item_var: str | None = None
    item_type: FieldSpec | None = None
    item_schema: str = ""
    item_table: SlotTable | None = None


class NodeCompiler:
    """Compiles condition nodes of one fact layout into :class:`Quad` conditions.

    ``fact_tables`` allocate keys for reads rooted at the record (``record``) and at the for_each item
    (``loop``); quantifier items get keys from a table per quantifier. ``fold`` evaluates constant
    sub-trees with the closure compiler.
    """

    def __init__(
        self,
        *,
        root_type: FieldSpec,
        defaults: Mapping[str, Any],
        record_table: SlotTable,
        loop_table: SlotTable | None,
        constants: Mapping[str, Any],
        params: frozenset[str],
        tz: dt.tzinfo,
        calendar: CalendarLike,
        item_prefix: str = "q",
    ) -> None:
        self.root_type = root_type
        self.defaults = defaults
        self.record_table = record_table
        self.loop_table = loop_table
        self.constants = constants
        self.params = params
        self.tz = tz
        self.calendar = calendar
        self.item_prefix = item_prefix
        self._quantifiers = 0
        self._closures = Compiler(params=params, absent_defaults=defaults, constants=constants)

    # constant folding with the closure compiler: both engines agree on constants by construction

    def is_constant(self, node: n.Node) -> bool:
        if isinstance(node, n.Name | n.AsOf | n.Has):
            return False
        if isinstance(node, n.Param):
            return node.name in self.constants
        if isinstance(node, n.Quantifier):
            return False
        return all(self.is_constant(child) for child in n.children(node))

    def fold(self, node: n.Node) -> tuple[bool, Any]:
        """(decided, value) of a constant node: decided is False when the closure engine says undetermined."""
        fn = self._closures.compile_node(node)
        env = Env({}, params=self.constants, as_of=None, tz=self.tz, calendar=self.calendar)
        try:
            return True, fn(env)
        except Undetermined:
            return False, None

    # paths

    def path(self, node: n.Node, scope: Scope, *, use_defaults: bool) -> tuple[Root, tuple[Step, ...], FieldSpec, str]:
        """Resolve a field path to (root, steps, static type, schema path)."""
        if isinstance(node, n.Name):
            if node.id == scope.item_var:
                return "item", (), given(scope.item_type), scope.item_schema
            if node.id == scope.loop_var:
                return "loop", (), given(scope.loop_type), scope.loop_schema
            fields = self.root_type.fields or {}
            if node.id not in fields:
                raise Unsupported(f"reads `{node.id}`, which the record model does not define")
            default = self.defaults.get(node.id, MISSING) if use_defaults else MISSING
            return (
                "record",
                (Step(node.id, default=default, default_key=node.id if default is not MISSING else None),),
                fields[node.id],
                node.id,
            )
        if isinstance(node, n.AsOf):
            return "as_of", (), FieldSpec("as_of", "datetime"), "as_of"
        if isinstance(node, n.Param):
            raise Unsupported(f"reads `params.{node.name}`, which has dated values (a ruleset is compiled once)")
        if isinstance(node, n.Field):
            root, steps, base, schema = self.path(node.base, scope, use_defaults=use_defaults)
            if base.kind == "any" or base.free_form:
                raise Unsupported(f"reads `{node.text}` inside a free-form mapping, whose types are unknown")
            if base.kind != "mapping" or base.fields is None or node.name not in base.fields:
                raise Unsupported(f"reads `{node.text}`, which the record model does not define")
            sub_schema = f"{schema}.{node.name}" if schema else ""
            default = self.defaults.get(sub_schema, MISSING) if use_defaults and sub_schema else MISSING
            step = Step(node.name, default=default, default_key=sub_schema if default is not MISSING else None)
            return root, (*steps, step), base.fields[node.name], sub_schema
        if isinstance(node, n.Item):
            root, steps, base, schema = self.path(node.base, scope, use_defaults=use_defaults)
            if base.kind != "list" or base.item is None:
                raise Unsupported(f"indexes `{node.text}`, which is not a list in the record model")
            return root, (*steps, Step(None, node.index)), base.item, f"{schema}[]" if schema else ""
        raise Unsupported(f"`{node.text}` is not a field path")

    def _table(self, root: Root, scope: Scope) -> tuple[SlotTable, Literal["fact", "item"]]:
        if root == "item":
            return given(scope.item_table), "item"
        if root == "loop":
            return given(self.loop_table), "fact"
        return self.record_table, "fact"

    def key(self, node: n.Node, scope: Scope, mode: Mode = "value", *, sentinel: str = "") -> Key:
        """The fact key holding ``node``'s value (projected with ``mode``)."""
        root, steps, ftype, _ = self.path(node, scope, use_defaults=mode != "has")
        # a free-form mapping (``extra``) says nothing of its values: it is read as an ``any`` value is
        kind: Kind = "any" if ftype.free_form else ftype.kind
        if mode == "value":
            if kind in ("mapping", "list"):
                mode = "size"
            elif kind in ("decimal", "any"):
                raise Unsupported(f"reads `{node.text}`, a {kind_words(kind)} durable-rules cannot compare exactly")
        elif mode == "text":
            if kind == "list" and ftype.item is not None and ftype.item.kind == "string":
                pass
            elif kind != "string":
                raise Unsupported(f"searches `{node.text}`, which is not text")
        elif mode == "len":
            if kind not in ("string", "list", "mapping"):
                raise Unsupported(f"takes len() of `{node.text}`, which has no length")
            kind = "number"
        elif mode == "has":
            kind = "number"
        table, key_scope = self._table(root, scope)
        if root == "item" and not steps:
            others = [s for s in table if s.root == "item" and not s.steps and s.mode != mode]
            if others:
                raise Unsupported("uses the items of a list both as values and as text to search")
            if mode == "value" and kind in ("string", "number", "bool", "datetime"):
                if kind == "datetime":
                    raise Unsupported("compares items of a list of datetimes")
                slot = table.get("item", (), "value", kind)
                return Key(slot, "item", whole_item=True)
            if mode == "text":
                slot = table.get("item", (), "text", "string", sentinel=sentinel)
                return Key(slot, "item", whole_item=True)
        if mode == "text" and kind == "list":
            raise Unsupported("phrase search in a list outside a quantifier")
        slot = table.get(root, steps, mode, kind, sentinel=sentinel)
        return Key(slot, key_scope)

    def collection(self, node: n.Node, scope: Scope, var: str) -> tuple[Key, Scope]:
        """The projected list a quantifier walks, and the scope inside it."""
        if scope.item_var is not None:
            raise Unsupported("a quantifier inside a quantifier, which durable-rules cannot express")
        root, steps, ftype, schema = self.path(node, scope, use_defaults=True)
        if ftype.kind != "list" or ftype.item is None:
            raise Unsupported(f"quantifies over `{node.text}`, which is not a list in the record model")
        self._quantifiers += 1
        items = SlotTable(f"{self.item_prefix}{self._quantifiers}_")
        inner = Scope(
            scope.loop_var, scope.loop_type, scope.loop_schema, var, ftype.item, f"{schema}[]" if schema else "", items
        )
        _, key_scope = self._table(root, scope)
        # the item slots are filled in while compiling the body; the list slot is created after (see quantifier)
        placeholder = Slot("", root, steps, "list", "list")
        return Key(placeholder, key_scope), inner

    # nodes

    def compile(self, node: n.Node, scope: Scope) -> Quad:
        """The T/F/NT/NF conditions of ``node`` in a boolean context (truthiness, as ``and``/``or`` use)."""
        if self.is_constant(node):
            decided, value = self.fold(node)
            if not decided:
                return Quad.of(FALSE, FALSE, TRUE)
            return Quad.of(TRUE, FALSE, FALSE) if value else Quad.of(FALSE, TRUE, FALSE)
        if isinstance(node, n.BoolOp):
            parts = [self.compile(p, scope) for p in node.operands]
            return _and_quads(parts) if node.op == "and" else _or_quads(parts)
        if isinstance(node, n.Not):
            return self.compile(node.operand, scope).negated()
        if isinstance(node, n.Compare):
            return self._compare(node, scope)
        if isinstance(node, n.Has):
            key = self.key(node.path, scope, "has")
            return Quad.of(key.present(), key.absent(), FALSE)
        if isinstance(node, n.Quantifier):
            return self._quantifier(node, scope)
        if isinstance(node, n.Call) and node.function == "contains_any":
            return self._contains_any(node, scope)
        if isinstance(node, n.PATH_NODES):
            return self._truthiness(self.key(node, scope), node)
        if isinstance(node, n.Call) and node.function == "len":
            return self._truthiness(self._value(node, scope), node)
        raise Unsupported(why(node))

    def _truthiness(self, operand: Operand, node: n.Node) -> Quad:
        if not isinstance(operand, Key):
            raise Unsupported(f"takes the truth of `{node.text}`, a computed value")
        key = operand
        absent, null, value = presence(key)
        kind = key.kind
        if key.whole_item and kind != "string":
            raise Unsupported(f"takes the truth of the items of `{node.text}`")
        if kind == "bool":
            t = leaf({key.name: True}, key.scope)
            f = any_of(leaf({key.name: False}, key.scope), null)
        elif kind in ("number", "mapping", "list"):  # a mapping or list is projected as its size
            t = leaf({"$neq": {key.name: 0}}, key.scope)  # never matches null or absent
            f = any_of(leaf({key.name: 0}, key.scope), null)
        elif kind == "string":
            t = leaf({"$neq": {key.name: ""}}, key.scope)
            f = any_of(leaf({key.name: ""}, key.scope), null)
        elif kind == "datetime":
            t, f = value, null
        else:
            raise Unsupported(f"takes the truth of `{node.text}`, a {kind_words(kind)}")
        return Quad.of(t, f, absent)

    def _value(self, node: n.Node, scope: Scope) -> Operand:
        """An operand of a comparison: a projected key, a constant, or a key plus a constant offset."""
        if self.is_constant(node):
            decided, value = self.fold(node)
            if not decided:
                raise _ConstantUndetermined()
            return Const(value)
        if isinstance(node, n.PATH_NODES):
            return self.key(node, scope)
        if isinstance(node, n.Call) and node.function == "len":
            return self.key(node.args[0], scope, "len")
        if isinstance(node, n.Arith) and node.op in ("+", "-"):
            return self._offset(node, scope)
        raise Unsupported(why(node))

    def _offset(self, node: n.Arith, scope: Scope) -> Operand:
        left, right = node.left, node.right
        if self.is_constant(left) and node.op == "+":
            left, right = right, left
        if not self.is_constant(right):
            raise Unsupported(f"`{node.text}` adds two record values; durable-rules can only add a constant")
        base = self._value(left, scope)
        decided, delta = self.fold(right)
        if not isinstance(base, Key) or not decided:
            raise Unsupported(f"`{node.text}` is arithmetic durable-rules cannot express")
        if base.kind == "datetime":
            if not isinstance(delta, dt.timedelta):
                raise Unsupported(f"`{node.text}` adds a non-duration to a datetime (always undetermined)")
            amount: int | float = duration_microseconds(delta)
        elif base.kind == "number" and isinstance(delta, int) and not isinstance(delta, bool):
            amount = delta
        else:
            raise Unsupported(f"`{node.text}` is arithmetic durable-rules cannot express exactly")
        if node.op == "-":
            amount = -amount
        if abs(amount) > MAX_OFFSET:
            raise Unsupported(f"`{node.text}` moves a value by more than durable-rules' integers can hold")
        return Offset(base, amount)

    def _compare(self, node: n.Compare, scope: Scope) -> Quad:
        try:
            operands = [self._value(node.left, scope)]
            lists: dict[int, list[Any]] = {}
            for i, (op, right) in enumerate(zip(node.ops, node.operands, strict=True)):
                if op in ("in", "not in"):
                    if not self.is_constant(right):
                        raise Unsupported(
                            f"`{node.text}` looks for a value in record data; only constant lists are supported"
                        )
                    decided, value = self.fold(right)
                    if not decided:
                        raise _ConstantUndetermined()
                    if isinstance(value, dict):  # `in` a mapping tests its keys
                        value = list(value)
                    if not isinstance(value, list | tuple):
                        raise Unsupported(f"`{node.text}` searches text; use contains_any() on a field instead")
                    lists[i] = list(value)
                    operands.append(Const(None))
                else:
                    operands.append(self._value(right, scope))
        except _ConstantUndetermined:
            # an operand is always undetermined: a single comparison is undetermined; a chain may still be false
            if len(node.ops) == 1:
                return Quad.of(FALSE, FALSE, TRUE)
            raise Unsupported(f"`{node.text}` chains a comparison with an always-undetermined operand") from None
        links = []
        for i, op in enumerate(node.ops):
            if i in lists:
                if i + 1 < len(node.ops):
                    raise Unsupported(f"`{node.text}` chains a membership test")
                links.append(membership_link(op, operands[i], lists[i]))
            else:
                links.append(compare_link(op, operands[i], operands[i + 1]))
        if len(links) == 1:
            link = links[0]
            return Quad.of(link.t, link.f, any_of(link.raises, link.operand_u))
        return chain(links)

    def _contains_any(self, node: n.Call, scope: Scope) -> Quad:
        haystack, phrases_node = node.args
        if not self.is_constant(phrases_node):
            raise Unsupported("contains_any() with phrases from the record")
        decided, phrases = self.fold(phrases_node)
        if not decided:
            return Quad.of(FALSE, FALSE, TRUE)
        if isinstance(phrases, str):
            phrases = [phrases]
        if not isinstance(phrases, list | tuple) or not all(isinstance(p, str) for p in phrases):
            return Quad.of(FALSE, FALSE, TRUE)  # the closure engine raises undetermined on every record
        if any(_JSON_ESCAPED.search(p) for p in phrases):
            raise Unsupported("a phrase holds a quote, backslash or control character, which JSON escapes")
        sentinel = pick_sentinel(phrases)
        key = self.key(haystack, scope, "text", sentinel=sentinel)
        absent, null, value = presence(key)
        never = (
            "needs a text not to contain phrases (`not contains_any(...)`, or as a guard); "
            "durable-rules' $mt cannot be negated"
        )
        if key.slot.kind == "string":
            if any(p == "" for p in phrases):
                t: Cond = value
            else:
                t = all_of(value, leaf({"$mt": {key.name: phrase_regex(phrases)}}, key.scope))
            u = any_of(absent, null)
            return Quad(lambda: t, _impossible(never), _impossible(never), lambda: any_of(t, u))
        raise Unsupported("contains_any() on a list; write any(contains_any(s, ...) for s in ...)")

    def _quantifier(self, node: n.Quantifier, scope: Scope) -> Quad:
        if node.kind == "count":
            raise Unsupported(f"`{node.text}` counts; durable-rules has no aggregation inside a fact")
        if self.is_constant(node.iterable):
            return self._unrolled(node, scope)
        placeholder, inner = self.collection(node.iterable, scope, node.var)
        element = self.compile(node.element, inner) if node.element is not None else None
        condition = self.compile(node.condition, inner) if node.condition is not None else None
        truth = _item_truth(node.kind, element, condition)
        # now that the body has allocated its item slots, create the list slot that carries them
        item_table = given(inner.item_table)
        table, key_scope = self._table(placeholder.slot.root, scope)
        slot = table.get(placeholder.slot.root, placeholder.slot.steps, "list", "list", items=tuple(item_table))
        coll = Key(slot, key_scope)
        count = leaf({"$neq": {coll.slot.count_key: None}}, key_scope)  # a list (not absent, not null)
        not_list = any_of(
            leaf({"$nex": {coll.slot.count_key: 1}}, key_scope), leaf({coll.slot.count_key: None}, key_scope)
        )
        empty = leaf({coll.slot.count_key: 0}, key_scope)
        nonempty = leaf({"$gt": {coll.slot.count_key: 0}}, key_scope)
        exists = Quantify(coll.slot.key, empty, nonempty)
        if node.kind == "any":
            return Quad(
                cached(lambda: all_of(count, exists.some(truth.t()))),
                cached(lambda: all_of(count, exists.every(truth.f()))),
                cached(lambda: any_of(not_list, all_of(count, exists.every(truth.nt())))),
                cached(lambda: any_of(not_list, all_of(count, exists.some(truth.nf())))),
            )
        return Quad(
            cached(lambda: all_of(count, exists.every(truth.t()))),
            cached(lambda: all_of(count, exists.some(truth.f()))),
            cached(lambda: any_of(not_list, all_of(count, exists.some(truth.nt())))),
            cached(lambda: any_of(not_list, all_of(count, exists.every(truth.nf())))),
        )

    def _unrolled(self, node: n.Quantifier, scope: Scope) -> Quad:
        """A quantifier over a constant list (a parameter): one copy of the body per item, joined by ``or``
        (``any``) or ``and`` (``all``), which is the quantifier's own three-valued logic."""
        decided, items = self.fold(node.iterable)
        if not decided or not isinstance(items, list | tuple):
            return Quad.of(FALSE, FALSE, TRUE)  # the closure engine raises on every record
        if len(items) > MAX_UNROLLED:
            raise Unsupported(f"`{node.text}` walks a list of {len(items)} constants (at most {MAX_UNROLLED})")
        copies = []
        for item in items:
            bound = n.Const(item, text=repr(item), loc=node.loc)
            element = _bind(node.element, node.var, bound) if node.element is not None else None
            condition = _bind(node.condition, node.var, bound) if node.condition is not None else None
            parts = [self.compile(c, scope) for c in (condition, element) if c is not None]
            if not parts:
                copies.append(Quad.of(TRUE, FALSE, FALSE))
            elif len(parts) == 1:
                copies.append(parts[0])
            elif node.kind == "all":
                copies.append(_or_quads([parts[0].negated(), parts[1]]))
            else:
                copies.append(_and_quads(parts))
        return _or_quads(copies) if node.kind == "any" else _and_quads(copies)

    def top(self, node: n.Node, scope: Scope) -> Quad:
        """Conditions for "the result *is* True" / "*is* False" (a rule's ``when`` and ``applies_if``)."""
        if isinstance(node, n.PATH_NODES) and not self.is_constant(node):
            key = self.key(node, scope)
            if key.kind != "bool":
                raise Unsupported(f"the condition `{node.text}` is a {kind_words(key.kind)}, not a true/false test")
            t = leaf({key.name: True}, key.scope)
            f = leaf({key.name: False}, key.scope)
            return Quad.of(t, f, any_of(key.absent(), key.null()))
        if isinstance(node, n.Conditional | n.Coalesce | n.Arith | n.Negate | n.Const | n.ListLit | n.Param):
            if self.is_constant(node):
                decided, value = self.fold(node)
                if decided and value is True:
                    return Quad.of(TRUE, FALSE, FALSE)
                if decided and value is False:
                    return Quad.of(FALSE, TRUE, FALSE)
                return Quad.of(FALSE, FALSE, TRUE)
            raise Unsupported(why(node))
        if isinstance(node, n.Call) and node.function == "len":
            raise Unsupported(f"the condition `{node.text}` is a number, not a true/false test")
        if isinstance(node, n.Call) and node.function not in ("contains_any",):
            raise Unsupported(why(node))
        if isinstance(node, n.Quantifier) and node.kind == "count":
            raise Unsupported(why(node))
        return self.compile(node, scope)

    def raises(self, node: n.Node, scope: Scope) -> Cond:
        """When evaluating ``node`` raises (undetermined) rather than returning a value."""
        if isinstance(node, n.PATH_NODES) and not self.is_constant(node):
            key = self.key(node, scope)
            if key.kind != "bool":
                raise Unsupported(f"the guard `{node.text}` is a {kind_words(key.kind)}, not a true/false test")
            return key.absent()
        quad = self.top(node, scope)
        return all_of(quad.nt(), quad.nf())


MAX_UNROLLED = 200


def _bind(node: n.Node, var: str, value: n.Node) -> n.Node:
    """``node`` with free occurrences of ``var`` replaced by ``value``."""
    if isinstance(node, n.Name):
        return value if node.id == var else node
    if isinstance(node, n.Quantifier) and node.var == var:
        return n.replace(node, iterable=_bind(node.iterable, var, value))
    return n.transform(node, lambda child: _bind(child, var, value))


def _and_quads(parts: Sequence[Quad]) -> Quad:
    return Quad(
        cached(lambda: all_of(*(p.t() for p in parts))),
        cached(lambda: any_of(*(p.f() for p in parts))),
        cached(lambda: any_of(*(p.nt() for p in parts))),
        cached(lambda: all_of(*(p.nf() for p in parts))),
    )


def _or_quads(parts: Sequence[Quad]) -> Quad:
    return Quad(
        cached(lambda: any_of(*(p.t() for p in parts))),
        cached(lambda: all_of(*(p.f() for p in parts))),
        cached(lambda: all_of(*(p.nt() for p in parts))),
        cached(lambda: any_of(*(p.nf() for p in parts))),
    )


G = TypeVar("G")


def given(value: G | None) -> G:
    """A value the compiler's own bookkeeping guarantees (a scope's types, its slot tables)."""
    if value is None:
        raise RuntimeError("durable compiler: a scope is missing its bookkeeping")
    return value


class _ConstantUndetermined(Exception):
    """An operand that is undetermined whatever the record (e.g. a dated parameter missing its value)."""


def _impossible(reason: str) -> Callable[[], Cond]:
    def fail() -> Cond:
        raise Unsupported(reason)

    return fail


def _item_truth(kind: str, element: Quad | None, condition: Quad | None) -> Quad:
    """One item's truth: ``condition and element`` for any, ``not condition or element`` for all."""
    if condition is None:
        if element is None:
            return Quad.of(TRUE, FALSE, FALSE)
        return element
    if element is None:
        return condition
    if kind == "all":
        c = condition.negated()
        return Quad(
            cached(lambda: any_of(c.t(), element.t())),
            cached(lambda: all_of(c.f(), element.f())),
            cached(lambda: all_of(c.nt(), element.nt())),
            cached(lambda: any_of(c.nf(), element.nf())),
        )
    return Quad(
        cached(lambda: all_of(condition.t(), element.t())),
        cached(lambda: any_of(condition.f(), element.f())),
        cached(lambda: any_of(condition.nt(), element.nt())),
        cached(lambda: all_of(condition.nf(), element.nf())),
    )
