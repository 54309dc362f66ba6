"""Judge one work unit: what a worker process (or a Spark task) does, with the loop of one process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers, judge_stream
from svcpolicy.engines.parallel.plan import FileUnit, WorkUnit
from svcpolicy.errors import InputError
from svcpolicy.records.readers import RawRecord, read_records
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts, InputFailure


@dataclass
class UnitResult:
    """A unit's findings and invalid records in order, its counts, kept contexts and identifying values, and
    aggregate groups to merge."""

    items: list[Finding | InvalidRecord]
    counts: Counts
    contexts: RecordContexts | None
    failure: InputFailure | None
    tallies: list[GroupTally]
    identifiers: RecordIdentifiers | None = None


def judge_unit(
    pack: CompiledPack,
    unit: WorkUnit,
    as_of: dt.datetime,
    encoding: str,
    keep_context: bool,
    keep_identifiers: bool = False,
) -> UnitResult:
    counts = Counts()
    failure: InputFailure | None = None
    raws: Iterable[RawRecord] = ()
    if isinstance(unit, FileUnit):
        try:
            raws = read_records(unit.path, encoding=encoding, part=unit.part)
        except InputError as exc:
            if unit.first:
                counts.input_errors += 1
                failure = InputFailure(str(unit.path), exc.message)
    else:
        raws = unit.raws
    runs = [AggregateRun(program) for program in pack.aggregates]
    contexts: RecordContexts | None = {} if keep_context else None
    identifiers: RecordIdentifiers | None = {} if keep_identifiers else None
    items = list(judge_stream(pack, raws, as_of, counts=counts, runs=runs, contexts=contexts, identifiers=identifiers))
    return UnitResult(items, counts, contexts, failure, [run.tally() for run in runs], identifiers)
