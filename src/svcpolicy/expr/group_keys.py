"""An aggregate's group key made hashable: shared by the closures (every record) and the generated feeds.

Kept apart from :mod:`svcpolicy.expr.codegen_groups`, so judging a record by the closures does not import the
code generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from svcpolicy.expr.undetermined import Undetermined


def group_key(key: tuple[Any, ...], names: Sequence[str]) -> tuple[Any, ...]:
    """A group key with lists (at any depth) made tuples; a mapping is no key (its group would be one value)."""
    return tuple(_hashable(part, name) for name, part in zip(names, key, strict=True))


def _hashable(value: Any, what: str) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v, what) for v in value)
    if isinstance(value, dict):
        raise Undetermined(f"group key {what} is a mapping; group by one of its fields instead")
    return value
