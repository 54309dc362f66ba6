"""Nodes to durable-rules conditions: a second compiler over the same expression tree.

The closure compiler (:mod:`svcpolicy.expr.compiler`) evaluates a condition to True, False or *undetermined*.
durable-rules only *matches*: a rule fires for the facts its condition holds for. So every node is compiled
to four positive durable-rules conditions over a fact: ``T`` (the node is true), ``F`` (false), ``NT`` (not
true: false or undetermined) and ``NF`` (not false). Negation is pushed to the leaves, so no ``not`` is
needed (durable-rules has none), and Kleene logic stays exact: ``T(a and b) = T(a) ∧ T(b)``,
``F(a and b) = F(a) ∨ F(b)``, ``NT(a and b) = NT(a) ∨ NT(b)``, and so on.

A fact is not the record: the adapter (:mod:`svcpolicy.engines.durable.adapter`) *projects* every record value a rule
reads into a flat fact key (``p3``), resolving the path exactly as the closure compiler does (absent-field
defaults from the record model included). A read the closure compiler would answer with *undetermined* leaves
the key out of the fact; ``null`` stays ``null``; datetimes become integer microseconds since the epoch.
The conditions test those keys: presence (``$ex``/``$nex``), null, comparisons, ``$iany``/``$iall`` over
projected lists, ``$mt`` for phrase search.

What durable-rules cannot express is reported, never approximated: :class:`Unsupported` carries a reason and
the rule is left to the closure engine. Constant sub-expressions (literals, constant parameters, ``days(3)``)
are evaluated once by the closure compiler, so both engines agree on them by construction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

from svcpolicy.expr import nodes as n
from svcpolicy.expr.compiler import _Builder
from svcpolicy.expr.env import CalendarLike, Env
from svcpolicy.expr.undetermined import Undetermined

Json = Any
MISSING: Any = object()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_STRING_BYTES = 65_535
"""durable-rules keeps string lengths in 16 bits: a longer string compares by a truncated length."""
MAX_OFFSET = 10**17
"""Microsecond offsets beyond this (about 3,000 years) could overflow durable-rules' 64-bit arithmetic."""
DATETIME_MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
DATETIME_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
FLOAT_EXACT = 2**53

Kind = Literal["bool", "number", "string", "datetime", "mapping", "list", "decimal", "any"]


class Unsupported(Exception):
    """The construct is outside what durable-rules can express; ``reason`` says what and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- the record model's types, by schema path ---------------------------------------------------------


@dataclass(frozen=True)
class FieldType:
    """The static type of a record path: its kind, and for lists the type of an item."""

    kind: Kind
    item: FieldType | None = None
    fields: Mapping[str, FieldType] | None = None


def _field_type(annotation: Any) -> FieldType:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _field_type(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) != 1:
            return FieldType("any")
        return _field_type(options[0])
    if origin is Literal:
        values = get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return FieldType("string")
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return FieldType("number")
        return FieldType("any")
    if origin is list:
        return FieldType("list", item=_field_type(get_args(annotation)[0]))
    if origin is dict:
        return FieldType("any")
    if is_typeddict(annotation):
        hints = get_type_hints(annotation, include_extras=True)
        return FieldType("mapping", fields={name: _field_type(hint) for name, hint in hints.items()})
    if annotation is bool:
        return FieldType("bool")
    if annotation in (int, float):
        return FieldType("number")
    if annotation is str:
        return FieldType("string")
    if annotation is Decimal:
        return FieldType("decimal")
    if isinstance(annotation, type) and issubclass(annotation, dt.datetime):
        return FieldType("datetime")
    name = getattr(annotation, "__name__", "")
    if name == "AwareDatetime":
        return FieldType("datetime")
    return FieldType("any")


def record_type() -> FieldType:
    """The record model as a :class:`FieldType` tree (built on first use)."""
    from svcpolicy.records.model import Interaction

    return _field_type(Interaction)


def event_type(annotation: Any) -> FieldType:
    """Any TypedDict model (e.g. an event) as a :class:`FieldType` tree."""
    return _field_type(annotation)


# -- what the adapter projects into facts ----------------------------------------------------------------

Mode = Literal["value", "size", "text", "has", "len", "list"]
Root = Literal["record", "loop", "item", "as_of"]


@dataclass(frozen=True)
class Step:
    """One step of a path: a field (with the value its absence means, if any) or a literal list position."""

    name: str | None
    index: int = 0
    default: Any = field(default=MISSING, compare=False)
    default_key: str | None = None  # identity of the default for deduplication (the schema path)


@dataclass(frozen=True)
class Slot:
    """A value the adapter writes into a fact under ``key``: read ``steps`` from ``root``, then apply ``mode``.

    ``value``: the scalar itself (datetimes as microseconds); ``size``: a mapping's or list's length, or null;
    ``text``: a string with the characters JSON would escape replaced by ``sentinel``; ``has``: ``1`` when the
    record gives the path at all (no defaults); ``len``: ``len()`` of a string or list; ``list``: the items,
    each projected by ``items``, plus the item count under ``key + "n"``.
    """

    key: str
    root: Root
    steps: tuple[Step, ...]
    mode: Mode
    kind: Kind
    items: tuple[Slot, ...] = ()
    sentinel: str = ""
    spelling: str = ""

    @property
    def count_key(self) -> str:
        return self.key + "n"


class SlotTable:
    """Allocates fact keys (``prefix`` + number) to slots, one key per distinct read."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.slots: dict[tuple[Any, ...], Slot] = {}

    def get(
        self,
        root: Root,
        steps: tuple[Step, ...],
        mode: Mode,
        kind: Kind,
        *,
        items: tuple[Slot, ...] = (),
        sentinel: str = "",
        spelling: str = "",
    ) -> Slot:
        identity = (root, steps, mode, tuple(s.key for s in items), sentinel)
        slot = self.slots.get(identity)
        if slot is None:
            key = f"{self.prefix}{len(self.slots)}"
            slot = Slot(key, root, steps, mode, kind, items, sentinel, spelling)
            self.slots[identity] = slot
        return slot

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots.values())


