"""What durable-rules cannot express, and how that is said to a pack author.

A rule the durable compiler cannot express is never approximated: :class:`Unsupported` carries the reason, and
the rule is judged by the closure engine. The reasons are read by pack authors (``svcpolicy lint --engine``,
:func:`~svcpolicy.engines.durable.durable_coverage`), so they speak of the pack's expressions, not of the IR.
"""

from __future__ import annotations

from svcpolicy.expr import nodes as n
from svcpolicy.expr.functions import CALENDAR_FUNCTIONS


class Unsupported(Exception):
    """The construct is outside what durable-rules can express; ``reason`` says what and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def kind_words(kind: str) -> str:
    """A kind (of :mod:`svcpolicy.records.types`, or of a constant) in the words of a pack author."""
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


def why(node: n.Node) -> str:
    """Why a node is outside durable-rules' language, in the words of a pack author."""
    if isinstance(node, n.Call):
        if node.function in CALENDAR_FUNCTIONS:
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
