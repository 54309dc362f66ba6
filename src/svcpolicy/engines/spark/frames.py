"""``evaluate(df, policy)``: a DataFrame of records in, a DataFrame of findings out, the fields of ``--format jsonl``.

Records are numbered in DataFrame order (``<input>:N``, as ``policy.evaluate`` numbers in-memory records) and
judged a partition at a time. Each partition also returns its aggregate groups and the record ids it saw:

* the groups are combined in Spark by rule and group key, each group's states folded in partition order, so the
  driver receives only merged groups, and judges them as one pass would;
* the ids are reduced by digest in Spark to those seen in more than one partition (rare); the partitions holding
  a later occurrence are judged again starting from the ids first seen before them, so that record is invalid
  ("duplicate id …") exactly as in one pass.

The result lists record findings and invalid records in input order, then group findings. A column value of null
is an absent field; nested values of the findings (record, citations, evidence, …) are JSON text, as on a
``--format jsonl`` line.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.engine.stream import count_group_findings, judge_stream
from svcpolicy.engines.spark.groups import merged_runs
from svcpolicy.extras import needs
from svcpolicy.records.readers import Locator, RawRecord
from svcpolicy.results.dispositions import default_disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import DataFrame, Row

FINDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rule", "string"),
    ("title", "string"),
    ("severity", "string"),
    ("outcome", "string"),
    ("record", "string"),
    ("citations", "string"),
    ("message", "string"),
    ("evidence", "string"),
    ("missing", "string"),
    ("reason", "string"),
    ("pack", "string"),
    ("fingerprint", "string"),
    ("group", "string"),
    ("members", "string"),
    ("members_total", "bigint"),
    ("left_out", "bigint"),
    ("effective", "string"),
    ("error", "string"),
    ("status", "string"),
    ("blocking", "boolean"),
    ("waiver", "string"),
    ("gate_note", "string"),
)
"""The keys of a ``--format jsonl`` line (a finding's, an invalid record's ``error``) and their Spark types."""

PartitionResult = tuple[int, list[tuple[Any, ...]], list[GroupTally], SeenIds]
"""A judged partition: its index, finding rows, aggregate groups and record ids."""
Priors = dict[int, dict[int, tuple[str, int]]]
"""Per partition, the ids (by digest) it repeats from partitions before it, with where they were first seen."""


def finding_row(item: Finding | InvalidRecord) -> tuple[Any, ...]:
    """A finding or invalid record as a row of :data:`FINDING_COLUMNS`: its ``--format jsonl`` line, without a gate."""
    line = {**item.to_dict(), **default_disposition(item).to_dict()}
    return tuple(_cell(line.get(name)) for name, _ in FINDING_COLUMNS)


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    return value


def evaluate(
    records: DataFrame,
    policy: CompiledPack,
    *,
    as_of: dt.datetime | None = None,
    json_column: str | None = None,
) -> DataFrame:
    """Judge a DataFrame of records: nested columns named as the record model, or one column of JSON text."""
    with needs("pyspark", "svcpolicy.spark.evaluate", "spark"):
        from pyspark import StorageLevel
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone offset")
    as_of = as_of if as_of is not None else dt.datetime.now(policy.tz).replace(microsecond=0)
    numbered = records.rdd.zipWithIndex()
    judge = functools.partial(_judge_partition, policy, as_of, json_column, {})
    judged = numbered.mapPartitionsWithIndex(judge).persist(StorageLevel.MEMORY_AND_DISK)
    priors = _repeats_across_partitions(judged)
    if priors:
        judge = functools.partial(_judge_partition, policy, as_of, json_column, priors)
        again = numbered.mapPartitionsWithIndex(functools.partial(_judge_again, judge, priors))
        judged = judged.zip(again).map(lambda pair: pair[1] or pair[0]).persist(StorageLevel.MEMORY_AND_DISK)
    runs = merged_runs(judged.map(lambda part: (part[0], part[2])), policy)
    groups = [finding_row(f) for f in count_group_findings(policy.group_findings(runs, as_of), Counts())]
    spark = records.sparkSession
    rows = judged.flatMap(lambda part: part[1]).union(spark.sparkContext.parallelize(groups, 1))
    return spark.createDataFrame(rows, _schema())


def _schema() -> str:
    """:data:`FINDING_COLUMNS` as a DDL schema."""
    return ", ".join(f"`{name}` {kind}" for name, kind in FINDING_COLUMNS)


def _judge_partition(
    policy: CompiledPack,
    as_of: dt.datetime,
    json_column: str | None,
    priors: Priors,
    partition: int,
    rows: Iterable[tuple[Row, int]],
) -> Iterator[PartitionResult]:
    """Judge one partition, starting from the ids it repeats from partitions before it (``priors``)."""
    seen = SeenIds()
    for digest, (source, line) in priors.get(partition, {}).items():
        seen.remember(digest, source, line)
    raws = (_raw(row, index, json_column) for row, index in rows)
    runs = [AggregateRun(program) for program in policy.aggregates]
    stream = judge_stream(policy, raws, as_of, counts=Counts(), runs=runs, seen=seen)
    items = [finding_row(item) for item in stream]
    yield partition, items, [run.tally() for run in runs], seen


def _judge_again(
    judge: Callable[[int, Iterable[tuple[Row, int]]], Iterator[PartitionResult]],
    priors: Priors,
    partition: int,
    rows: Iterable[tuple[Row, int]],
) -> Iterator[PartitionResult | None]:
    """Judge again a partition that repeats earlier ids; None (its rows unread) for the others."""
    if partition in priors:
        yield from judge(partition, rows)
    else:
        yield None


def _raw(row: Row, index: int, json_column: str | None) -> RawRecord:
    locator = Locator("<input>", index + 1)
    if json_column is not None:
        text = row[json_column]
        if text is None:
            return RawRecord(locator, None, f"no record data in column {json_column}")
        return RawRecord(locator, text.encode("utf-8") if isinstance(text, str) else bytes(text))
    return RawRecord(locator, _present(row.asDict(recursive=True)))


def _present(value: Any) -> Any:
    """Nested column values without nulls: a null column is a field the record does not have."""
    if isinstance(value, Mapping):
        return {key: _present(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_present(item) for item in value]
    return value


def _repeats_across_partitions(judged: RDD[PartitionResult]) -> Priors:
    """Ids seen in more than one partition, reduced by digest in Spark: for each later partition, where each of
    them was first seen."""
    repeated = (
        judged.flatMap(_first_ids)
        .reduceByKey(lambda a, b: (min(a[0], b[0]), a[1] | b[1]))
        .filter(lambda entry: len(entry[1][1]) > 1)
        .collect()
    )
    priors: Priors = {}
    for digest, ((line, first_partition, source), partitions) in repeated:
        for partition in partitions - {first_partition}:
            priors.setdefault(partition, {})[digest] = (source, line)
    return priors


def _first_ids(part: PartitionResult) -> Iterator[tuple[int, tuple[tuple[int, int, str], frozenset[int]]]]:
    partition, _, _, seen = part
    for digest, source, line in seen.entries():
        yield digest, ((line, partition, source), frozenset((partition,)))
