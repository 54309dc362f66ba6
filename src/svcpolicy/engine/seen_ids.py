"""The record ids a stream has seen, with where each was first seen, in about 12 to 24 bytes an id.

A record whose id was seen before is invalid ("duplicate id, first seen at file:line"), so every id of a stream
is kept until it ends: at a million records this table is most of a run's memory, and it is built to stay small.

- An open-addressing table (linear probing, 35 to 70 % full) of each id's 64-bit blake2b digest
  (``array('Q')``; 0 marks an empty slot, so a digest of 0 is stored as 1) and, beside it, the id's
  *ordinal*: the how-manieth id of the stream it was (``array('I')``, widened to 64 bits past 2³² ids).
  12 bytes a slot.
- Where each ordinal was read is kept as *runs*: consecutive ids on consecutive lines of one source share one
  run (its first ordinal, source and line), so a JSONL file is one run whatever its length; a line with no
  record (blank, invalid) starts another.
- When the table doubles, the old one is parked in a temporary file and read back in slices, so a million ids
  peak at the new table's 24 MiB rather than old and new together (36 MiB, or 48 with 16-byte slots).

Ids are never compared themselves, only digests: two distinct ids among n share a digest with probability about
n² / 2⁶⁵ — one in 37 million for a million records, one in 3,700 for 100 million — and such a pair would make the
later record read as a duplicate.
"""

from __future__ import annotations

import contextlib
import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["SeenIds", "id_digest"]

PARK_FROM_SLOTS = 1 << 17
"""Tables at least this large are parked on disk while they double (1.5 MiB of slots); smaller ones are copied
in memory, where a temporary file would cost more than it saves."""
_SLICE = 1 << 13
_WIDE_FROM = 1 << 32


_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes


def id_digest(record_id: object) -> int:
    """A record id as a non-zero 64-bit digest (the key of :class:`SeenIds`, the same in every process)."""
    return _from_bytes(_blake2b(str(record_id).encode(), digest_size=8).digest()) or 1