# -- conditions: a small IR rendered to durable-rules JSON ------------------------------------------------


@dataclass(frozen=True, eq=False)
class Cond:
    """A durable-rules condition under construction. ``op`` is one of true, false, and, or, leaf, iany, iall.

    ``scope`` says where a leaf may be rendered: ``fact`` leaves test the fact's own keys; ``item`` leaves
    test a quantifier item (``$i.q0``) and may refer to the fact's keys only on their right-hand side.
    """

    op: str
    parts: tuple[Cond, ...] = ()
    json: Json = None
    scope: Literal["fact", "item"] = "fact"
    collection: str = ""

    def _identity(self) -> tuple[Any, ...]:
        return (self.op, self.parts, _hashable(self.json), self.scope, self.collection)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cond) and self._identity() == other._identity()

    def __hash__(self) -> int:  # ``json`` holds dicts: hash a canonical form of it
        return hash(self._identity())

    def render(self) -> Json:
        if self.op == "leaf":
            return self.json
        if self.op in ("and", "or"):
            return {f"${self.op}": [p.render() for p in self.parts]}
        if self.op in ("iany", "iall"):
            inner = self.parts[0].render()
            return {f"${self.op}": {self.collection: inner}}
        raise ValueError(f"cannot render a constant condition ({self.op})")

    @property
    def mentions_item(self) -> bool:
        if self.op == "leaf":
            return self.scope == "item"
        return any(p.mentions_item for p in self.parts)

    @property
    def mentions_fact(self) -> bool:
        if self.op == "leaf":
            return self.scope == "fact"
        if self.op in ("iany", "iall"):
            return True
        return any(p.mentions_fact for p in self.parts)


TRUE = Cond("true")
FALSE = Cond("false")


def leaf(json: Json, scope: Literal["fact", "item"] = "fact") -> Cond:
    return Cond("leaf", json=json, scope=scope)


def all_of(*parts: Cond) -> Cond:
    flat: list[Cond] = []
    for part in parts:
        if part.op == "false":
            return FALSE
        if part.op == "true":
            continue
        flat.extend(part.parts if part.op == "and" else (part,))
    unique = list(dict.fromkeys(flat))
    if not unique:
        return TRUE
    return unique[0] if len(unique) == 1 else Cond("and", tuple(unique))


def any_of(*parts: Cond) -> Cond:
    flat: list[Cond] = []
    for part in parts:
        if part.op == "true":
            return TRUE
        if part.op == "false":
            continue
        flat.extend(part.parts if part.op == "or" else (part,))
    unique = list(dict.fromkeys(flat))
    if not unique:
        return FALSE
    return unique[0] if len(unique) == 1 else Cond("or", tuple(unique))


def _hashable(value: Json) -> Json:
    """Conditions are frozen dataclasses holding JSON; make dict/list parts hashable for deduplication."""
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


@dataclass
class Quad:
    """The four conditions of a node; each is computed on demand, and may be impossible (``Unsupported``)."""

    t: Callable[[], Cond]
    f: Callable[[], Cond]
    nt: Callable[[], Cond]
    nf: Callable[[], Cond]

    @staticmethod
    def of(t: Cond, f: Cond, u: Cond) -> Quad:
        """From T, F and U (undetermined), which are mutually exclusive and cover every case."""
        return Quad(lambda: t, lambda: f, lambda: any_of(f, u), lambda: any_of(t, u))

    def negated(self) -> Quad:
        return Quad(self.f, self.t, self.nf, self.nt)


def _cached(fn: Callable[[], Cond]) -> Callable[[], Cond]:
    result: list[Cond] = []

    def get() -> Cond:
        if not result:
            result.append(fn())
        return result[0]

    return get


# -- operands ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A projected value: ``slot`` in the fact (``scope="fact"``) or in a quantifier item (``"item"``)."""

    slot: Slot
    scope: Literal["fact", "item"]
    whole_item: bool = False  # the quantifier item itself (a list of scalars), rendered as ``$i``

    @property
    def kind(self) -> Kind:
        return self.slot.kind

    @property
    def name(self) -> str:
        if self.whole_item:
            return "$i"
        return f"$i.{self.slot.key}" if self.scope == "item" else self.slot.key

    def present(self) -> Cond:
        return leaf({"$ex": {self.name: 1}}, self.scope)

    def absent(self) -> Cond:
        if self.whole_item:
            return FALSE
        return leaf({"$nex": {self.name: 1}}, self.scope)

    def null(self) -> Cond:
        return leaf({self.name: None}, self.scope)

    def value(self) -> Cond:
        """Present and not null."""
        return leaf({"$neq": {self.name: None}}, self.scope)


@dataclass(frozen=True)
class Const:
    value: Any

    @property
    def kind(self) -> str:
        return _const_kind(self.value)


@dataclass(frozen=True)
class Offset:
    """``key + delta``: a projected number or datetime moved by a constant (durable-rules ``$add``)."""

    key: Key
    delta: int | float


Operand = Key | Const | Offset


def _const_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.timedelta):
        return "duration"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Decimal):
        return "decimal"
    return type(value).__name__


