"""``evaluate(df, policy)``: a DataFrame of records in, a DataFrame of findings out, the fields of ``--format jsonl``.

Records are numbered in DataFrame order (``<input>:N``, as ``policy.evaluate`` numbers in-memory records) and
judged a partition at a time. Each partition also returns its aggregate groups; ``reduce`` folds them in
partition order, and the groups are judged after that merge. The result lists record findings and invalid
records in input order, then group findings. A column value of null is an absent field; nested values of the
findings (record, citations, evidence, …) are JSON text, as on a ``--format jsonl`` line.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from svcpolicy.engine.aggregates import AggregateRun, GroupTally
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.stream import count_group_findings, judge_stream
from svcpolicy.extras import needs
from svcpolicy.records.readers import Locator, RawRecord
from svcpolicy.results.dispositions import default_disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts

if TYPE_CHECKING:
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

PartitionResult = tuple[list[tuple[Any, ...]], list[GroupTally]]


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
    judge = functools.partial(_judge_partition, policy, as_of, json_column)
    judged = records.rdd.zipWithIndex().mapPartitions(judge).persist(StorageLevel.MEMORY_AND_DISK)
    tallies = judged.map(lambda part: part[1]).reduce(functools.partial(_merge_tallies, policy))
    runs = [AggregateRun(program) for program in policy.aggregates]
    for run, tally in zip(runs, tallies, strict=True):
        run.merge(tally)
    groups = [finding_row(f) for f in count_group_findings(policy.group_findings(runs, as_of), Counts())]
    spark = records.sparkSession
    rows = judged.flatMap(lambda part: part[0]).union(spark.sparkContext.parallelize(groups, 1))
    return spark.createDataFrame(rows, _schema())


def _schema() -> str:
    """:data:`FINDING_COLUMNS` as a DDL schema."""
    return ", ".join(f"`{name}` {kind}" for name, kind in FINDING_COLUMNS)


def _judge_partition(
    policy: CompiledPack, as_of: dt.datetime, json_column: str | None, rows: Iterable[tuple[Row, int]]
) -> Iterator[PartitionResult]:
    raws = (_raw(row, index, json_column) for row, index in rows)
    runs = [AggregateRun(program) for program in policy.aggregates]
    items = [finding_row(item) for item in judge_stream(policy, raws, as_of, counts=Counts(), runs=runs)]
    yield items, [run.tally() for run in runs]


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


def _merge_tallies(policy: CompiledPack, earlier: list[GroupTally], later: list[GroupTally]) -> list[GroupTally]:
    """Fold a later partition's groups into an earlier one's (``reduce`` keeps partition order)."""
    merged: list[GroupTally] = []
    for program, first, second in zip(policy.aggregates, earlier, later, strict=True):
        run = AggregateRun(program)
        run.merge(first)
        run.merge(second)
        merged.append(run.tally())
    return merged
