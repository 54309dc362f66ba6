"""``svcpolicy check FILES --engine spark``: record files judged in Spark tasks, one work unit per task.

The units are those of ``--jobs`` (whole files, parts of large JSONL/CSV files), so every executor must see the
files at the same paths (a local master, or a shared file system); a table of records goes through
:func:`svcpolicy.engines.spark.evaluate` instead.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers, count_group_findings
from svcpolicy.engines.parallel import judge_unit, merge_result, plan_units
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

    def _run(
        self,
        pack: CompiledPack,
        paths: Sequence[str | Path],
        spark: SparkSession,
        encoding: str,
        keep_context: bool,
        keep_identifiers: bool,
    ) -> Iterator[Finding | InvalidRecord]:
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
            results = context.parallelize(units, len(units)).map(judge).collect()
            contexts = self.records if keep_context else None
            identifiers = self.identifiers if keep_identifiers else None
            for result in results:
                yield from merge_result(result, self.counts, runs, contexts, self.input_failures, identifiers)
        yield from count_group_findings(pack.group_findings(runs, self.as_of), self.counts)
