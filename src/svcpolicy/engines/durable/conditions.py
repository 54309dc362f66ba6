"""The condition IR: durable-rules conditions under construction, and the four of a node (:class:`Quad`).

Conditions are built as :class:`Cond` trees, simplified as they are joined (:func:`all_of`, :func:`any_of` drop
constants and duplicates), and rendered to durable-rules' JSON only at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Json = Any


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


def cached(fn: Callable[[], Cond]) -> Callable[[], Cond]:
    result: list[Cond] = []

    def get() -> Cond:
        if not result:
            result.append(fn())
        return result[0]

    return get
