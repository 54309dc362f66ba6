"""Records as durable-rules facts: the values a compiled ruleset reads, written as durable-rules' JSON reads them.

A record becomes one *record fact* plus one *item fact* per item of each ``for_each`` collection, holding only
the slots the rules read, with the closure engine's path semantics: a read the closure engine would answer with
undetermined leaves its key out of the fact. A value durable-rules cannot hold faithfully (text longer than
65,535 bytes, integers beyond 64 bits, lone surrogates, non-finite numbers) raises :class:`Unrepresentable`, and
the record's rules run on the closure engine. This is kept apart from the engine so that projecting and
serialising can be tested, and reasoned about, without a durable-rules ruleset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from svcpolicy.engines.durable.packing import CompiledRuleset
from svcpolicy.engines.durable.slots import MAX_STRING_BYTES, MISSING, Slot, Step, microseconds

_MAX_INT = 2**63 - 1


class Unrepresentable(Exception):
    """A record value durable-rules cannot hold faithfully; the record goes to the closure engine."""


def _float(value: float) -> orjson.Fragment:
    """durable-rules' JSON reader only takes an exponent after a fraction: ``1e16`` must be ``1.0e+16``."""
    if value != value or value in (float("inf"), float("-inf")):
        raise Unrepresentable("a number that is not finite")
    text = repr(value)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return orjson.Fragment(text.encode())


def _json_ready(value: Any) -> Any:
    if type(value) is float:
        return _float(value)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for durable-rules (rulesets and facts): floats written so its parser reads them."""
    try:
        return orjson.dumps(_json_ready(value)).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise Unrepresentable(str(exc)) from None


# -- projecting records into facts ------------------------------------------------------------------------


class _Undetermined(Exception):
    """A read the closure engine would answer with undetermined: the key is left out of the fact."""


_MISSING = MISSING
_ESCAPED = {chr(c) for c in range(0x20)} | {'"', "\\"}


class Projector:
    """Reads the slots of a compiled ruleset from a record, with the closure engine's path semantics."""

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        self.record_slots = ruleset.record_slots
        self.loops = ruleset.loops

    def facts(self, record: Mapping[str, Any], as_of: dt.datetime | None, first_id: int) -> list[dict[str, Any]]:
        """The record fact and the item facts of one record; ids count up from ``first_id``."""
        facts: list[dict[str, Any]] = []
        record_fact: dict[str, Any] = {"id": str(first_id), "k": "r"}
        _fill(record_fact, self.record_slots, record, None, as_of)
        facts.append(record_fact)
        next_id = first_id + 1
        for loop in self.loops:
            try:
                items = _walk(record, loop.collection.steps, None, "record")
            except _Undetermined:
                continue
            if not isinstance(items, list | tuple) or not items:
                continue
            shared = {k: record_fact[k] for k in _keys(loop.record_slots) if k in record_fact}
            for position, item in enumerate(items):
                fact: dict[str, Any] = {"id": str(next_id), "k": loop.name, "i": position, **shared}
                _fill(fact, loop.item_slots, record, item, as_of)
                facts.append(fact)
                next_id += 1
        return facts


def _keys(slots: Sequence[Slot]) -> Iterator[str]:
    for slot in slots:
        yield slot.key
        if slot.mode == "list":
            yield slot.count_key


def _walk(record: Mapping[str, Any], steps: Sequence[Step], start: Any, root: str) -> Any:
    value: Any = record if root == "record" else start
    for step in steps:
        if step.name is None:
            if not isinstance(value, list | tuple):
                raise _Undetermined
            try:
                value = value[step.index]
            except IndexError:
                raise _Undetermined from None
            continue
        if not isinstance(value, Mapping):
            raise _Undetermined
        got = value.get(step.name, _MISSING)
        if got is _MISSING:
            if step.default is _MISSING:
                raise _Undetermined
            got = step.default
        value = got
    return value


def _fill(
    fact: dict[str, Any],
    slots: Sequence[Slot],
    record: Mapping[str, Any],
    loop_item: Any,
    as_of: dt.datetime | None,
) -> None:
    for slot in slots:
        try:
            if slot.root == "as_of":
                if as_of is None:
                    continue
                value: Any = as_of
            else:
                value = _walk(record, slot.steps, loop_item, slot.root)
        except _Undetermined:
            continue  # the closure engine would raise undetermined: the key stays out of the fact
        projected = _project(slot, value)
        if projected is not _MISSING:
            if slot.mode == "list":
                fact[slot.key], fact[slot.count_key] = projected
            else:
                fact[slot.key] = projected


def _project(slot: Slot, value: Any) -> Any:
    mode = slot.mode
    if mode == "has":
        return 1
    if mode == "value":
        return _scalar(value)
    if mode == "size":
        if value is None:
            return None
        if isinstance(value, Mapping | list | tuple):
            return len(value)
        raise Unrepresentable(f"a {type(value).__name__} where the record model has a mapping or list")
    if mode == "len":
        if isinstance(value, str | list | tuple | dict):
            return len(value)
        return _MISSING
    if mode == "text":
        if value is None:
            return None
        if not isinstance(value, str):
            return _MISSING
        return _text(value, slot.sentinel)
    if mode == "list":
        if value is None:
            return None, None
        if not isinstance(value, list | tuple):
            return _MISSING
        items: list[Any] = []
        whole = [s for s in slot.items if s.root == "item" and not s.steps]
        for item in value:
            if whole:  # a list of scalars: the item itself, as ``$i``
                projected_item = _project(whole[0], item)
                if projected_item is _MISSING:
                    raise Unrepresentable(f"a {type(item).__name__} in a list of text")
                items.append(projected_item)
                continue
            projected: dict[str, Any] = {}
            _fill(projected, slot.items, {}, item, None)
            items.append(projected)
        return items, len(items)
    raise AssertionError(mode)


def _scalar(value: Any) -> Any:
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is int:
        if not -_MAX_INT <= value <= _MAX_INT:
            raise Unrepresentable("an integer beyond 64 bits")
        return value
    if kind is float:
        return value
    if kind is str:
        _check_text(value)
        return value
    if kind is dt.datetime and value.utcoffset() is not None:
        return microseconds(value)
    raise Unrepresentable(f"a {kind.__name__} where the record model has a scalar")


def _check_text(value: str) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise Unrepresentable("text with a lone surrogate (not valid UTF-8)") from None
    if size > MAX_STRING_BYTES:
        raise Unrepresentable("text longer than 65,535 bytes (durable-rules keeps 16-bit string lengths)")


def _text(value: str, sentinel: str) -> str:
    _check_text(value)
    if any(c in _ESCAPED for c in value):
        value = "".join(sentinel if c in _ESCAPED else c for c in value)
    return value
