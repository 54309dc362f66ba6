"""Values computed once per record for every aggregate rule that asks for them.

Seven of the bundled aggregate rules group by ``(branch_id, month(started_at))`` and four filter on
``channel not in params.self_service_channels``: a filter or a whole group key that reads nothing but the record
(no ``for_each`` variable) is computed by the first rule that needs it and read back by the others, through the
environment's per-record memo (``Env.memo``, emptied for each record). The closure compiler shares calls such as
``month()`` the same way; these slots are negative so the two never meet.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Sequence
from typing import Any

from svcpolicy.expr import Compiler, Env, Undetermined
from svcpolicy.expr import nodes as n
from svcpolicy.expr.compiled import Fn

_SLOTS: weakref.WeakKeyDictionary[Compiler, dict[Hashable, int]] = weakref.WeakKeyDictionary()
"""Per compiler (one per compiled pack: its constants are folded into the closures), the memo slot of each shared
value. Equal expressions of one pack give equal values for one record, so they may share a slot."""

_MISSING: Any = object()


def reads_only_the_record(nodes: Sequence[n.Node], loop_var: str | None) -> bool:
    """Whether expressions depend on the record, its parameters and the clock only, not on a ``for_each`` item."""
    return loop_var is None or not any(
        isinstance(part, n.Name) and part.id == loop_var for node in nodes for part in n.walk(node)
    )


def shared_slot(compiler: Compiler, role: str, nodes: Sequence[n.Node]) -> int:
    """The memo slot of a value (``role`` tells a filter from a group key) over these expressions."""
    slots = _SLOTS.setdefault(compiler, {})
    # nodes compare without their text, and Const(1) == Const(True): the constants' types keep them apart
    key = (role, tuple(nodes), tuple(type(p.value) for node in nodes for p in n.walk(node) if isinstance(p, n.Const)))
    return slots.setdefault(key, -1 - len(slots))


class _Raised:
    """A memoised Undetermined: asking again raises it again."""

    __slots__ = ("error",)

    def __init__(self, error: Undetermined) -> None:
        self.error = error


def once_per_record(fn: Fn, slot: int) -> Fn:
    """``fn`` evaluated once per record, its Undetermined included."""

    def memo(env: Env) -> Any:
        cache = env.memo
        value = cache.get(slot, _MISSING)
        if value is _MISSING:
            try:
                value = fn(env)
            except Undetermined as exc:
                cache[slot] = _Raised(exc)
                raise
            cache[slot] = value
            return value
        if type(value) is _Raised:
            raise value.error
        return value

    return memo
