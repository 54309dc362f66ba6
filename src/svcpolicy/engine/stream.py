"""Judge a stream of raw records: the one loop shared by a single process, a ``--jobs`` worker and a Spark task.

Record findings and invalid records come out in input order, and every record lands in ``counts``; aggregate
rules only gather their groups here (``runs``), to be judged once the whole input, however split, is merged.

A record whose ``id`` was already seen in the stream is an invalid record ("duplicate id, first seen at
file:line"): two records with one id would share a fingerprint (one waiver would cover both) and be counted twice
by group rules. Its first occurrence is judged as usual, so the counts still reconcile. :class:`SeenIds` keeps a
16-byte digest of each id and where it was first seen: about 130 bytes a record (130 MB for a million records
in one process). Under ``--jobs``, each worker's share is checked on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    """The record ids of one stream, as 128-bit digests (no collision in practice), with where each was first seen."""

    def __init__(self) -> None:
        self._first: dict[int, int] = {}  # digest -> index in _sources << 40 | line
        self._sources: dict[str, int] = {}

    def first_seen(self, record_id: object, source: str, line: int) -> str | None:
        """``file:line`` of the id's first record, or None (and remembered) when this is its first."""
        digest = int.from_bytes(hashlib.blake2b(str(record_id).encode(), digest_size=16).digest())
        where = self._first.get(digest)
        if where is None:
            index = self._sources.setdefault(source, len(self._sources))
            self._first[digest] = index << 40 | line
            return None
        names = list(self._sources)
        return f"{names[where >> 40]}:{where & (1 << 40) - 1}"


def judge_stream(
    pack: CompiledPack,
    raws: Iterable[RawRecord],
    as_of: dt.datetime,
    *,
    counts: Counts,
    runs: Sequence[AggregateRun],
    contexts: RecordContexts | None = None,
    identifiers: RecordIdentifiers | None = None,
    judge: Judge | None = None,
    check: Check = validate,
    progress: Callable[[Counts], None] | None = None,
    progress_every: int = 1000,
) -> Iterator[Finding | InvalidRecord]:
    """Validate and judge each record, feed the aggregate runs, count; keep contexts (and identifying values) of
    records with findings."""
    identifying = pack.definition.identifying_fields if identifiers is not None else ()
    env = Env({}, params={}, as_of=as_of, tz=pack.tz, calendar=pack.calendar)
    judge = judge or pack.judge
    seen = SeenIds()
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
            if runs:
                ref = RecordRef(record.get("id"), raw.locator.source, raw.locator.line)
                for run in runs:
                    run.feed(env, record, ref)
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
