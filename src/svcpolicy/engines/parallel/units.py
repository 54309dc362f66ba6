"""Judge one work unit: what a worker process (or a Spark task) does, with the loop of one process.

A unit checks its own record ids for repeats and hands back the ids it saw (``UnitResult.seen``). The driver,
taking units in input order, looks those up among the ids of the units before (:func:`repeats_before`); in the
rare case of a repeat it judges the unit again starting from those earlier ids (``prior``), so the later record
is the invalid one exactly as in one process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers, judge_stream
from svcpolicy.engines.parallel.plan import FileUnit, WorkUnit
from svcpolicy.engines.parallel.wire import Wire, to_wire
from svcpolicy.errors import InputError
from svcpolicy.records.readers import RawRecord, read_records, source_name
from svcpolicy.results.report import Counts, InputFailure


@dataclass
class UnitResult:
    """A unit's findings and invalid records in order (as tuples, :mod:`.wire`), its counts, kept contexts and
    identifying values, aggregate groups to merge, and the record ids it saw."""

    items: list[Wire]
    counts: Counts
    contexts: RecordContexts | None
    failure: InputFailure | None
    tallies: list[GroupTally]
    identifiers: RecordIdentifiers | None = None
    seen: SeenIds | None = None


def judge_unit(
    pack: CompiledPack,
    unit: WorkUnit,
    as_of: dt.datetime,
    encoding: str,
    keep_context: bool,
    keep_identifiers: bool = False,
    prior: Mapping[int, tuple[str, int]] | None = None,
) -> UnitResult:
    """Judge the unit's records; ``prior`` holds ids (by digest) first seen before the unit, and where."""
    counts = Counts()
    failure: InputFailure | None = None
    raws: Iterable[RawRecord] = ()
    if isinstance(unit, FileUnit):
        try:
            raws = read_records(unit.path, encoding=encoding, part=unit.part)
        except InputError as exc:
            if unit.first:
                counts.input_errors += 1
                failure = InputFailure(source_name(unit.path), exc.message)
    else:
        raws = unit.raws
    runs = [AggregateRun(program) for program in pack.aggregates]
    contexts: RecordContexts | None = {} if keep_context else None
    identifiers: RecordIdentifiers | None = {} if keep_identifiers else None
    seen = SeenIds(keep_order=True)
    for digest, (source, line) in (prior or {}).items():
        seen.remember(digest, source, line)
    stream = judge_stream(
        pack, raws, as_of, counts=counts, runs=runs, contexts=contexts, identifiers=identifiers, seen=seen
    )
    items = to_wire(list(stream))
    return UnitResult(items, counts, contexts, failure, [run.tally() for run in runs], identifiers, seen)


def repeats_before(earlier: SeenIds, result: UnitResult) -> dict[int, tuple[str, int]]:
    """The ids of this unit already seen in the units before it (by digest), with where they were first seen;
    the unit's other ids join ``earlier`` (a unit judged again for its repeats sees the same ids)."""
    return earlier.absorb(result.seen) if result.seen is not None else {}
