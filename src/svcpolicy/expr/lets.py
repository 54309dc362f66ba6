"""``let`` bindings as substitution: a let name stands for its expression, expanded in the tree.

Expressions have no side effects, so replacing a name with its definition is exact, and it keeps the
language's semantics where eager evaluation would not: a let that cannot be decided does not make a rule
undetermined when the condition never needs it (``complaint is None or … due …``), and an absent field
inside a let is named by its real path (``operations[2].authorization.at``), not by the let's name.
"""

from __future__ import annotations

from collections.abc import Mapping

from svcpolicy.errors import ExpressionError
from svcpolicy.expr import nodes as n

MAX_EXPANDED_NODES = 2_000


def expand_lets(node: n.Node, lets: Mapping[str, n.Node], shadowed: frozenset[str] = frozenset()) -> n.Node:
    """Replace every free occurrence of a let name with its (already expanded) definition."""
    if not lets:
        return node
    expanded = _substitute(node, lets, shadowed)
    size = sum(1 for _ in n.walk(expanded))
    if size > MAX_EXPANDED_NODES:
        raise ExpressionError(
            f"with its let bindings expanded this expression has {size:,} nodes (limit {MAX_EXPANDED_NODES:,})",
            node.loc,
        )
    return expanded


def _substitute(node: n.Node, lets: Mapping[str, n.Node], shadowed: frozenset[str]) -> n.Node:
    if isinstance(node, n.Name):
        return lets[node.id] if node.id in lets and node.id not in shadowed else node
    if isinstance(node, n.Quantifier):
        if node.var in lets:
            raise ExpressionError(f"`{node.var}` is a let name; pick another loop variable", node.loc)
        inner = shadowed | {node.var}
        return n.replace(
            node,
            iterable=_substitute(node.iterable, lets, shadowed),
            element=None if node.element is None else _substitute(node.element, lets, inner),
            condition=None if node.condition is None else _substitute(node.condition, lets, inner),
        )
    return n.transform(node, lambda child: _substitute(child, lets, shadowed))
