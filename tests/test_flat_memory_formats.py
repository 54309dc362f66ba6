"""Every report format but html is written in flat memory (issue 12): a finding is written as it comes, or
rendered into a bucket that spills to a temporary file, and the bytes are those of the finished report."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import tracemalloc
from typing import IO, Any

import pytest

from conftest import AS_OF, REPO
from svcpolicy.policy import load_policy
from svcpolicy.reporting import spill
from svcpolicy.reporting.registry import FORMATS
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.results.report import Report

EXAMPLES = REPO / "examples" / "records.jsonl"
STREAMED = [name for name, fmt in FORMATS.items() if not fmt.caps_findings]
SPILLING = ["text", "json", "junit", "csv", "markdown", "github", "gitlab"]
"""The formats that hold something back for the end: they group, sort, or list invalid records last."""


@pytest.fixture(scope="module")
def report() -> Report:
    """The example records' report, its invalid record listed three times so every section has several."""
    evaluated = load_policy().evaluate(EXAMPLES, as_of=AS_OF)
    assert evaluated.findings and evaluated.invalid
    return dataclasses.replace(evaluated, invalid=evaluated.invalid * 3)


@pytest.fixture
def spill_files(monkeypatch: pytest.MonkeyPatch) -> list[IO[bytes]]:
    """Every temporary file the spill buckets open from now on."""
    opened: list[IO[bytes]] = []
    temporary_file = tempfile.TemporaryFile

    def recording(**kwargs: Any) -> IO[bytes]:
        opened.append(temporary_file(**kwargs))
        return opened[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    return opened


def _written(report: Report, name: str, lang: str = "en") -> str:
    out = io.StringIO()
    FORMATS[name].write(report, out, lang)
    return out.getvalue()


def test_buckets_read_back_in_the_order_written_after_spilling() -> None:
    buckets: SpillBuckets[str] = SpillBuckets(chunk=10)
    pieces = [("b" if i % 3 else "a", f"第{i}条,") for i in range(100)]
    for key, text in pieces:
        buckets.add(key, text)
    assert list(buckets.items) == ["a", "b"]
    assert buckets.items["a"] == 34
    for key in ("a", "b"):
        assert "".join(buckets.read(key)) == "".join(text for k, text in pieces if k == key)
    assert list(buckets.read("never written")) == []
    buckets.close()


def test_buckets_that_stay_under_a_chunk_open_no_file(spill_files: list[IO[bytes]]) -> None:
    buckets: SpillBuckets[str] = SpillBuckets(chunk=1000)
    buckets.add("a", "short")
    assert list(buckets.read("a")) == ["short"] and not spill_files


def test_closing_the_buckets_removes_the_spill_file(spill_files: list[IO[bytes]]) -> None:
    buckets: SpillBuckets[str] = SpillBuckets(chunk=32)
    for i in range(10):
        buckets.add("a", f"item {i}\n")
    assert spill_files and not spill_files[0].closed
    buckets.close()
    assert spill_files[0].closed


@pytest.mark.parametrize("name", SPILLING)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_format_that_spills_writes_the_same_bytes_as_one_that_held_everything(
    report: Report, name: str, lang: str, spill_files: list[IO[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "CHUNK", 1 << 30)
    held = _written(report, name, lang)
    assert not spill_files
    monkeypatch.setattr(spill, "CHUNK", 32)
    spilled = _written(report, name, lang)
    assert spill_files and all(file.closed for file in spill_files)
    assert spilled == held


def test_json_lists_every_invalid_record_after_spilling_them(
    report: Report, spill_files: list[IO[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "CHUNK", 32)
    document = json.loads(_written(report, "json"))
    assert spill_files
    assert document["invalid"] == [item.to_dict() for item in report.invalid]
    assert len(document["findings"]) == len(report.findings)


def test_json_with_no_invalid_record_has_an_empty_list(report: Report) -> None:
    document = json.loads(_written(dataclasses.replace(report, invalid=[]), "json"))
    assert document["invalid"] == []


def _peak_memory(report: Report, name: str, findings: int) -> int:
    """The most memory (bytes, traced) a format's stream held while writing ``findings`` copies of a finding."""
    fresh = dataclasses.replace(report, findings=[], invalid=[])
    finding = report.findings[0]
    disposition = report.disposition(finding)
    opener = FORMATS[name].stream
    assert opener is not None
    with open(os.devnull, "w", encoding="utf-8") as sink:
        tracemalloc.start()
        try:
            stream = opener(fresh, sink, "zh")
            for _ in range(findings):
                stream.write(finding, disposition)
            stream.close()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


@pytest.mark.parametrize("name", STREAMED)
def test_ten_times_the_findings_take_no_more_memory(report: Report, name: str) -> None:
    """4,500 more findings held in any form would add a megabyte or more; a flat writer adds next to nothing."""
    few, many = _peak_memory(report, name, 500), _peak_memory(report, name, 5_000)
    assert many < few + (256 << 10), f"{name}: {few / 2**20:.2f} MiB for 500 findings, {many / 2**20:.2f} for 5,000"