def microseconds(value: dt.datetime) -> int:
    """An aware datetime as whole microseconds since the epoch: exact, and ordered as the instants are."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def duration_microseconds(value: dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def fact_constant(value: Any) -> Any:
    """A constant as it is written into a condition (datetimes as microseconds)."""
    if isinstance(value, dt.datetime):
        return microseconds(value)
    if isinstance(value, float) and value != value:  # NaN never appears in conditions
        raise Unsupported("a NaN constant")
    return value


def _operand_kind(operand: Operand) -> str:
    if isinstance(operand, Const):
        return operand.kind
    if isinstance(operand, Offset):
        return operand.key.kind
    return operand.kind


def _render_right(operand: Operand, left_scope: str) -> Json:
    """The right-hand side of a leaf: a constant, a reference to a fact key, or ``key + delta``."""
    if isinstance(operand, Const):
        return fact_constant(operand.value)
    if isinstance(operand, Key):
        if operand.scope == "item":
            raise Unsupported("compares two fields of one quantifier item, which durable-rules cannot express")
        return {"$m": operand.name}
    if operand.key.scope == "item":
        raise Unsupported("arithmetic on a quantifier item's field, which durable-rules cannot express")
    return {"$add": {"$l": {"$m": operand.key.name}, "$r": operand.delta}}


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_DURABLE_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "==": "$eq", "!=": "$neq"}


def _cmp_leaf(op: str, left: Operand, right: Operand) -> Cond:
    """One durable-rules comparison, true only when both operands are present and not null.

    durable-rules never matches a comparison whose left operand is null or absent, but a reference (``$m``) to
    an absent key *matches*, and ``x != null`` matches; so a referenced key is guarded to be present and not
    null.
    """
    if isinstance(left, Const):
        if isinstance(right, Const):
            raise AssertionError("constant comparisons are folded")
        left, right, op = right, left, _FLIP[op]
    if isinstance(left, Offset):
        moved: Offset = left
        if isinstance(right, Key) and right.scope == moved.key.scope:
            # (k1 + d) op k2  <=>  k2 flip(op) (k1 + d)
            left, right, op = right, moved, _FLIP[op]
        elif isinstance(right, Const) and isinstance(moved.delta, int) and type(right.value) is int:
            # (k + d) op c  <=>  k op (c - d), exact for whole numbers (microseconds included)
            left, right = moved.key, Const(right.value - moved.delta)
        else:
            raise Unsupported("arithmetic durable-rules cannot place on the right of a comparison")
    if not isinstance(left, Key):
        raise Unsupported("compares two computed values")
    if left.scope == "fact" and (
        (isinstance(right, Key) and right.scope == "item") or (isinstance(right, Offset) and right.key.scope == "item")
    ):
        if isinstance(right, Offset):
            raise Unsupported("arithmetic on a quantifier item's field, which durable-rules cannot express")
        left, right, op = right, left, _FLIP[op]
    if isinstance(right, Const) and right.value is None:
        raise AssertionError("null comparisons are built from presence tests")
    rendered = _render_right(right, left.scope)
    referenced = _as_key(right)
    test = leaf({_DURABLE_OP[op]: {left.name: rendered}}, left.scope)
    if referenced is None:
        return test
    return all_of(referenced.value(), test)


def _as_key(operand: Operand) -> Key | None:
    if isinstance(operand, Key):
        return operand
    if isinstance(operand, Offset):
        return operand.key
    return None


def _presence(operand: Operand) -> tuple[Cond, Cond, Cond]:
    """(absent, null, present-and-not-null) for an operand; an offset is never null once its key is not."""
    if isinstance(operand, Const):
        return FALSE, (TRUE if operand.value is None else FALSE), (FALSE if operand.value is None else TRUE)
    key = _as_key(operand)
    if key is None:
        raise TypeError(operand)
    if key.whole_item:
        return FALSE, FALSE, TRUE  # items of a list of strings are strings
    if isinstance(operand, Offset):  # null + delta raises: an offset is a value or undetermined, never null
        return any_of(key.absent(), key.null()), FALSE, key.value()
    return key.absent(), key.null(), key.value()


def _offset_range(operand: Operand) -> Cond:
    """For ``key + delta`` on datetimes: the closure engine raises on results outside years 1-9999 (a null key
    is not out of range: ``null + delta`` is its own undetermined case)."""
    if not isinstance(operand, Offset) or operand.key.kind != "datetime":
        return TRUE
    key, delta = operand.key, int(operand.delta)
    low, high = DATETIME_MIN_US - delta, DATETIME_MAX_US - delta
    within = all_of(leaf({"$gte": {key.name: low}}, key.scope), leaf({"$lte": {key.name: high}}, key.scope))
    return any_of(key.null(), within)


def _offset_out_of_range(operand: Operand) -> Cond:
    if not isinstance(operand, Offset) or operand.key.kind != "datetime":
        return FALSE
    key, delta = operand.key, int(operand.delta)
    low, high = DATETIME_MIN_US - delta, DATETIME_MAX_US - delta
    return all_of(
        key.value(), any_of(leaf({"$lt": {key.name: low}}, key.scope), leaf({"$gt": {key.name: high}}, key.scope))
    )


_ORDERABLE = {frozenset({"number"}), frozenset({"bool"}), frozenset({"number", "bool"}), frozenset({"datetime"})}


@dataclass(frozen=True)
class Link:
    """One link of a comparison: its T and F, when its test raises (a type error), and when an operand does."""

    t: Cond
    f: Cond
    raises: Cond  # both operands evaluate but the test raises (type error)
    operand_u: Cond  # an operand is undetermined (absent)


def compare_link(op: str, left: Operand, right: Operand) -> Link:
    """The conditions of ``left op right`` with the closure engine's semantics (see docs/expressions.md)."""
    la, ln, lv = _presence(left)
    ra, rn, rv = _presence(right)
    operand_u = any_of(la, ra, _offset_out_of_range(left), _offset_out_of_range(right))
    in_range = all_of(_offset_range(left), _offset_range(right))
    lk, rk = _operand_kind(left), _operand_kind(right)
    null_test = op in ("is", "is not") or "null" in (lk, rk)
    for kind in (lk, rk):
        if kind in ("mapping", "list") and not null_test:
            raise Unsupported(f"compares a whole {kind}, which durable-rules cannot do")
        if kind in ("decimal", "any", "date", "duration"):
            raise Unsupported(f"compares a {_kind_words(kind)}, which durable-rules cannot represent exactly")
    defined_l, defined_r = any_of(lv, ln), any_of(rv, rn)
    if op in ("is", "is not"):
        t, f = all_of(in_range, ln), all_of(in_range, lv)
        return Link(*((t, f) if op == "is" else (f, t)), FALSE, operand_u)
    if op in ("==", "!="):
        comparable = lk == rk and "null" not in (lk, rk)
        t = any_of(all_of(in_range, ln, rn), all_of(in_range, _cmp_leaf("==", left, right)) if comparable else FALSE)
        f = any_of(
            all_of(in_range, ln, rv),
            all_of(in_range, lv, rn),
            all_of(in_range, _cmp_leaf("!=", left, right)) if comparable else FALSE,
        )
        raises = FALSE if comparable or "null" in (lk, rk) else all_of(in_range, lv, rv)
        if op == "!=":
            t, f = f, t
        return Link(t, f, raises, operand_u)
    kinds = frozenset({lk, rk})
    if kinds == {"string"}:
        raise Unsupported("orders text; durable-rules compares the JSON-escaped bytes")
    if "null" in kinds or kinds not in _ORDERABLE:
        return Link(FALSE, FALSE, all_of(in_range, defined_l, defined_r), operand_u)
    t = all_of(in_range, _cmp_leaf(op, left, right))
    f = all_of(in_range, _cmp_leaf(_NEGATE[op], left, right))
    raises = all_of(in_range, any_of(ln, rn), defined_l, defined_r)
    return Link(t, f, raises, operand_u)


