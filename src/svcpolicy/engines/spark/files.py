"""``svcpolicy check FILES --engine spark``: record files judged in Spark tasks, one work unit per task.

The units are those of ``--jobs`` (whole files, parts of large JSONL/CSV files), so every executor must see the
files at the same paths (a local master, or a shared file system); a table of records goes through
:func:`svcpolicy.engines.spark.evaluate` instead. As under ``--jobs``, the driver looks each unit's record ids up
among those of the units before it, and the (rare) units holding a repeat are judged again, in one more Spark
job, starting from those ids. The units' aggregate groups are combined in Spark (:mod:`.groups`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers, count_group_findings
from svcpolicy.engines.parallel import UnitResult, judge_unit, merge_result, plan_units, repeats_before
from svcpolicy.engines.spark.groups import merged_runs
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts, InputFailure

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkRun(Iterator[Finding | InvalidRecord]):
    """An evaluation of record files on Spark, with what ``Evaluation`` offers its callers: iterate for findings
    in input order; ``counts``, ``input_failures`` and ``records`` are complete once it is exhausted (and
    ``identifiers`` with ``keep_identifiers``, for masking)."""

    def __init__(
        self,
        pack: CompiledPack,
        paths: Sequence[str | Path],
        spark: SparkSession,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        keep_context: bool = False,
        keep_identifiers: bool = False,
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone offset")
        self.as_of = as_of if as_of is not None else dt.datetime.now(pack.tz).replace(microsecond=0)
        self.counts = Counts()
        self.input_failures: list[InputFailure] = []
        self.records: RecordContexts = {}
        self.identifiers: RecordIdentifiers = {}
        self.engine_stats = None
        self._items = self._run(pack, paths, spark, encoding, keep_context, keep_identifiers)

    def __iter__(self) -> SparkRun:
        return self

    def __next__(self) -> Finding | InvalidRecord:
        return next(self._items)

    def close(self) -> None:
        """Stop reading the findings, as ``Evaluation.close`` does (Spark's jobs are over by the first item)."""
        self._items.close()

    def _run(
        self,
        pack: CompiledPack,
        paths: Sequence[str | Path],
        spark: SparkSession,
        encoding: str,
        keep_context: bool,
        keep_identifiers: bool,
    ) -> Generator[Finding | InvalidRecord, None, None]:
        from pyspark import StorageLevel

        context = spark.sparkContext
        units = list(plan_units(paths, context.defaultParallelism, encoding))
        runs = [AggregateRun(program) for program in pack.aggregates]
        if units:
            judge = functools.partial(
                judge_unit,
                pack,
                as_of=self.as_of,
                encoding=encoding,
                keep_context=keep_context,
                keep_identifiers=keep_identifiers,
            )
            judged = context.parallelize(list(enumerate(units)), len(units)).map(lambda task: (task[0], judge(task[1])))
            judged = judged.persist(StorageLevel.MEMORY_AND_DISK)
            results = judged.map(lambda task: _without_groups(task[1])).collect()
            tallies = judged.map(lambda task: (task[0], task[1].tallies))
            seen = SeenIds()
            again = {i: repeats for i, result in enumerate(results) if (repeats := repeats_before(seen, result))}
            if again:
                tasks = [(i, units[i], repeats) for i, repeats in again.items()]
                rejudged = context.parallelize(tasks, len(tasks)).map(
                    lambda task: (task[0], judge(task[1], prior=task[2]))
                )
                rejudged = rejudged.persist(StorageLevel.MEMORY_AND_DISK)
                results = _replaced(
                    results, dict(rejudged.map(lambda task: (task[0], _without_groups(task[1]))).collect())
                )
                repeating = set(again)
                tallies = tallies.filter(lambda task: task[0] not in repeating).union(
                    rejudged.map(lambda task: (task[0], task[1].tallies))
                )
            runs = merged_runs(tallies, pack)
            contexts = self.records if keep_context else None
            identifiers = self.identifiers if keep_identifiers else None
            for result in results:
                yield from merge_result(result, self.counts, [], contexts, self.input_failures, identifiers)
        yield from count_group_findings(pack.group_findings(runs, self.as_of), self.counts)


def _replaced(results: list[UnitResult], again: dict[int, UnitResult]) -> list[UnitResult]:
    """The units' results with those judged again in their place."""
    return [again.get(i, result) for i, result in enumerate(results)]


def _without_groups(result: UnitResult) -> UnitResult:
    """What the driver takes of a unit's result: all but its groups, which are combined in Spark."""
    return dataclasses.replace(result, tallies=[])
