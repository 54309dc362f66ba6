"""The expression tree: svcpolicy's own node classes, independent of Python's ``ast`` and of any target.

The parser builds these from validated Python syntax; compilers (closures today, durable-rules JSON later)
walk them. Every node keeps the source ``text`` it came from and its ``loc`` in the pack, so a compiler can
report errors and explain values without going back to the source.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from svcpolicy.errors import SourceLocation

CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"]
ArithOp = Literal["+", "-", "*", "/", "%"]
QuantifierKind = Literal["any", "all", "count"]


@dataclass(frozen=True, slots=True)
class Node:
    """Base of all nodes; ``text`` and ``loc`` are for messages and take no part in equality."""

    text: str = field(kw_only=True, compare=False, repr=False)
    loc: SourceLocation | None = field(kw_only=True, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Const(Node):
    """A literal: int, float, str, bool or None."""

    value: int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    """A list or tuple literal; both mean the same thing (a list of values)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare name: a local (loop variable, ``let``, quantifier variable) or else a top-level record field."""

    id: str


@dataclass(frozen=True, slots=True)
class Param(Node):
    """``params.<name>``: a pack parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class AsOf(Node):
    """``as_of``: the evaluation's reference time."""


@dataclass(frozen=True, slots=True)
class Field(Node):
    """``base.name`` (or ``base["name"]``): a field of a record value."""

    base: Node
    name: str


@dataclass(frozen=True, slots=True)
class Item(Node):
    """``base[index]``: an item of a list, by literal position (negative counts from the end)."""

    base: Node
    index: int


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``left op1 x1 op2 x2 ...``: a comparison, chained as in Python."""

    left: Node
    ops: tuple[CompareOp, ...]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    """``a and b and ...`` / ``a or b or ...`` in three-valued logic."""

    op: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not(Node):
    """``not x``."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """A binary arithmetic operation on numbers, datetimes and durations."""

    op: ArithOp
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Negate(Node):
    """Unary minus."""

    operand: Node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """``then if test else otherwise``."""

    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call of one of the whitelisted functions in ``svcpolicy.expr.functions``."""

    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Has(Node):
    """``has(path)``: whether the record supplies the field at ``path`` (a field path node)."""

    path: Node


@dataclass(frozen=True, slots=True)
class Coalesce(Node):
    """``coalesce(a, b, ...)``: the first argument that is present and not None."""

    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Quantifier(Node):
    """``any/all/count(element for var in iterable if condition)``.

    ``element`` is None for ``count(x for x in xs ...)``, which counts the items passing the filter.
    """

    kind: QuantifierKind
    var: str
    iterable: Node
    element: Node | None
    condition: Node | None


PATH_NODES = (Name, Param, AsOf, Field, Item)


def spelling(node: Node) -> str | None:
    """The canonical spelling of a field path (``op.authorization.at``), or None if ``node`` is not one.

    Used as the key of traced values and in ``reads``, so spacing in the source does not matter.
    """
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Param):
        return f"params.{node.name}"
    if isinstance(node, AsOf):
        return "as_of"
    if isinstance(node, Field | Item):
        base = spelling(node.base)
        if base is None:
            return None
        if isinstance(node, Item):
            return f"{base}[{node.index}]"
        return base + field_suffix(node.name)
    return None


def field_suffix(name: str) -> str:
    """``.name``, or ``["name"]`` for a key that is not an identifier (``extra["vip-level"]``)."""
    if name.isidentifier() and not keyword.iskeyword(name):
        return f".{name}"
    return f"[{json.dumps(name, ensure_ascii=False)}]"


_BRANCH_FIELDS: dict[type[Node], tuple[str, ...]] = {}


def _branch_fields(cls: type[Node]) -> tuple[str, ...]:
    """The fields of a node class that may hold sub-nodes (all but ``text`` and ``loc``), read once per class:
    ``dataclasses.fields`` on every visit was a large share of compiling a pack (every pass walks the trees)."""
    names = _BRANCH_FIELDS.get(cls)
    if names is None:
        names = _BRANCH_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("text", "loc"))
    return names


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of ``node``, in field order: the one traversal every pass over the tree uses."""
    for name in _branch_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Node))


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def transform(node: Node, rewrite: Callable[[Node], Node]) -> Node:
    """``node`` with ``rewrite`` applied to each direct sub-node; the node itself is kept when nothing changed.

    ``rewrite`` is usually the caller's own recursive pass, which handles the nodes it cares about (a name to
    substitute, a quantifier that shadows it) and hands the rest back to ``transform``.
    """
    changes: dict[str, object] = {}
    for name in _branch_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Node):
            new = rewrite(value)
            if new is not value:
                changes[name] = new
        elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
            items = tuple(rewrite(v) if isinstance(v, Node) else v for v in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[name] = items
    return dataclasses.replace(node, **changes) if changes else node  # type: ignore[arg-type]