def membership_link(op: str, left: Operand, options: Sequence[Any]) -> Link:
    """``left in [constants]``: Python's ``in`` compares with ``==`` and never raises on mixed kinds."""
    la, ln, lv = _presence(left)
    if isinstance(left, Offset):
        raise Unsupported("membership of a computed value")
    lk = _operand_kind(left)
    if lk in ("mapping", "list", "decimal", "any"):
        raise Unsupported(f"looks for a {_kind_words(lk)} in a list")
    matches: list[Cond] = []
    misses: list[Cond] = []
    for option in options:
        kind = _const_kind(option)
        if kind in ("list", "mapping", "decimal", "date", "duration", "datetime"):
            raise Unsupported(f"a list holding a {_kind_words(kind)}, which durable-rules cannot compare exactly")
        if option is None or kind not in _EQUAL_ACROSS.get(lk, {lk}):
            continue
        matches.append(_cmp_leaf("==", left, Const(option)))
        misses.append(_cmp_leaf("!=", left, Const(option)))
    has_none = any(option is None for option in options)
    t = any_of(ln if has_none else FALSE, *matches)
    f = any_of(FALSE if has_none else ln, all_of(*misses) if misses else lv)
    if op == "not in":
        t, f = f, t
    return Link(t, f, FALSE, la)


# Python's == is True across these kinds (True == 1, 1 == 1.0); durable-rules agrees (it compares as numbers).
_EQUAL_ACROSS: dict[str, set[str]] = {"number": {"number", "bool"}, "bool": {"number", "bool"}}


def chain(links: Sequence[Link]) -> Quad:
    """A chained comparison: true when every link is; false at the first false link reached, unless an
    earlier link's test raised (the closure engine raises at once); undetermined otherwise."""
    t = all_of(*(link.t for link in links))
    falses = []
    for i, link in enumerate(links):
        earlier_fine = all_of(*(_not_raises(earlier) for earlier in links[:i]))
        falses.append(all_of(link.f, earlier_fine))
    f = any_of(*falses)
    u_parts = []
    for i, link in enumerate(links):
        # undetermined when link i raises (and no earlier link was false), or when an operand is undetermined
        # and no link decides false
        u_parts.append(all_of(link.raises, all_of(*(_not_false_or_raises(e) for e in links[:i]))))
    operand_u = any_of(*(link.operand_u for link in links))
    nf_operand = all_of(operand_u, all_of(*(_nf_link(links, i) for i in range(len(links)))))
    u = any_of(*u_parts, nf_operand)
    return Quad.of(t, f, u)


def _not_raises(link: Link) -> Cond:
    """``link`` does not raise: its test is decided, or an operand is undetermined (the link is skipped)."""
    return any_of(link.t, link.f, link.operand_u)


def _not_false_or_raises(link: Link) -> Cond:
    return any_of(link.t, link.operand_u)


