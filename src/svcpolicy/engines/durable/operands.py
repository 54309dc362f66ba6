"""Operands of a comparison (a projected key, a constant, a key moved by a constant) and the conditions of
comparing them with the closure engine's semantics: one comparison (:class:`Link`) and a chain of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from svcpolicy.engines.durable.conditions import FALSE, TRUE, Cond, Json, Quad, all_of, any_of, leaf
from svcpolicy.engines.durable.slots import Slot, microseconds
from svcpolicy.engines.durable.unsupported import Unsupported, kind_words
from svcpolicy.records.types import Kind

DATETIME_MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
DATETIME_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


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


def _render_right(operand: Operand) -> Json:
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
    rendered = _render_right(right)
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


def presence(operand: Operand) -> tuple[Cond, Cond, Cond]:
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
    la, ln, lv = presence(left)
    ra, rn, rv = presence(right)
    operand_u = any_of(la, ra, _offset_out_of_range(left), _offset_out_of_range(right))
    in_range = all_of(_offset_range(left), _offset_range(right))
    lk, rk = _operand_kind(left), _operand_kind(right)
    null_test = op in ("is", "is not") or "null" in (lk, rk)
    for kind in (lk, rk):
        if kind in ("mapping", "list") and not null_test:
            raise Unsupported(f"compares a whole {kind}, which durable-rules cannot do")
        if kind in ("decimal", "any", "date", "duration"):
            raise Unsupported(f"compares a {kind_words(kind)}, which durable-rules cannot represent exactly")
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
    la, ln, lv = presence(left)
    if isinstance(left, Offset):
        raise Unsupported("membership of a computed value")
    lk = _operand_kind(left)
    if lk in ("mapping", "list", "decimal", "any"):
        raise Unsupported(f"looks for a {kind_words(lk)} in a list")
    matches: list[Cond] = []
    misses: list[Cond] = []
    for option in options:
        kind = _const_kind(option)
        if kind in ("list", "mapping", "decimal", "date", "duration", "datetime"):
            raise Unsupported(f"a list holding a {kind_words(kind)}, which durable-rules cannot compare exactly")
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
