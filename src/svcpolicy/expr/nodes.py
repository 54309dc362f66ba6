"""The expression tree: svcpolicy's own node classes, independent of Python's ``ast`` and of any target.

The parser builds these from validated Python syntax; compilers (closures today, durable-rules JSON later)
walk them. Every node keeps the source ``text`` it came from and its ``loc`` in the pack, so a compiler can
report errors and explain values without going back to the source.

The classes are slotted :class:`~svcpolicy.frozen.Frozen` values rather than dataclasses, whose definition
was the largest share of importing this module on every run.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Iterator
from typing import ClassVar, Literal, TypeVar

from svcpolicy.errors import SourceLocation
from svcpolicy.frozen import Frozen

CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"]
ArithOp = Literal["+", "-", "*", "/", "%"]
QuantifierKind = Literal["any", "all", "count"]


_N = TypeVar("_N", bound="Node")
_set = object.__setattr__
"""Sets a slot of a node being built, past the ``__setattr__`` that keeps built nodes immutable."""


class Node(Frozen):
    """Base of all nodes; ``text`` and ``loc`` are for messages and take no part in equality.

    Each subclass names its own fields in ``_fields`` (sub-nodes and values, in order), which are its
    ``__slots__``, and sets them, with ``text`` and ``loc``, in a typed ``__init__``; equality, hashing, ``repr``
    and immutability come from :class:`~svcpolicy.frozen.Frozen`, over ``_fields``.
    """

    __slots__ = ("loc", "text")
    text: str
    loc: SourceLocation | None
    _branches: ClassVar[tuple[str, ...]] = ()
    """The fields that hold sub-nodes (a node, None, or a tuple of nodes), in order: the ones a traversal visits."""

    def __reduce__(self) -> tuple[Callable[..., Node], tuple[object, ...]]:
        return _rebuilt, (type(self), self.text, self.loc, *[getattr(self, name) for name in self._fields])


def _rebuilt(cls: type[_N], text: str, loc: SourceLocation | None, *values: object) -> _N:
    """A node of class ``cls`` from its text, location and field values in order, without calling its
    ``__init__`` (how pickled trees are read back, and how :func:`replace` builds a changed copy)."""
    node = object.__new__(cls)
    _set(node, "text", text)
    _set(node, "loc", loc)
    for name, value in zip(cls._fields, values, strict=True):
        _set(node, name, value)
    return node


class Const(Node):
    """A literal: int, float, str, bool or None."""

    _fields = ("value",)
    __slots__ = _fields
    value: int | float | str | bool | None

    def __init__(self, value: int | float | str | bool | None, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "value", value)
        _set(self, "text", text)
        _set(self, "loc", loc)


class ListLit(Node):
    """A list or tuple literal; both mean the same thing (a list of values)."""

    _fields = ("items",)
    _branches = ("items",)
    __slots__ = _fields
    items: tuple[Node, ...]

    def __init__(self, items: tuple[Node, ...], *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "items", items)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Name(Node):
    """A bare name: a local (loop variable, ``let``, quantifier variable) or else a top-level record field."""

    _fields = ("id",)
    __slots__ = _fields
    id: str

    def __init__(self, id: str, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "id", id)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Param(Node):
    """``params.<name>``: a pack parameter."""

    _fields = ("name",)
    __slots__ = _fields
    name: str

    def __init__(self, name: str, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "name", name)
        _set(self, "text", text)
        _set(self, "loc", loc)


class AsOf(Node):
    """``as_of``: the evaluation's reference time."""

    __slots__ = ()

    def __init__(self, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "text", text)
        _set(self, "loc", loc)


class Field(Node):
    """``base.name`` (or ``base["name"]``): a field of a record value."""

    _fields = ("base", "name")
    _branches = ("base",)
    __slots__ = _fields
    base: Node
    name: str

    def __init__(self, base: Node, name: str, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "base", base)
        _set(self, "name", name)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Item(Node):
    """``base[index]``: an item of a list, by literal position (negative counts from the end)."""

    _fields = ("base", "index")
    _branches = ("base",)
    __slots__ = _fields
    base: Node
    index: int

    def __init__(self, base: Node, index: int, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "base", base)
        _set(self, "index", index)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Compare(Node):
    """``left op1 x1 op2 x2 ...``: a comparison, chained as in Python."""

    _fields = ("left", "ops", "operands")
    _branches = ("left", "operands")
    __slots__ = _fields
    left: Node
    ops: tuple[CompareOp, ...]
    operands: tuple[Node, ...]

    def __init__(
        self,
        left: Node,
        ops: tuple[CompareOp, ...],
        operands: tuple[Node, ...],
        *,
        text: str,
        loc: SourceLocation | None,
    ) -> None:
        _set(self, "left", left)
        _set(self, "ops", ops)
        _set(self, "operands", operands)
        _set(self, "text", text)
        _set(self, "loc", loc)