def _nf_link(links: Sequence[Link], i: int) -> Cond:
    """Link ``i`` does not make the chain false: it is not false, or an earlier link raised."""
    earlier_raised = any_of(*(links[j].raises for j in range(i)))
    return any_of(links[i].t, links[i].raises, links[i].operand_u, earlier_raised)


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
    loop_type: FieldType | None = None
    loop_schema: str = ""
    item_var: str | None = None
    item_type: FieldType | None = None
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
        root_type: FieldType,
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
        builder = _Builder(self.params, self.defaults, self.constants, {}, traced=False)
        fn = builder.build(node)
        env = Env({}, params=self.constants, as_of=None, tz=self.tz, calendar=self.calendar)
        try:
            return True, fn(env)
        except Undetermined:
            return False, None

    # paths

    def _path(self, node: n.Node, scope: Scope, *, use_defaults: bool) -> tuple[Root, tuple[Step, ...], FieldType, str]:
        """Resolve a field path to (root, steps, static type, schema path)."""
        if isinstance(node, n.Name):
            if node.id == scope.item_var:
                return "item", (), _given(scope.item_type), scope.item_schema
            if node.id == scope.loop_var:
                return "loop", (), _given(scope.loop_type), scope.loop_schema
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
            return "as_of", (), FieldType("datetime"), "as_of"
        if isinstance(node, n.Param):
            raise Unsupported(f"reads `params.{node.name}`, which has dated values (a ruleset is compiled once)")
        if isinstance(node, n.Field):
            root, steps, base, schema = self._path(node.base, scope, use_defaults=use_defaults)
            if base.kind == "any":
                raise Unsupported(f"reads `{node.text}` inside a free-form mapping, whose types are unknown")
            if base.kind != "mapping" or base.fields is None or node.name not in base.fields:
                raise Unsupported(f"reads `{node.text}`, which the record model does not define")
            sub_schema = f"{schema}.{node.name}" if schema else ""
            default = self.defaults.get(sub_schema, MISSING) if use_defaults and sub_schema else MISSING
            step = Step(node.name, default=default, default_key=sub_schema if default is not MISSING else None)
            return root, (*steps, step), base.fields[node.name], sub_schema
        if isinstance(node, n.Item):
            root, steps, base, schema = self._path(node.base, scope, use_defaults=use_defaults)
            if base.kind != "list" or base.item is None:
                raise Unsupported(f"indexes `{node.text}`, which is not a list in the record model")
            return root, (*steps, Step(None, node.index)), base.item, f"{schema}[]" if schema else ""
        raise Unsupported(f"`{node.text}` is not a field path")

    def _table(self, root: Root, scope: Scope) -> tuple[SlotTable, Literal["fact", "item"]]:
        if root == "item":
            return _given(scope.item_table), "item"
        if root == "loop":
            return _given(self.loop_table), "fact"
        return self.record_table, "fact"

    def key(self, node: n.Node, scope: Scope, mode: Mode = "value", *, sentinel: str = "") -> Key:
        """The fact key holding ``node``'s value (projected with ``mode``)."""
        root, steps, ftype, _ = self._path(node, scope, use_defaults=mode != "has")
        kind: Kind = ftype.kind
        if mode == "value":
            if kind in ("mapping", "list"):
                mode = "size"
            elif kind in ("decimal", "any"):
                raise Unsupported(f"reads `{node.text}`, a {_kind_words(kind)} durable-rules cannot compare exactly")
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
                slot = table.get("item", (), "value", kind, spelling=node.text)
                return Key(slot, "item", whole_item=True)
            if mode == "text":
                slot = table.get("item", (), "text", "string", sentinel=sentinel, spelling=node.text)
                return Key(slot, "item", whole_item=True)
        if mode == "text" and kind == "list":
            raise Unsupported("phrase search in a list outside a quantifier")
        slot = table.get(root, steps, mode, kind, sentinel=sentinel, spelling=node.text)
        return Key(slot, key_scope)

    def collection(self, node: n.Node, scope: Scope, var: str) -> tuple[Key, Scope]:
        """The projected list a quantifier walks, and the scope inside it."""
        if scope.item_var is not None:
            raise Unsupported("a quantifier inside a quantifier, which durable-rules cannot express")
        root, steps, ftype, schema = self._path(node, scope, use_defaults=True)
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
        raise Unsupported(_why(node))

    def _truthiness(self, operand: Operand, node: n.Node) -> Quad:
        if not isinstance(operand, Key):
            raise Unsupported(f"takes the truth of `{node.text}`, a computed value")
        key = operand
        absent, null, value = _presence(key)
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
            raise Unsupported(f"takes the truth of `{node.text}`, a {_kind_words(kind)}")
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
        raise Unsupported(_why(node))

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
            if base.slot.mode == "value" and base.slot.kind == "number":
                # a float field plus a constant is exact in both engines (IEEE addition); an int one too
                pass
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
        absent, null, value = _presence(key)
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
        item_table = _given(inner.item_table)
        table, key_scope = self._table(placeholder.slot.root, scope)
        slot = table.get(
            placeholder.slot.root,
            placeholder.slot.steps,
            "list",
            "list",
            items=tuple(item_table),
            spelling=node.iterable.text,
        )
        coll = Key(slot, key_scope)
        count = leaf({"$neq": {coll.slot.count_key: None}}, key_scope)  # a list (not absent, not null)
        not_list = any_of(
            leaf({"$nex": {coll.slot.count_key: 1}}, key_scope), leaf({coll.slot.count_key: None}, key_scope)
        )
        empty = leaf({coll.slot.count_key: 0}, key_scope)
        nonempty = leaf({"$gt": {coll.slot.count_key: 0}}, key_scope)
        exists = _Quantify(coll.slot.key, empty, nonempty)
        if node.kind == "any":
            return Quad(
                _cached(lambda: all_of(count, exists.some(truth.t()))),
                _cached(lambda: all_of(count, exists.every(truth.f()))),
                _cached(lambda: any_of(not_list, all_of(count, exists.every(truth.nt())))),
                _cached(lambda: any_of(not_list, all_of(count, exists.some(truth.nf())))),
            )
        return Quad(
            _cached(lambda: all_of(count, exists.every(truth.t()))),
            _cached(lambda: all_of(count, exists.some(truth.f()))),
            _cached(lambda: any_of(not_list, all_of(count, exists.some(truth.nt())))),
            _cached(lambda: any_of(not_list, all_of(count, exists.every(truth.nf())))),
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
                raise Unsupported(f"the condition `{node.text}` is a {_kind_words(key.kind)}, not a true/false test")
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
            raise Unsupported(_why(node))
        if isinstance(node, n.Call) and node.function == "len":
            raise Unsupported(f"the condition `{node.text}` is a number, not a true/false test")
        if isinstance(node, n.Call) and node.function not in ("contains_any",):
            raise Unsupported(_why(node))
        if isinstance(node, n.Quantifier) and node.kind == "count":
            raise Unsupported(_why(node))
        return self.compile(node, scope)

    def raises(self, node: n.Node, scope: Scope) -> Cond:
        """When evaluating ``node`` raises (undetermined) rather than returning a value."""
        if isinstance(node, n.PATH_NODES) and not self.is_constant(node):
            key = self.key(node, scope)
            if key.kind != "bool":
                raise Unsupported(f"the guard `{node.text}` is a {_kind_words(key.kind)}, not a true/false test")
            return key.absent()
        quad = self.top(node, scope)
        return all_of(quad.nt(), quad.nf())


MAX_UNROLLED = 200


def _bind(node: n.Node, var: str, value: n.Node) -> n.Node:
    """``node`` with free occurrences of ``var`` replaced by ``value``."""
    if isinstance(node, n.Name):
        return value if node.id == var else node
    if isinstance(node, n.Quantifier) and node.var == var:
        return dataclasses.replace(node, iterable=_bind(node.iterable, var, value))
    return n.transform(node, lambda child: _bind(child, var, value))


def _and_quads(parts: Sequence[Quad]) -> Quad:
    return Quad(
        _cached(lambda: all_of(*(p.t() for p in parts))),
        _cached(lambda: any_of(*(p.f() for p in parts))),
        _cached(lambda: any_of(*(p.nt() for p in parts))),
        _cached(lambda: all_of(*(p.nf() for p in parts))),
    )


def _or_quads(parts: Sequence[Quad]) -> Quad:
    return Quad(
        _cached(lambda: any_of(*(p.t() for p in parts))),
        _cached(lambda: all_of(*(p.f() for p in parts))),
        _cached(lambda: all_of(*(p.nt() for p in parts))),
        _cached(lambda: any_of(*(p.nf() for p in parts))),
    )


G = TypeVar("G")


def _given(value: G | None) -> G:
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
            _cached(lambda: any_of(c.t(), element.t())),
            _cached(lambda: all_of(c.f(), element.f())),
            _cached(lambda: all_of(c.nt(), element.nt())),
            _cached(lambda: any_of(c.nf(), element.nf())),
        )
    return Quad(
        _cached(lambda: all_of(condition.t(), element.t())),
        _cached(lambda: any_of(condition.f(), element.f())),
        _cached(lambda: any_of(condition.nt(), element.nt())),
        _cached(lambda: all_of(condition.nf(), element.nf())),
    )


