"""Judge a stream of raw records: the one loop shared by a single process, a ``--jobs`` worker and a Spark task.

Record findings and invalid records come out in input order, and every record lands in ``counts``; aggregate
rules only gather their groups here (``runs``), to be judged once the whole input, however split, is merged.

A record whose ``id`` was already seen in the stream is an invalid record ("duplicate id, first seen at
file:line"): two records with one id would share a fingerprint (one waiver would cover both) and be counted twice
by group rules. Its first occurrence is judged as usual, so the counts still reconcile. :class:`SeenIds`
(:mod:`svcpolicy.engine.seen_ids`) keeps a 64-bit digest of each id and where it was first seen, in 12 to 24
bytes a record (a dict took ~120). Under ``--jobs`` and on Spark, a share of the stream starts from the ids seen
before it (``seen``) and hands back the ids it saw, so the engines find repeats across shares too
(svcpolicy.engines.parallel.units).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.record_context import identifying_values, record_context
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.expr import Env
from svcpolicy.records.readers import RawRecord, Validation, salvaged_data, validate
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Counts

_INVALID, _VIOLATION = Outcome.INVALID, Outcome.VIOLATION  # looked up once, not on the enum per record

Judge = Callable[..., tuple[Outcome, list[Finding]]]
Check = Callable[[RawRecord], Validation]
RecordContexts = dict[tuple[str, int], dict[str, Any]]
RecordIdentifiers = dict[tuple[str, int], tuple[str, ...]]
"""Per record with findings or found invalid (by file and line), the values at the pack's identifying paths,
for masking; the records of one line (a JSON array written on one line) share their entry."""


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
    identifying = pack.definition.spec.identifying_fields if identifiers is not None else ()
    env = Env({}, params={}, as_of=as_of, tz=pack.tz, calendar=pack.calendar)
    judge = judge or pack.judge
    seen = SeenIds() if seen is None else seen
    feed = pack.aggregate_feed(runs).feed if runs else None
    first_seen, add_record = seen.first_seen, counts.add_record  # bound once: the loop runs per record
    for raw in raws:
        record, error, record_id = check(raw)
        locator = raw.locator
        source, line = locator
        if record is not None and (given_id := record.get("id")) is not None:
            first = first_seen(given_id, source, line)
            if first is not None:
                record, error, record_id = None, f"duplicate id {given_id!r}, first seen at {first}", given_id
        if record is None:
            add_record(_INVALID)
            if identifiers is not None:  # its id and message may name the customer too
                identifiers[locator] = identifiers.get(locator, ()) + identifying_values(
                    salvaged_data(raw), identifying
                )
            yield InvalidRecord(RecordRef(record_id, source, line), error or "invalid record")
        else:
            outcome, findings = judge(record, locator, as_of, env=env)
            if feed is not None:
                feed(env, record, RecordRef(record.get("id"), source, line))
            add_record(outcome, record)
            if findings:
                if contexts is not None:
                    contexts[locator] = record_context(record)
                if identifiers is not None:
                    identifiers[locator] = identifiers.get(locator, ()) + identifying_values(record, identifying)
                for finding in findings:
                    if finding.outcome is _VIOLATION:
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
