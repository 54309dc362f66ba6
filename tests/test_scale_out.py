"""Scale-out (issue 13): a split input, merged, gives the findings of one pass — in-process, with --jobs, on Spark."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import pickle
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, CST, ON_CI, REPO
from strategies import records_between
from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.stream import judge_stream
from svcpolicy.engines.parallel import plan, runner
from svcpolicy.records.readers import Locator, RawRecord, read_records
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts

EXAMPLES = REPO / "examples" / "records.jsonl"
OVERLAY = REPO / "examples" / "branch-overlay"
BRANCHES = ("SH-PD-001", "SH-PD-002", "SH-JA-003")


def grouped_records() -> st.SearchStrategy[dict[str, Any]]:
    """Model-valid records that share branches and employees, so aggregate groups have many members."""
    year = records_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 31))
    return st.tuples(year, st.sampled_from(BRANCHES), st.sampled_from(("E1", "E2"))).map(
        lambda parts: {**parts[0], "branch_id": parts[1], "employee": {"id": parts[2], "role": "teller"}}
    )


def one_pass(policy: svcpolicy.Policy, records: list[dict[str, Any]]) -> list[Finding | InvalidRecord]:
    return list(policy.iter_findings(records, as_of=AS_OF))


def split_and_merged(
    policy: svcpolicy.Policy, records: list[dict[str, Any]], cuts: list[int]
) -> list[Finding | InvalidRecord]:
    """Judge each part with its own aggregate runs, then merge the parts' groups in order and judge them."""
    raws = [RawRecord(Locator("<input>", n), record) for n, record in enumerate(records, start=1)]
    bounds = [0, *sorted(cuts), len(raws)]
    merged = [AggregateRun(program) for program in policy.aggregates]
    items: list[Finding | InvalidRecord] = []
    for start, end in itertools.pairwise(bounds):
        runs = [AggregateRun(program) for program in policy.aggregates]
        items.extend(judge_stream(policy, raws[start:end], AS_OF, counts=Counts(), runs=runs))
        for run, part in zip(merged, runs, strict=True):
            run.merge(pickle.loads(pickle.dumps(part.tally())))  # noqa: S301 - our own bytes
    return [*items, *policy.group_findings(merged, AS_OF)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_split_of_any_record_stream_merged_gives_the_findings_of_one_pass(
    bundled: svcpolicy.Policy, data: st.DataObject
) -> None:
    # ids unique: split_and_merged starts each part afresh (repeats across parts: the tests further down)
    records = data.draw(st.lists(grouped_records(), min_size=1, max_size=12, unique_by=lambda r: r.get("id")))
    cuts = data.draw(st.lists(st.integers(0, len(records)), max_size=4))
    assert split_and_merged(bundled, records, cuts) == one_pass(bundled, records)


def test_a_policy_pickles_as_its_pack_content_and_is_rebuilt_once_per_process(bundled: svcpolicy.Policy) -> None:
    data = pickle.dumps(bundled)
    here = pickle.loads(data)  # noqa: S301 - our own pickle
    # this process already compiled the pack (this policy, or an equal one loaded earlier): no second compile
    assert here is pickle.loads(data)  # noqa: S301
    assert (here.ref, [r.id for r in here.rules]) == (bundled.ref, [r.id for r in bundled.rules])
    script = """
import pickle, sys
import svcpolicy
from svcpolicy.engine import portable
policy = pickle.loads(sys.stdin.buffer.read())
again = pickle.loads(pickle.dumps(policy))
print(type(policy).__name__, policy.id, len(policy.programs), again is policy, len(portable._BUILT))
"""
    out = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, check=True).stdout
    assert out.decode().split() == ["Policy", bundled.id, str(len(bundled.programs)), "True", "1"]


def test_a_pack_copied_elsewhere_is_rebuilt_from_the_bytes_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    from svcpolicy.engine import portable
    from svcpolicy.engine.portable import PackSource, rebuild

    policy = svcpolicy.load_policy(OVERLAY)
    monkeypatch.setattr(portable, "_LOADED", {})  # as on another machine: nothing compiled here yet
    monkeypatch.setattr(portable, "_BUILT", {})
    source = PackSource.of(policy.definition)
    moved = PackSource(
        "/nowhere" + source.entry, tuple(("/nowhere" + path, data) for path, data in source.files), source.digest
    )
    copy = rebuild(svcpolicy.Policy, moved, policy.calendar)
    assert copy is not policy and copy.id == policy.id
    assert [r.id for r in copy.rules] == [r.id for r in policy.rules]