@dataclass(frozen=True)
class _Quantify:
    """``∃ item`` / ``∀ item`` over a projected list, lifting conditions on the fact out of ``$iany``/``$iall``
    (durable-rules evaluates a leaf inside them against the item only)."""

    collection: str
    empty: Cond
    nonempty: Cond

    def some(self, cond: Cond) -> Cond:
        return self._split(cond, self._some)

    def every(self, cond: Cond) -> Cond:
        return self._split(cond, self._every)

    def _split(self, cond: Cond, quantify: Callable[[Cond], Cond]) -> Cond:
        """Case-split on the state (absent, null, a value) of each fact key the item condition tests, so what
        is left inside ``$iany``/``$iall`` tests only the item (and refers to fact keys with ``$m``)."""
        keys = sorted({atom[0] for atom in _presence_atoms(cond)})
        if not keys or not cond.mentions_item:
            return quantify(cond)
        branches = []
        for states in itertools.product(("absent", "null", "value"), repeat=len(keys)):
            assignment = dict(zip(keys, states, strict=True))
            residual = _assign(cond, assignment)
            guard = all_of(*(_STATE_LEAF[state](key) for key, state in assignment.items()))
            branches.append(all_of(guard, quantify(residual)))
        return any_of(*branches)

    def _iany(self, cond: Cond) -> Cond:
        """∃ item: one ``$iany`` per conjunction of the condition's disjunctive form."""
        options = []
        for conjunction in _item_dnf(cond):
            if not conjunction:
                return self.nonempty
            options.append(Cond("iany", (all_of(*conjunction),), collection=self.collection))
        return any_of(*options)

    def _iall(self, cond: Cond) -> Cond:
        """∀ item: one ``$iall`` per clause of the condition's conjunctive form; a clause may hold ``$nex``
        tests and one other test."""
        clauses = []
        for clause in _item_cnf(cond):
            unique = list(dict.fromkeys(clause))
            if not unique:
                return self.empty
            nex = [t for t in unique if _is_nex(t)]
            others = [t for t in unique if not _is_nex(t)]
            fields = {_tested_field(t) for t in others}
            if len(fields) > 1 or None in fields:
                raise Unsupported(_ITEM_BUG)
            if len(others) > 1:
                # alternatives on one field, each chained to "the field exists": durable-rules stops at the
                # first alternative whose chain matches, so the last test run no longer decides
                (name,) = fields
                exists = leaf({"$ex": {name: 1}}, "item")
                others = [Cond("and", (t, exists)) for t in others]
            clauses.append(Cond("iall", (any_of(*nex, *others),), collection=self.collection))
        return all_of(*clauses)

    def _some(self, cond: Cond) -> Cond:
        if cond.op == "false":
            return FALSE
        if cond.op == "true":
            return self.nonempty
        if not cond.mentions_fact:
            return self._iany(cond)
        if not cond.mentions_item:
            return all_of(self.nonempty, cond)
        if cond.op == "or":
            return any_of(*(self._some(p) for p in cond.parts))
        if cond.op == "and":
            outer = [p for p in cond.parts if not p.mentions_item]
            inner = [p for p in cond.parts if p.mentions_item]
            if outer and all(not p.mentions_fact for p in inner):
                return all_of(*outer, self._some(all_of(*inner)))
        raise Unsupported(
            "a quantifier mixes conditions on the item and on the record in a way durable-rules cannot express"
        )

    def _every(self, cond: Cond) -> Cond:
        if cond.op == "true":
            return TRUE
        if cond.op == "false":
            return self.empty
        if not cond.mentions_fact:
            return any_of(self.empty, self._iall(cond))
        if not cond.mentions_item:
            return any_of(self.empty, cond)
        if cond.op == "and":
            return all_of(*(self._every(p) for p in cond.parts))
        if cond.op == "or":
            outer = [p for p in cond.parts if not p.mentions_item]
            inner = [p for p in cond.parts if p.mentions_item]
            if outer and all(not p.mentions_fact for p in inner):
                return any_of(*outer, self._every(any_of(*inner)))
        raise Unsupported(
            "a quantifier mixes conditions on the item and on the record in a way durable-rules cannot express"
        )


