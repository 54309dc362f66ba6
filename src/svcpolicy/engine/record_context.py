"""What an evaluation keeps of a record that has findings: its scalar fields, as dotted paths.

A finding names its record (id, file, line, item) but carries none of the record's attributes. To answer
"where, by whom, when", an evaluation keeps a small **context** for every record that has findings: the
record's scalar fields, flattened to dotted paths (``branch_id``, ``employee.id``, ``started_at``,
``customer.age``, ``extra.vip_level``). Lists (operations, offers, …) are left out, so a context stays small, and
records without findings keep nothing, so memory grows with the findings, not with the input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any


def record_context(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's scalar fields as ``{dotted.path: value}``; lists are left out."""
    context: dict[str, Any] = {}
    _flatten(record, "", context)
    return context


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}{key}.", out)
        elif not isinstance(value, list | tuple):
            out[_path(prefix, key)] = value


@functools.lru_cache(maxsize=4096)
def _path(prefix: str, key: str) -> str:
    """One shared string per dotted path, so that many kept contexts do not each hold their own keys."""
    return f"{prefix}{key}"


def identifying_values(record: Mapping[str, Any], paths: Iterable[str]) -> tuple[str, ...]:
    """The values a record holds at the pack's identifying paths (``operations[].authorization.by``), as text.

    Reports mask these wherever they occur; an evaluation keeps them only for records that have findings.
    """
    found: dict[str, None] = {}
    for path in paths:
        _collect(record, path.split("."), found)
    return tuple(found)


_LEAF_DEPTH = 4
"""How far into a list or mapping that stands where an identifier belongs (an invalid record's ``"customer":
{"id": ["C1234567"]}``) its values are still taken: the record is refused for it, but its id may repeat them."""


def _collect(node: Any, steps: list[str], found: dict[str, None]) -> None:
    if not steps:
        _collect_leaf(node, found, _LEAF_DEPTH)
        return
    if not isinstance(node, Mapping):
        return
    step, rest = steps[0], steps[1:]
    if step.endswith("[]"):
        items = node.get(step[:-2])
        for item in items if isinstance(items, list | tuple) else ():
            _collect(item, rest, found)
    else:
        _collect(node.get(step), rest, found)


def _collect_leaf(node: Any, found: dict[str, None], depth: int) -> None:
    if isinstance(node, str | int) and not isinstance(node, bool):
        if str(node).strip():
            found[str(node)] = None
    elif depth and isinstance(node, Mapping):
        for item in node.values():
            _collect_leaf(item, found, depth - 1)
    elif depth and isinstance(node, list | tuple):
        for item in node:
            _collect_leaf(item, found, depth - 1)


_PLAIN_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def group_paths(aggregates: Iterable[Any]) -> dict[str, dict[str, str]]:
    """For each aggregate rule (compiled program with ``id`` and ``rule.group_by``), the record path that each
    group key reads, where the key is a plain path: ``{"branch": "branch_id"}`` (``month(started_at)`` is not)."""
    paths: dict[str, dict[str, str]] = {}
    for program in aggregates:
        keys = {name: source.strip() for name, source in program.rule.group_by.items()}
        plain = {name: source for name, source in keys.items() if _PLAIN_PATH.fullmatch(source)}
        if plain:
            paths[program.id] = plain
    return paths
