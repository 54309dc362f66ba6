"""Judge a stream of raw records: the one loop shared by a single process, a ``--jobs`` worker and a Spark task.

Record findings and invalid records come out in input order, and every record lands in ``counts``; aggregate
rules only gather their groups here (``runs``), to be judged once the whole input, however split, is merged.

A record whose ``id`` was already seen in the stream is an invalid record ("duplicate id, first seen at
file:line"): two records with one id would share a fingerprint (one waiver would cover both) and be counted twice
by group rules. Its first occurrence is judged as usual, so the counts still reconcile. :class:`SeenIds` keeps a
64-bit digest of each id and where it was first seen, in 23 to 46 bytes a record (a dict took ~120). Under
``--jobs`` and on Spark, a share of the stream starts from the ids seen before it (``seen``) and hands back
the ids it saw, so the engines find repeats across shares too (svcpolicy.engines.parallel.units).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.record_context import identifying_values, record_context
from svcpolicy.expr import Env
from svcpolicy.records.readers import RawRecord, Validation, validate
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Counts

Judge = Callable[..., tuple[Outcome, list[Finding]]]
Check = Callable[[RawRecord], Validation]
RecordContexts = dict[tuple[str, int], dict[str, Any]]
RecordIdentifiers = dict[tuple[str, int], tuple[str, ...]]
"""Per record with findings (by file and line), the values at the pack's identifying paths, for masking."""


class SeenIds:
    """The record ids of one stream, with where each was first seen, in 23 to 46 bytes an id.

    An open-addressing table (linear probing) over two ``array('Q')``: each id's 64-bit blake2b digest (0 marks
    an empty slot, so a digest of 0 is stored as 1), and where it was first seen (source index << 40 | line):
    16 bytes a slot, the table kept between 35 and 70 % full. Ids are never compared themselves, only digests:
    two distinct ids among n share a digest with probability about n² / 2⁶⁵ — one in 37 million for a million
    records, one in 3,700 for 100 million — and such a pair would make the later record read as a duplicate.
    """

    def __init__(self, capacity: int = 1 << 10) -> None:
        size = 1 << max(capacity - 1, 1).bit_length()
        self._digests = array("Q", bytes(8 * size))
        self._places = array("Q", bytes(8 * size))
        self._used = 0
        self._sources: dict[str, int] = {}
        self._names: list[str] = []

    def __len__(self) -> int:
        return self._used

    def first_seen(self, record_id: object, source: str, line: int) -> str | None:
        """``file:line`` of the id's first record, or None (and remembered) when this is its first."""
        digest = id_digest(record_id)
        slot = self._slot(digest)
        if self._digests[slot] == digest:
            source, line = self._where(self._places[slot])
            return f"{source}:{line}"
        self._put(slot, digest, self._place(source, line))
        return None

    def absorb(self, later: SeenIds) -> dict[int, tuple[str, int]]:
        """Take in the ids of a later stream; those already here are not taken but returned (by digest) with
        where they were first seen. The ``--jobs`` driver takes in every id of the input, so this is one loop in
        one frame, the table grown beforehand: ~0.5 µs an id, against ~5 µs through the methods above."""
        while (self._used + later._used) * 10 > len(self._digests) * 7:
            self._grow()
        sources = [self._place(name, 0) for name in later._names]
        digests, places, mask, lines = self._digests, self._places, len(self._digests) - 1, (1 << 40) - 1
        repeats: dict[int, tuple[str, int]] = {}
        for digest, place in zip(later._digests, later._places, strict=True):
            if digest == 0:
                continue
            slot = digest & mask
            while (held := digests[slot]) != digest and held != 0:
                slot = (slot + 1) & mask
            if held == digest:
                repeats[digest] = self._where(places[slot])
            else:
                digests[slot] = digest
                places[slot] = sources[place >> 40] | place & lines
                self._used += 1
        return repeats

    def remember(self, digest: int, source: str, line: int) -> None:
        """Note an id (by digest) first seen at ``source:line``, unless already seen."""
        slot = self._slot(digest)
        if self._digests[slot] != digest:
            self._put(slot, digest, self._place(source, line))

    def entries(self) -> Iterator[tuple[int, str, int]]:
        """Every id's digest with its first ``source`` and ``line`` (in table order)."""
        names, mask = self._names, (1 << 40) - 1
        for digest, place in zip(self._digests, self._places, strict=True):
            if digest != 0:
                yield digest, names[place >> 40], place & mask

    def _slot(self, digest: int) -> int:
        """The slot holding ``digest``, else the empty slot where it would go."""
        digests, mask = self._digests, len(self._digests) - 1
        slot = digest & mask
        while (held := digests[slot]) != digest and held != 0:
            slot = (slot + 1) & mask
        return slot

    def _put(self, slot: int, digest: int, place: int) -> None:
        self._digests[slot] = digest
        self._places[slot] = place
        self._used += 1
        if self._used * 10 > len(self._digests) * 7:
            self._grow()

    def _grow(self) -> None:
        digests, places = self._digests, self._places
        self._digests = array("Q", bytes(16 * len(digests)))
        self._places = array("Q", bytes(16 * len(places)))
        for digest, place in zip(digests, places, strict=True):
            if digest != 0:
                slot = self._slot(digest)
                self._digests[slot] = digest
                self._places[slot] = place

    def _place(self, source: str, line: int) -> int:
        index = self._sources.get(source)
        if index is None:
            index = self._sources[source] = len(self._names)
            self._names.append(source)
        return index << 40 | line

    def _where(self, place: int) -> tuple[str, int]:
        return self._names[place >> 40], place & (1 << 40) - 1