_STATE_LEAF: dict[str, Callable[[str], Cond]] = {
    "absent": lambda key: leaf({"$nex": {key: 1}}),
    "null": lambda key: leaf({key: None}),
    "value": lambda key: leaf({"$neq": {key: None}}),
}


def _presence_atom(cond: Cond) -> tuple[str, str] | None:
    """``(key, test)`` when ``cond`` is a presence test of a fact key: absent, null, value (present, not
    null) or present (null or a value)."""
    if cond.op != "leaf" or cond.scope != "fact" or not isinstance(cond.json, dict) or len(cond.json) != 1:
        return None
    ((name, body),) = cond.json.items()
    if name == "$nex" and isinstance(body, dict) and len(body) == 1:
        return next(iter(body)), "absent"
    if name == "$ex" and isinstance(body, dict) and len(body) == 1:
        return next(iter(body)), "present"
    if name == "$neq" and isinstance(body, dict) and len(body) == 1 and next(iter(body.values())) is None:
        return next(iter(body)), "value"
    if not name.startswith("$") and body is None:
        return name, "null"
    return None


def _presence_atoms(cond: Cond) -> Iterator[tuple[str, str]]:
    atom = _presence_atom(cond)
    if atom is not None:
        yield atom
    elif cond.op in ("and", "or"):
        for part in cond.parts:
            yield from _presence_atoms(part)


def _assign(cond: Cond, states: Mapping[str, str]) -> Cond:
    """``cond`` with presence tests of the given keys replaced by their truth in those states."""
    atom = _presence_atom(cond)
    if atom is not None and atom[0] in states:
        state, test = states[atom[0]], atom[1]
        holds = state == test or (test == "present" and state != "absent")
        return TRUE if holds else FALSE
    if cond.op == "and":
        return all_of(*(_assign(p, states) for p in cond.parts))
    if cond.op == "or":
        return any_of(*(_assign(p, states) for p in cond.parts))
    return cond


# durable-rules 2.0.28 evaluates an item of $iany/$iall by walking the item's properties and keeps only the
# result of the *last* test it ran, so an ``$or`` inside is decided by property order. What it evaluates
# correctly: a chain of tests (``$and``), and an ``$or`` of ``$nex`` tests with at most one other test (the
# ``$nex`` tests are tried first). So ``∃`` is split over a disjunction of chains, and ``∀`` over a conjunction
# of such clauses.
_ITEM_BUG = "an `or` over a list item's fields, which durable-rules 2.0.28 evaluates by field order"
MAX_ITEM_CLAUSES = 16


def _is_nex(cond: Cond) -> bool:
    return cond.op == "leaf" and isinstance(cond.json, dict) and "$nex" in cond.json


def _tested_field(cond: Cond) -> str | None:
    """The item field (``$i.q0``, or ``$i``) a test reads, or None when it is not a single-field test."""
    if cond.op != "leaf" or not isinstance(cond.json, dict) or len(cond.json) != 1:
        return None
    ((name, body),) = cond.json.items()
    if not name.startswith("$") or name.startswith("$i"):
        return str(name)
    if isinstance(body, dict) and len(body) == 1:
        (field_name,) = body
        return str(field_name) if str(field_name).startswith("$i") else None
    return None


def _item_dnf(cond: Cond) -> list[list[Cond]]:
    """An item condition as a disjunction of conjunctions of tests."""
    return _normal_form(cond, spread="or", distribute="and")


def _item_cnf(cond: Cond) -> list[list[Cond]]:
    """An item condition as a conjunction of disjunctions of tests."""
    return _normal_form(cond, spread="and", distribute="or")