class SeenIds:
    """The record ids of one stream (see the module's docstring for the layout)."""

    def __init__(self, capacity: int = 1 << 10, *, keep_order: bool = False) -> None:
        """``keep_order`` also lists the digests in the order they were met (8 bytes an id more): what a share
        of a stream keeps, bounded by its size, so the driver absorbs it in one pass (:meth:`absorb`)."""
        size = 1 << max(capacity - 1, 1).bit_length()
        self._digests = array("Q", [0]) * size
        self._ordinals = array("I", [0]) * size
        self._used = 0
        self._names: list[str] = []
        self._sources: dict[str, int] = {}
        # runs: ordinal ``_run_starts[r]`` was read at line ``_run_lines[r]`` of source ``_run_sources[r]``, and
        # each later ordinal of the run one line further on
        self._run_starts = array("Q")
        self._run_lines = array("Q")
        self._run_sources = array("I")
        self._in_order: array[int] | None = array("Q") if keep_order else None

    def __len__(self) -> int:
        return self._used

    def first_seen(self, record_id: object, source: str, line: int) -> str | None:
        """``file:line`` of the id's first record, or None (and remembered) when this is its first.

        Runs once per record, so the probe of ``_slot`` is written out here, and a record that continues the last
        run (the next line of the same source) is placed without ``_put``'s calls."""
        digest = id_digest(record_id)
        digests = self._digests
        mask = len(digests) - 1
        slot = digest & mask
        while (held := digests[slot]) != digest and held != 0:
            slot = (slot + 1) & mask
        if held == digest:
            source, line = self._where(self._ordinals[slot])
            return f"{source}:{line}"
        ordinal, starts = self._used, self._run_starts
        last = len(starts) - 1
        if (
            last < 0
            or self._in_order is not None
            or ordinal == _WIDE_FROM
            or (ordinal + 1) * 10 > (mask + 1) * 7
            or self._run_lines[last] + ordinal - starts[last] != line
            or self._names[self._run_sources[last]] is not source
        ):
            del digests  # a growth frees the old table before it makes the new one
            self._put(slot, digest, source, line)
            return None
        digests[slot] = digest
        self._ordinals[slot] = ordinal
        self._used = ordinal + 1
        return None

    def remember(self, digest: int, source: str, line: int) -> None:
        """Note an id (by digest) first seen at ``source:line``, unless already seen."""
        slot = self._slot(digest)
        if self._digests[slot] != digest:
            self._put(slot, digest, source, line)

    def absorb(self, later: SeenIds) -> dict[int, tuple[str, int]]:
        """Take in the ids of a later stream; those already here are not taken but returned (by digest) with
        where they were first seen. The ``--jobs`` driver takes in every id of the input this way, so this is
        one loop in one frame, the table grown beforehand, the later ids in the order they were met (their runs
        stay runs here): ~1 µs an id."""
        while (self._used + later._used) * 10 > len(self._digests) * 7:
            self._grow()
        if self._used + later._used >= _WIDE_FROM and self._ordinals.typecode == "I":
            self._ordinals = array("Q", self._ordinals)
        in_order = later._digests_in_order()
        digests, ordinals, mask, mine_in_order = self._digests, self._ordinals, len(self._digests) - 1, self._in_order
        repeats: dict[int, tuple[str, int]] = {}
        for start, end, source, first_line in later._runs():
            index = self._source_index(source)
            line_of = first_line - start  # + the later stream's ordinal
            for ordinal_there in range(start, end):
                digest = in_order[ordinal_there]
                slot = digest & mask
                while (held := digests[slot]) != digest and held != 0:
                    slot = (slot + 1) & mask
                if held == digest:
                    repeats[digest] = self._where(ordinals[slot])
                    continue
                ordinal = self._used
                self._note_place(ordinal, index, line_of + ordinal_there)
                digests[slot] = digest
                ordinals[slot] = ordinal
                self._used = ordinal + 1
                if mine_in_order is not None:
                    mine_in_order.append(digest)
        return repeats

    def entries(self) -> Iterator[tuple[int, str, int]]:
        """Every id's digest with its first ``source`` and ``line``, in the order the ids were met."""
        in_order = self._digests_in_order()
        for start, end, source, first_line in self._runs():
            for ordinal in range(start, end):
                yield in_order[ordinal], source, first_line + ordinal - start

    def _digests_in_order(self) -> array[int]:
        """Each ordinal's digest: kept as met (``keep_order``), else gathered from the table."""
        if self._in_order is not None:
            return self._in_order
        in_order = array("Q", [0]) * self._used
        for digest, ordinal in zip(self._digests, self._ordinals, strict=True):
            if digest:
                in_order[ordinal] = digest
        return in_order

    def _runs(self) -> Iterator[tuple[int, int, str, int]]:
        """Each run's first ordinal, the ordinal after its last, its source and its first line."""
        starts, names = self._run_starts, self._names
        for run, start in enumerate(starts):
            end = starts[run + 1] if run + 1 < len(starts) else self._used
            yield start, end, names[self._run_sources[run]], self._run_lines[run]

    def _slot(self, digest: int) -> int:
        """The slot holding ``digest``, else the empty slot where it would go."""
        digests, mask = self._digests, len(self._digests) - 1
        slot = digest & mask
        while (held := digests[slot]) != digest and held != 0:
            slot = (slot + 1) & mask
        return slot

    def _put(self, slot: int, digest: int, source: str, line: int) -> None:
        ordinal = self._used
        if ordinal == _WIDE_FROM and self._ordinals.typecode == "I":
            self._ordinals = array("Q", self._ordinals)
        self._note_place(ordinal, self._source_index(source), line)
        self._digests[slot] = digest
        self._ordinals[slot] = ordinal
        self._used += 1
        if self._in_order is not None:
            self._in_order.append(digest)
        if self._used * 10 > len(self._digests) * 7:
            self._grow()

    def _source_index(self, source: str) -> int:
        index = self._sources.get(source)
        if index is None:
            index = self._sources[source] = len(self._names)
            self._names.append(source)
        return index

    def _note_place(self, ordinal: int, source: int, line: int) -> None:
        """Start a run unless ``ordinal`` continues the last one (same source, next line)."""
        starts = self._run_starts
        if starts:
            last = len(starts) - 1
            if self._run_sources[last] == source and self._run_lines[last] + ordinal - starts[last] == line:
                return
        starts.append(ordinal)
        self._run_lines.append(line)
        self._run_sources.append(source)

    def _where(self, ordinal: int) -> tuple[str, int]:
        run = bisect_right(self._run_starts, ordinal) - 1
        return self._names[self._run_sources[run]], self._run_lines[run] + ordinal - self._run_starts[run]

    def _grow(self) -> None:
        """Double the table; a large old one waits in a temporary file while the new one fills."""
        size, typecode = len(self._digests), self._ordinals.typecode
        parked: BinaryIO | None = None
        if size >= PARK_FROM_SLOTS:
            import tempfile  # only for the table of a long stream: a short run never needs it

            with contextlib.suppress(OSError):  # no temporary directory to write to: the old table stays in memory
                parked = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, once read back
                self._digests.tofile(parked)
                self._ordinals.tofile(parked)
        old_digests, old_ordinals = (array("Q"), array(typecode)) if parked else (self._digests, self._ordinals)
        self._digests = self._ordinals = array("Q")  # the old table's memory goes before the new one's comes
        self._digests = array("Q", [0]) * (2 * size)  # made in place: array("Q", bytes(n)) copies n bytes
        self._ordinals = array(typecode, [0]) * (2 * size)
        if parked is None:
            self._rehash(old_digests, old_ordinals)
            return
        with parked:
            ordinals_at = 8 * size
            for first in range(0, size, _SLICE):
                count = min(_SLICE, size - first)
                parked.seek(8 * first)
                old_digests.fromfile(parked, count)
                parked.seek(ordinals_at + old_ordinals.itemsize * first)
                old_ordinals.fromfile(parked, count)
                self._rehash(old_digests, old_ordinals)
                del old_digests[:], old_ordinals[:]

    def _rehash(self, digests: array[int], ordinals: array[int]) -> None:
        new_digests, new_ordinals, mask = self._digests, self._ordinals, len(self._digests) - 1
        for digest, ordinal in zip(digests, ordinals, strict=True):
            if digest:
                slot = digest & mask
                while new_digests[slot]:
                    slot = (slot + 1) & mask
                new_digests[slot] = digest
                new_ordinals[slot] = ordinal
