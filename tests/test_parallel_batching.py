"""``--jobs`` over many small files (batched into shared work units) and over a file still being written."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import svcpolicy
from conftest import AS_OF, REPO
from svcpolicy.engines.parallel import FileBatch, FileUnit, RecordsUnit, plan, plan_units
from svcpolicy.errors import InputError
from svcpolicy.records import readers
from svcpolicy.records.readers import Locator, RawRecord
from svcpolicy.results.findings import Finding, InvalidRecord

EXAMPLE_LINES = (REPO / "examples" / "records.jsonl").read_bytes().splitlines(keepends=True)


def one_record_files(folder: Path) -> list[Path]:
    """Each example record in its own file, with an id of file 3 repeated in file 5 (the same batch) and in file
    40 (a later batch), a file that does not parse, a missing file and a folder among them."""
    folder.mkdir()
    paths = []
    for number, line in enumerate(EXAMPLE_LINES):
        path = folder / f"r{number:03d}.jsonl"
        path.write_bytes(line)
        paths.append(path)
    for repeat in (5, 40):
        record = json.loads(paths[repeat].read_bytes())
        record["id"] = json.loads(paths[3].read_bytes())["id"]
        paths[repeat].write_text(json.dumps(record) + "\n")
    (folder / "broken.json").write_text('[{"id": "x"')
    (folder / "sub").mkdir()
    return [*paths[:20], folder / "broken.json", folder / "gone.jsonl", folder / "sub", *paths[20:]]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "BATCH_FILES", 8)  # the driver plans: dozens of files make several batches


def test_small_files_travel_together_in_input_order_up_to_the_batch_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "BATCH_FILES", 3)
    monkeypatch.setattr(plan, "BATCH_BYTES", 1000)
    small = [tmp_path / f"s{i}.jsonl" for i in range(7)]
    for path in small:
        path.write_bytes(b'{"id": "a"}\n')
    large = tmp_path / "large.jsonl"
    large.write_bytes(b'{"id": "b"}\n' * 100)
    memory = RawRecord(Locator("<input>", 1), {"id": "c"})
    units = list(plan_units([*small[:4], large, small[4], memory, *small[5:]], 2, "utf-8"))
    size = small[0].stat().st_size
    assert units == [
        FileBatch(tuple(FileUnit(path, size=size) for path in small[:3])),
        FileBatch((FileUnit(small[3], size=size),)),
        FileUnit(large, size=large.stat().st_size),
        FileBatch((FileUnit(small[4], size=size),)),
        RecordsUnit((memory,)),
        FileBatch(tuple(FileUnit(path, size=size) for path in small[5:])),
    ]


def test_a_batch_closes_once_it_holds_batch_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "BATCH_BYTES", 30)
    paths = [tmp_path / f"s{i}.jsonl" for i in range(5)]
    for path in paths:
        path.write_bytes(b'{"id": "a"}\n')  # 12 bytes: three files reach 30
    units = list(plan_units(paths, 2, "utf-8"))
    assert [[file.path for file in unit.files] for unit in units if isinstance(unit, FileBatch)] == [
        paths[:3],
        paths[3:],
    ]


@pytest.mark.usefixtures("small_batches")
def test_jobs_2_over_many_small_files_gives_the_findings_counts_and_failures_of_one_process(
    bundled: svcpolicy.Policy, tmp_path: Path
) -> None:
    files = one_record_files(tmp_path / "daily")
    inline = [{"id": "inline-1", "kind": "interaction"}]
    inputs: list[Any] = [*files[:10], *inline, *files[10:]]
    assert len(list(plan_units(files, 2, "utf-8"))) > 8
    single = bundled.iter_findings(inputs, as_of=AS_OF, on_input_error="report", keep_context=True)
    items = list(single)
    parallel = bundled.iter_findings(inputs, as_of=AS_OF, jobs=2, on_input_error="report", keep_context=True)
    assert list(parallel) == items
    assert parallel.counts == single.counts and parallel.records == single.records
    assert parallel.input_failures == single.input_failures and len(single.input_failures) == 3
    duplicates = [item for item in items if isinstance(item, InvalidRecord) and "duplicate id" in item.error]
    assert [item.record.source for item in duplicates] == [str(files[5]), str(files[43])]


@pytest.mark.usefixtures("small_batches")
def test_a_file_that_cannot_be_read_raises_after_the_findings_of_the_files_before_it_as_in_one_process(
    bundled: svcpolicy.Policy, tmp_path: Path
) -> None:
    files = one_record_files(tmp_path / "daily")

    def until_raised(jobs: int) -> list[Finding | InvalidRecord]:
        seen: list[Finding | InvalidRecord] = []
        # the abandoned run (a reference cycle) and its pool are collected here, in this thread, not by a
        # collection one of the pool's own threads happens to start while it holds the pool's locks
        gc.disable()
        try:
            with pytest.raises(InputError, match=r"broken\.json"):
                for item in bundled.iter_findings(files, as_of=AS_OF, jobs=jobs):
                    seen.append(item)  # those before the error are the point
        finally:
            gc.collect()
            gc.enable()
        return seen

    single = until_raised(1)
    same_batch = {str(file) for file in files[16:20]}  # broken.json is the fifth file of the third batch of eight
    assert any(item.record.source in same_batch for item in single)
    assert until_raised(2) == single


@pytest.mark.usefixtures("small_batches")
def test_progress_under_jobs_2_rises_to_the_counts_of_the_run(bundled: svcpolicy.Policy, tmp_path: Path) -> None:
    files = one_record_files(tmp_path / "daily")
    reported: list[int] = []
    run = bundled.iter_findings(
        files, as_of=AS_OF, jobs=2, on_input_error="report", progress=lambda counts: reported.append(counts.records)
    )
    list(run)
    assert len(reported) > 3 and reported == sorted(reported) and reported[-1] == run.counts.records


def appending_reader(path: Path, more: bytes) -> Callable[[BinaryIO], Iterator[list[bytes | None]]]:
    """The line reader, with a writer that appends ``more`` to ``path`` after each of the first blocks a reader
    takes: the file grows while it is read, in whichever process reads it (and stops growing, so that a reader
    that follows it still ends)."""
    read_lines = readers._line_blocks

    def reader(stream: BinaryIO) -> Iterator[list[bytes | None]]:
        for block, lines in enumerate(read_lines(stream)):
            yield lines
            if block < 3:
                with path.open("ab") as writer:
                    writer.write(more)

    return reader


def measuring_then_appending(path: Path, more: bytes) -> Callable[[str | Path], int | None]:
    """What ``--jobs`` plans with, with a writer that appends ``more`` to ``path`` once its size is taken."""
    measure = plan._regular_size

    def measured(source: str | Path) -> int | None:
        size = measure(source)
        with path.open("ab") as writer:
            writer.write(more)
        return size

    return measured


@pytest.mark.parametrize(("jobs", "split"), [(1, False), (2, False), (2, True)], ids=["jobs1", "jobs2", "jobs2-parts"])
def test_a_file_appended_to_while_it_is_read_gives_the_records_it_held_when_the_run_reached_it(
    bundled: svcpolicy.Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, split: bool
) -> None:
    path = tmp_path / "today.jsonl"
    path.write_bytes(b"".join(EXAMPLE_LINES))
    before = bundled.iter_findings(path, as_of=AS_OF)
    expected = list(before)
    size = path.stat().st_size
    if split:
        monkeypatch.setattr(plan, "MIN_PART_BYTES", size // 5)  # the driver plans: a small file in parts
        monkeypatch.setattr(plan, "BATCH_BYTES", size // 5)
        assert len(plan.split_file(path, jobs, "utf-8")) > 2
    more = b'{"id": "appended"}\n'
    monkeypatch.setattr(readers, "_line_blocks", appending_reader(path, more))  # one process, forked workers
    monkeypatch.setattr(plan, "_regular_size", measuring_then_appending(path, more))  # --jobs, however started
    monkeypatch.setattr(readers, "_LINE_BLOCK", 1024)  # a block at a time: appended to before the end is read
    run = bundled.iter_findings(path, as_of=AS_OF, jobs=jobs)
    assert list(run) == expected and run.counts == before.counts
    assert path.stat().st_size > size