def _normal_form(cond: Cond, *, spread: str, distribute: str) -> list[list[Cond]]:
    """Clauses joined by ``spread``, each a list of tests joined by ``distribute`` (DNF or CNF, its dual)."""
    # the constant that needs no clause at all, and the one that is a single empty clause
    no_clause, empty_clause = ("false", "true") if spread == "or" else ("true", "false")
    if cond.op == spread:
        out = [clause for part in cond.parts for clause in _normal_form(part, spread=spread, distribute=distribute)]
    elif cond.op == distribute:
        out = [[]]
        for part in cond.parts:
            inner = _normal_form(part, spread=spread, distribute=distribute)
            out = [a + b for a in out for b in inner]
            if len(out) > MAX_ITEM_CLAUSES:
                raise Unsupported(_ITEM_BUG)
    elif cond.op == no_clause:
        out = []
    elif cond.op == empty_clause:
        out = [[]]
    else:
        out = [[cond]]
    if len(out) > MAX_ITEM_CLAUSES:
        raise Unsupported(_ITEM_BUG)
    return out


def _kind_words(kind: str) -> str:
    return {
        "decimal": "exact decimal amount",
        "date": "date",
        "duration": "duration",
        "any": "free-form value",
        "mapping": "mapping",
        "list": "list",
        "number": "number",
        "string": "text",
        "datetime": "datetime",
        "bool": "true/false value",
    }.get(kind, kind)


def _why(node: n.Node) -> str:
    """Why a node is outside durable-rules' language, in the words of a pack author."""
    if isinstance(node, n.Call):
        if node.function in ("date", "calendar_deadline", "is_working_day", "minutes_between"):
            return f"calls {node.function}(), calendar arithmetic durable-rules cannot do"
        return f"calls {node.function}() on record data, which durable-rules cannot compute"
    if isinstance(node, n.Conditional):
        return f"`{node.text}` is a conditional value"
    if isinstance(node, n.Coalesce):
        return f"`{node.text}` uses coalesce()"
    if isinstance(node, n.Quantifier) and node.kind == "count":
        return f"`{node.text}` counts; durable-rules has no aggregation inside a fact"
    if isinstance(node, n.Arith | n.Negate):
        return f"`{node.text}` is arithmetic durable-rules cannot express"
    if isinstance(node, n.Param):
        return f"reads `params.{node.name}`, a parameter with dated values"
    return f"`{node.text}` cannot be expressed in durable-rules"


# -- rules to rulesets ------------------------------------------------------------------------------------


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
    index: int
    fact: str
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
        """The rules spread over rulesets, each within durable-rules' matching stack (see :func:`stack_need`)."""
        groups: list[dict[str, Json]] = []
        current: dict[str, Json] = {}
        used = 0
        for name, rule in self.definition.items():
            need = width(self.bodies[name])
            if current and used + need > MAX_WIDTH:
                groups.append(current)
                current, used = {}, 0
            current[name] = rule
            used += need
        if current:
            groups.append(current)
        return groups

    def without(self, rule_ids: Mapping[str, str]) -> CompiledRuleset:
        """The same ruleset with some rules marked unsupported (e.g. durable-rules refused to load them)."""
        rules = [CompiledRule(r.id, r.index, r.fact, {}, rule_ids[r.id]) if r.id in rule_ids else r for r in self.rules]
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
    root: FieldType | None = None,
) -> CompiledRuleset:
    """Compile record rules into one durable-rules ruleset; rules it cannot express are marked, with a reason."""
    root_type = root or record_type()
    record_table = SlotTable("p")
    loop_tables: dict[str, tuple[str, SlotTable, set[str], Slot, FieldType, str]] = {}
    definition: dict[str, Json] = {}
    bodies: dict[str, Cond] = {}
    compiled: list[CompiledRule] = []
    record_used: set[str] = set()
    for index, spec in enumerate(specs):
        try:
            rule, rules, used, loop_name = _compile_rule(
                index, spec, root_type, defaults, constants, params, tz, calendar, record_table, loop_tables, bodies
            )
            if any(width(bodies[name]) > MAX_WIDTH for name in rule.names):
                raise Unsupported("has more alternatives than durable-rules' 64-entry matching stack can hold")
        except Unsupported as exc:
            compiled.append(CompiledRule(spec.id, index, "", {}, exc.reason))
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


def stack_need(bodies: Sequence[Cond]) -> int:
    """An upper bound of the stack durable-rules needs to match one fact against rules with these bodies:
    the rules hang off one shared node, so their needs add up."""
    return sum(width(body) for body in bodies)


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
    root_type: FieldType,
    defaults: Mapping[str, Any],
    constants: Mapping[str, Any],
    params: frozenset[str],
    tz: dt.tzinfo,
    calendar: CalendarLike,
    record_table: SlotTable,
    loop_tables: dict[str, tuple[str, SlotTable, set[str], Slot, FieldType, str]],
    bodies: dict[str, Cond],
) -> tuple[CompiledRule, dict[str, Json], set[str], str | None]:
    used: set[str] = set()
    records = _UsageTable(record_table, used)
    scope = Scope()
    loop_name: str | None = None
    loop_view: SlotTable | None = None
    collection_slot: Slot | None = None
    probe = NodeCompiler(
        root_type=root_type,
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
        root, steps, ftype, schema = probe._path(collection, scope, use_defaults=True)
        if root != "record" or ftype.kind != "list" or ftype.item is None:
            raise Unsupported(f"for_each over `{collection.text}`, which is not a list of the record")
        collection_slot = record_table.get("record", steps, "size", "list", spelling=collection.text)
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
        root_type=root_type,
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
        return CompiledRule(spec.id, index, "r", names), rules, used, None
    size = Key(_given(collection_slot), "fact")
    add("g", "r", any_of(guard_u, all_of(guard_t, size.absent())))
    add("v", loop_name, violation)
    add("a", loop_name, attention)
    used.add(size.slot.key)
    return CompiledRule(spec.id, index, loop_name, names), rules, used, size.slot.key
