"""A compiled expression: what the closure compiler hands to rules, templates and the engine.

Kept apart from the compiler so that templates and engines can hold one without importing the compiler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from svcpolicy.expr import nodes as n
from svcpolicy.expr.env import Env

Fn = Callable[[Env], Any]


class CompiledExpr:
    """A compiled expression: call it for the value, ``traced`` to also record the field values read."""

    __slots__ = ("_build_traced", "_traced", "fn", "node", "reads", "source")

    def __init__(
        self, source: str, node: n.Node, fn: Fn, reads: frozenset[str], build_traced: Callable[[], Fn]
    ) -> None:
        self.source = source
        self.reads = reads
        self.node = node
        self.fn = fn
        self._build_traced = build_traced
        self._traced: Fn | None = None

    def __call__(self, env: Env) -> Any:
        return self.fn(env)

    @property
    def node_is_record_path(self) -> bool:
        """Whether this expression is a plain path into the record (``operations``, ``complaint.extensions``)."""
        node = self.node
        while isinstance(node, n.Field | n.Item):
            node = node.base
        return isinstance(node, n.Name) and n.spelling(self.node) is not None

    def traced(self, env: Env) -> Any:
        """Evaluate, recording each field path read (source spelling) and its value into ``env.trace``.

        Inside a quantifier the last item evaluated wins, which is the witness for ``any`` and the
        counter-example for ``all``.
        """
        if self._traced is None:
            self._traced = self._build_traced()
        if env.trace is None:
            env.trace = {}
        return self._traced(env)

    def __repr__(self) -> str:
        return f"CompiledExpr({self.source!r})"