def id_digest(record_id: object) -> int:
    """A record id as a non-zero 64-bit digest (the key of :class:`SeenIds`, the same in every process)."""
    digest = int.from_bytes(hashlib.blake2b(str(record_id).encode(), digest_size=8).digest(), "big")
    return digest or 1


def judge_stream(
    pack: CompiledPack,
    raws: Iterable[RawRecord],
    as_of: dt.datetime,
    *,
    counts: Counts,
    runs: Sequence[AggregateRun],
    contexts: RecordContexts | None = None,
    identifiers: RecordIdentifiers | None = None,
    seen: SeenIds | None = None,
    judge: Judge | None = None,
    check: Check = validate,
    progress: Callable[[Counts], None] | None = None,
    progress_every: int = 1000,
) -> Iterator[Finding | InvalidRecord]:
    """Validate and judge each record, feed the aggregate runs, count; keep contexts (and identifying values) of
    records with findings. ``seen`` holds the ids met before this stream, and gets this stream's."""
    identifying = pack.definition.identifying_fields if identifiers is not None else ()
    env = Env({}, params={}, as_of=as_of, tz=pack.tz, calendar=pack.calendar)
    judge = judge or pack.judge
    seen = SeenIds() if seen is None else seen
    feed = pack.aggregate_feed(runs).feed if runs else None
    for raw in raws:
        record, error, record_id = check(raw)
        if record is not None and (given_id := record.get("id")) is not None:
            first = seen.first_seen(given_id, raw.locator.source, raw.locator.line)
            if first is not None:
                record, error, record_id = None, f"duplicate id {given_id!r}, first seen at {first}", given_id
        if record is None:
            counts.add_record(Outcome.INVALID)
            yield InvalidRecord(RecordRef(record_id, raw.locator.source, raw.locator.line), error or "invalid record")
        else:
            outcome, findings = judge(record, raw.locator, as_of, env=env)
            if feed is not None:
                feed(env, record, RecordRef(record.get("id"), raw.locator.source, raw.locator.line))
            counts.add_record(outcome, record)
            if findings and contexts is not None:
                contexts[raw.locator] = record_context(record)
            if findings and identifiers is not None:
                identifiers[raw.locator] = identifying_values(record, identifying)
            for finding in findings:
                if finding.outcome is Outcome.VIOLATION:
                    counts.violations += 1
                else:
                    counts.undetermined_findings += 1
                yield finding
        if progress is not None and counts.records % progress_every == 0:
            progress(counts)


def count_group_findings(findings: Iterable[Finding], counts: Counts) -> Iterator[Finding]:
    """Pass group findings through, counting them."""
    for finding in findings:
        if finding.outcome is Outcome.VIOLATION:
            counts.group_violations += 1
        else:
            counts.group_undetermined += 1
        yield finding
