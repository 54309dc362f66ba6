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