class BoolOp(Node):
    """``a and b and ...`` / ``a or b or ...`` in three-valued logic."""

    _fields = ("op", "operands")
    _branches = ("operands",)
    __slots__ = _fields
    op: Literal["and", "or"]
    operands: tuple[Node, ...]

    def __init__(
        self, op: Literal["and", "or"], operands: tuple[Node, ...], *, text: str, loc: SourceLocation | None
    ) -> None:
        _set(self, "op", op)
        _set(self, "operands", operands)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Not(Node):
    """``not x``."""

    _fields = ("operand",)
    _branches = ("operand",)
    __slots__ = _fields
    operand: Node

    def __init__(self, operand: Node, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "operand", operand)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Arith(Node):
    """A binary arithmetic operation on numbers, datetimes and durations."""

    _fields = ("op", "left", "right")
    _branches = ("left", "right")
    __slots__ = _fields
    op: ArithOp
    left: Node
    right: Node

    def __init__(self, op: ArithOp, left: Node, right: Node, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "op", op)
        _set(self, "left", left)
        _set(self, "right", right)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Negate(Node):
    """Unary minus."""

    _fields = ("operand",)
    _branches = ("operand",)
    __slots__ = _fields
    operand: Node

    def __init__(self, operand: Node, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "operand", operand)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Conditional(Node):
    """``then if test else otherwise``."""

    _fields = ("test", "then", "otherwise")
    _branches = ("test", "then", "otherwise")
    __slots__ = _fields
    test: Node
    then: Node
    otherwise: Node

    def __init__(self, test: Node, then: Node, otherwise: Node, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "test", test)
        _set(self, "then", then)
        _set(self, "otherwise", otherwise)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Call(Node):
    """A call of one of the whitelisted functions in ``svcpolicy.expr.functions``."""

    _fields = ("function", "args")
    _branches = ("args",)
    __slots__ = _fields
    function: str
    args: tuple[Node, ...]

    def __init__(self, function: str, args: tuple[Node, ...], *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "function", function)
        _set(self, "args", args)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Has(Node):
    """``has(path)``: whether the record supplies the field at ``path`` (a field path node)."""

    _fields = ("path",)
    _branches = ("path",)
    __slots__ = _fields
    path: Node

    def __init__(self, path: Node, *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "path", path)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Coalesce(Node):
    """``coalesce(a, b, ...)``: the first argument that is present and not None."""

    _fields = ("args",)
    _branches = ("args",)
    __slots__ = _fields
    args: tuple[Node, ...]

    def __init__(self, args: tuple[Node, ...], *, text: str, loc: SourceLocation | None) -> None:
        _set(self, "args", args)
        _set(self, "text", text)
        _set(self, "loc", loc)


class Quantifier(Node):
    """``any/all/count(element for var in iterable if condition)``.

    ``element`` is None for ``count(x for x in xs ...)``, which counts the items passing the filter.
    """

    _fields = ("kind", "var", "iterable", "element", "condition")
    _branches = ("iterable", "element", "condition")
    __slots__ = _fields
    kind: QuantifierKind
    var: str
    iterable: Node
    element: Node | None
    condition: Node | None

    def __init__(
        self,
        kind: QuantifierKind,
        var: str,
        iterable: Node,
        element: Node | None,
        condition: Node | None,
        *,
        text: str,
        loc: SourceLocation | None,
    ) -> None:
        _set(self, "kind", kind)
        _set(self, "var", var)
        _set(self, "iterable", iterable)
        _set(self, "element", element)
        _set(self, "condition", condition)
        _set(self, "text", text)
        _set(self, "loc", loc)


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


def replace(node: _N, **changes: object) -> _N:
    """A copy of ``node`` with the fields named in ``changes`` set to new values (as ``dataclasses.replace``)."""
    unknown = changes.keys() - set(node._fields)
    if unknown:
        raise TypeError(f"{type(node).__qualname__} has no field {', '.join(sorted(unknown))}")
    values = [changes[name] if name in changes else getattr(node, name) for name in node._fields]
    return _rebuilt(type(node), node.text, node.loc, *values)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of ``node``, in field order: the one traversal every pass over the tree uses."""
    for name in node._branches:
        value = getattr(node, name)
        if isinstance(value, tuple):
            yield from value
        elif value is not None:
            yield value


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first (each node's sub-nodes in field order)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for name in reversed(current._branches):  # pushed last to first, so popped first to last
            value = getattr(current, name)
            if isinstance(value, tuple):
                stack.extend(reversed(value))
            elif value is not None:
                stack.append(value)


def transform(node: Node, rewrite: Callable[[Node], Node]) -> Node:
    """``node`` with ``rewrite`` applied to each direct sub-node; the node itself is kept when nothing changed.

    ``rewrite`` is usually the caller's own recursive pass, which handles the nodes it cares about (a name to
    substitute, a quantifier that shadows it) and hands the rest back to ``transform``.
    """
    changes: dict[str, object] = {}
    for name in node._branches:
        value = getattr(node, name)
        if isinstance(value, tuple):
            items = tuple(rewrite(v) for v in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[name] = items
        elif value is not None:
            new = rewrite(value)
            if new is not value:
                changes[name] = new
    return replace(node, **changes) if changes else node