def write_stream(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def many_groups(count: int) -> Iterator[dict[str, Any]]:
    """Interactions over 12 branches and 3 months, some with fees and low satisfaction: groups of every rule."""
    for i in range(count):
        day = dt.datetime(2026, 9 + i % 3, 1 + i % 27, 9, tzinfo=CST)
        yield {
            "id": f"G-{i}",
            "kind": "interaction",
            "channel": "counter",
            "branch_id": f"SH-{i % 12:03d}",
            "employee": {"id": f"E{i % 7}", "role": "teller"},
            "started_at": day.isoformat(),
            "ended_at": (day + dt.timedelta(minutes=20)).isoformat(),
            "wait_minutes": (i * 7) % 45 + 0.1 * (i % 10),
            "satisfaction": {"score": 1 + i % 5},
            "business_type": "account_opening",
        }


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_jobs_2_gives_the_findings_of_one_process_on_the_examples_and_the_branch_overlay(
    bundled: svcpolicy.Policy, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "start_method", lambda: start)
    for policy in (bundled, svcpolicy.load_policy(OVERLAY)):
        single = policy.iter_findings(EXAMPLES, as_of=AS_OF, keep_context=True)
        items = list(single)
        parallel = policy.iter_findings(EXAMPLES, as_of=AS_OF, keep_context=True, jobs=2)
        assert list(parallel) == items
        assert (parallel.counts, parallel.records) == (single.counts, single.records)


def test_workers_are_forked_only_while_the_caller_runs_no_other_thread() -> None:
    code = "from svcpolicy.engines.parallel import runner; print(runner.start_method())"
    alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert alone == ("fork" if sys.platform == "linux" else "spawn")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert runner.start_method() == "spawn"  # a forked child would inherit locks that thread may hold
    finally:
        release.set()
        other.join()


def test_jobs_2_splits_large_files_by_lines_and_keeps_lines_groups_and_counts(
    bundled: svcpolicy.Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "MIN_PART_BYTES", 4096)  # the driver plans the parts: small files split too
    stream = write_stream(tmp_path / "many.jsonl", list(many_groups(400)))
    (tmp_path / "bad.jsonl").write_text('{"id": "x"\n')
    inline = [{**record, "id": f"inline-{record['id']}"} for record in many_groups(3)]  # ids unique in the run
    inputs: list[Any] = [stream, tmp_path / "bad.jsonl", tmp_path / "missing.jsonl", *inline]
    assert len(plan.split_file(stream, 2, "utf-8")) > 2
    single = svcpolicy.load_policy().iter_findings(inputs, as_of=AS_OF, on_input_error="report")
    items = list(single)
    parallel = bundled.iter_findings(inputs, as_of=AS_OF, jobs=2, on_input_error="report")
    assert list(parallel) == items
    assert parallel.counts == single.counts and parallel.input_failures == single.input_failures
    assert sum(1 for f in items if isinstance(f, Finding) and f.group is not None) > 10


def test_a_csv_read_in_parts_gives_the_records_and_lines_of_the_whole_file(tmp_path: Path) -> None:
    rows = [f'R{i},"line one\nline ""two"" of {i}",SH-{i % 3}\n' for i in range(3000)]
    csv = tmp_path / "records.csv"
    csv.write_text("id,stated_need,branch_id\n" + "".join(rows))
    parts = plan._cut(csv, csv.stat().st_size, [len(rows) * 10 * k for k in range(1, 6)], quoted=True)
    assert len(parts) > 2
    whole = list(read_records(csv))
    pieces = [raw for part in parts for raw in read_records(csv, part=part)]
    assert pieces == whole


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_a_file_read_in_parts_numbers_its_lines_as_read_whole_whatever_its_line_endings(
    tmp_path: Path, ending: bytes
) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(ending.join(b'{"id": "R%d", "branch_id": "SH-1"}' % i for i in range(3000)) + ending)
    size = path.stat().st_size
    parts = plan._cut(path, size, [size * k // 6 for k in range(1, 6)], quoted=False)
    whole = list(read_records(path))
    assert [raw.locator.line for raw in whole] == list(range(1, 3001))
    assert [raw for part in parts for raw in read_records(path, part=part)] == whole
    assert len(parts) == (1 if ending == b"\r" else 6), "a file with lone CRs is read whole"


def test_the_cli_takes_jobs_from_the_flag_or_the_project(tmp_path: Path) -> None:
    base = [
        str(Path(sys.executable).with_name("svcpolicy")),
        "check",
        str(EXAMPLES),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
    ]
    one = subprocess.run([*base, "jsonl", "--no-config"], capture_output=True, text=True)
    (tmp_path / "pyproject.toml").write_text("[tool.svcpolicy]\njobs = 2\n")
    two = subprocess.run([*base, "jsonl", "--config", str(tmp_path / "pyproject.toml")], capture_output=True, text=True)
    assert one.returncode == two.returncode == 1
    assert two.stdout == one.stdout and one.stdout.count("\n") > 50


# -- Spark ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spark() -> Any:
    """One local[2] session for every Spark test (start-up is slow); under CI=true a missing JVM fails."""
    if shutil.which("java") is None or importlib.util.find_spec("pyspark") is None:
        if ON_CI:
            pytest.fail("the Spark tests need java (sh scripts/ensure-java) and pyspark (the dev extra)")
        pytest.skip("no java or pyspark here: sh scripts/ensure-java")
    from svcpolicy.spark import spark_session

    return spark_session("local[2]")


def test_spark_gives_the_findings_of_one_process_on_examples_overlay_and_many_groups(
    spark: Any, bundled: svcpolicy.Policy, tmp_path: Path
) -> None:
    from svcpolicy.spark import SparkRun

    stream = write_stream(tmp_path / "many.jsonl", list(many_groups(300)))
    for policy, files in ((bundled, [EXAMPLES, stream]), (svcpolicy.load_policy(OVERLAY), [EXAMPLES])):
        single = policy.iter_findings(files, as_of=AS_OF, keep_context=True)
        items = list(single)
        run = SparkRun(policy, files, spark, as_of=AS_OF, keep_context=True)
        assert list(run) == items
        assert (run.counts, run.records) == (single.counts, single.records)


def test_spark_evaluate_turns_a_dataframe_of_records_into_the_jsonl_findings(
    spark: Any, bundled: svcpolicy.Policy
) -> None:
    from svcpolicy.spark import FINDING_COLUMNS, evaluate, finding_row

    lines = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]
    records = [*map(json.loads, lines), *many_groups(200)]
    frame = spark.createDataFrame([(orjson.dumps(r).decode(),) for r in records], "json string")
    assert frame.rdd.getNumPartitions() == 2
    found = evaluate(frame, bundled, as_of=AS_OF, json_column="json")
    assert found.columns == [name for name, _ in FINDING_COLUMNS]
    assert [tuple(row) for row in found.collect()] == [finding_row(i) for i in one_pass(bundled, records)]
    nested = spark.createDataFrame(list(many_groups(200)))
    generated = list(many_groups(200))
    assert [tuple(r) for r in evaluate(nested, bundled, as_of=AS_OF).collect()] == [
        finding_row(i) for i in one_pass(bundled, generated)
    ]


# -- record ids repeated across the parts of a split stream ------------------------------------------------------


def repeating_ids(count: int) -> list[dict[str, Any]]:
    """``many_groups`` where every 7th record of the second half after its first takes the id of a record of the
    first half, a run of records across the middle share one id, and the id of an invalid record returns twice
    (its first valid namesake is the one that counts)."""
    records = list(many_groups(count))
    half = count // 2
    for i in range(half + 7, count, 7):
        records[i]["id"] = records[i - half]["id"]
    for i in range(half - 3, half + 3):
        records[i]["id"] = "G-edge"  # across the middle, where --jobs 2 and Spark cut
    records[0]["started_at"] = "not a time"
    records[half + 100]["id"] = records[half + 150]["id"] = records[0]["id"]
    return records


def duplicates(items: list[Finding | InvalidRecord]) -> list[InvalidRecord]:
    return [i for i in items if isinstance(i, InvalidRecord) and i.error.startswith("duplicate id")]


def test_an_id_repeated_across_the_parts_of_a_split_file_is_invalid_with_jobs_2_as_in_one_process(
    bundled: svcpolicy.Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "MIN_PART_BYTES", 4096)
    records = repeating_ids(400)
    stream = write_stream(tmp_path / "repeats.jsonl", records)
    inline = records[150:160]  # in-memory records after the file: every id already seen in it
    single = bundled.iter_findings([stream, *inline], as_of=AS_OF, keep_context=True)
    items = list(single)
    assert len(plan.split_file(stream, 2, "utf-8")) > 2
    parallel = bundled.iter_findings([stream, *inline], as_of=AS_OF, keep_context=True, jobs=2)
    assert list(parallel) == items
    assert (parallel.counts, parallel.records) == (single.counts, single.records)
    repeated = duplicates(items)
    assert len(repeated) == 28 + 5 + 1 + len(inline)
    assert f"duplicate id 'G-0', first seen at {stream}:301" in {r.error for r in repeated}
    assert single.counts.records == 410 and single.counts.invalid == 1 + len(repeated)


def test_an_id_repeated_across_spark_tasks_is_invalid_as_in_one_process(
    spark: Any, bundled: svcpolicy.Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from svcpolicy.spark import SparkRun, evaluate, finding_row

    monkeypatch.setattr(plan, "MIN_PART_BYTES", 4096)
    records = repeating_ids(400)
    stream = write_stream(tmp_path / "repeats.jsonl", records)
    single = bundled.iter_findings([stream], as_of=AS_OF)
    items = list(single)
    run = SparkRun(bundled, [stream], spark, as_of=AS_OF)
    assert list(run) == items and run.counts == single.counts
    expected = [finding_row(i) for i in one_pass(bundled, records)]
    assert len(duplicates(one_pass(bundled, records))) == 28 + 5 + 1
    for parts in (2, 5):
        rows = spark.sparkContext.parallelize([(orjson.dumps(r).decode(),) for r in records], parts)
        found = evaluate(spark.createDataFrame(rows, "json string"), bundled, as_of=AS_OF, json_column="json")
        assert [tuple(row) for row in found.collect()] == expected
