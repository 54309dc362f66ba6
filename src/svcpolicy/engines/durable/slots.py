"""The layout of a fact: which record values the adapter projects, under which key, in which form.

A condition never reads the record: it tests keys of a flat *fact* (``p3``). A :class:`Slot` says how the
adapter fills one key (read these steps from this root, then project: the value, a size, escaped text, …), and a
:class:`SlotTable` gives one key to each distinct read. Datetimes are projected as whole microseconds since the
epoch (:func:`microseconds`), so durable-rules compares them as integers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from svcpolicy.records.types import Kind

MISSING: Any = object()  # a step without a default; a projected value that leaves its key out of the fact
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_STRING_BYTES = 65_535
"""durable-rules keeps string lengths in 16 bits: a longer string compares by a truncated length."""


def microseconds(value: dt.datetime) -> int:
    """An aware datetime as whole microseconds since the epoch: exact, and ordered as the instants are."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


Mode = Literal["value", "size", "text", "has", "len", "list"]
Root = Literal["record", "loop", "item", "as_of"]


@dataclass(frozen=True)
class Step:
    """One step of a path: a field (with the value its absence means, if any) or a literal list position."""

    name: str | None
    index: int = 0
    default: Any = field(default=MISSING, compare=False)
    default_key: str | None = None  # identity of the default for deduplication (the schema path)


@dataclass(frozen=True)
class Slot:
    """A value the adapter writes into a fact under ``key``: read ``steps`` from ``root``, then apply ``mode``.

    ``value``: the scalar itself (datetimes as microseconds); ``size``: a mapping's or list's length, or null;
    ``text``: a string with the characters JSON would escape replaced by ``sentinel``; ``has``: ``1`` when the
    record gives the path at all (no defaults); ``len``: ``len()`` of a string or list; ``list``: the items,
    each projected by ``items``, plus the item count under ``key + "n"``.
    """

    key: str
    root: Root
    steps: tuple[Step, ...]
    mode: Mode
    kind: Kind
    items: tuple[Slot, ...] = ()
    sentinel: str = ""

    @property
    def count_key(self) -> str:
        return self.key + "n"


class SlotTable:
    """Allocates fact keys (``prefix`` + number) to slots, one key per distinct read."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.slots: dict[tuple[Any, ...], Slot] = {}

    def get(
        self,
        root: Root,
        steps: tuple[Step, ...],
        mode: Mode,
        kind: Kind,
        *,
        items: tuple[Slot, ...] = (),
        sentinel: str = "",
    ) -> Slot:
        identity = (root, steps, mode, tuple(s.key for s in items), sentinel)
        slot = self.slots.get(identity)
        if slot is None:
            key = f"{self.prefix}{len(self.slots)}"
            slot = Slot(key, root, steps, mode, kind, items, sentinel)
            self.slots[identity] = slot
        return slot

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots.values())
