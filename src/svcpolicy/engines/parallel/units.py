"""Judge one work unit: what a worker process (or a Spark task) does, with the loop of one process.

A unit checks its own record ids for repeats and hands back the ids it saw (``UnitResult.seen``). The driver,
taking units in input order, looks those up among the ids of the units before (:func:`repeats_before`); in the
rare case of a repeat it judges the unit again starting from those earlier ids (``prior``), so the later record
is the invalid one exactly as in one process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers, judge_stream
from svcpolicy.engines.parallel.plan import FileBatch, FileUnit, WorkUnit
from svcpolicy.engines.parallel.wire import Wire, to_wire
from svcpolicy.errors import InputError
from svcpolicy.records.readers import RawRecord, read_records, source_name
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts, InputFailure


@dataclass
class UnitResult:
    """A unit's findings and invalid records in order (as tuples, :mod:`.wire`), its counts, kept contexts,
    the files it could not read (each after the items judged before it was reached), identifying values,
    aggregate groups to merge, and the record ids it saw."""

    items: list[Wire]
    counts: Counts
    contexts: RecordContexts | None
    failures: list[tuple[int, InputFailure]]
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
    items: list[Finding | InvalidRecord] = []
    failures: list[tuple[int, InputFailure]] = []

    def failed(failure: InputFailure) -> None:
        counts.input_errors += 1
        failures.append((len(items), failure))

    raws: Iterable[RawRecord]
    if isinstance(unit, FileUnit):
        raws = _file_records((unit,), encoding, failed)
    elif isinstance(unit, FileBatch):
        raws = _file_records(unit.files, encoding, failed)
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
    for item in stream:  # one at a time: a file that cannot be read is placed after the items before it
        items.append(item)
    tallies = [run.tally() for run in runs]
    return UnitResult(to_wire(items), counts, contexts, failures, tallies, identifiers, seen)


def _file_records(
    files: Iterable[FileUnit], encoding: str, failed: Callable[[InputFailure], None]
) -> Iterator[RawRecord]:
    """The records of the files in turn, each opened when the one before is done (as one process does); a file
    that cannot be read is handed to ``failed`` by its first part."""
    for file in files:
        try:
            records = read_records(file.path, encoding=encoding, part=file.part, size=file.size)
        except InputError as exc:
            if file.first:
                failed(InputFailure(source_name(file.path), exc.message))
            continue
        yield from records


def repeats_before(earlier: SeenIds, result: UnitResult) -> dict[int, tuple[str, int]]:
    """The ids of this unit already seen in the units before it (by digest), with where they were first seen;
    the unit's other ids join ``earlier`` (a unit judged again for its repeats sees the same ids)."""
    return earlier.absorb(result.seen) if result.seen is not None else {}
