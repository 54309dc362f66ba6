"""The ids a stream has seen: exact answers past many table growths, in a few dozen bytes an id."""

from __future__ import annotations

import tempfile
import tracemalloc

import pytest

from svcpolicy.engine import seen_ids
from svcpolicy.engine.seen_ids import SeenIds, id_digest


def test_an_id_seen_before_reports_its_first_file_and_line_and_a_new_one_none() -> None:
    seen = SeenIds(capacity=4)
    assert [seen.first_seen(f"R-{i}", "a.jsonl" if i % 2 else "b.jsonl", i + 1) for i in range(5000)] == [None] * 5000
    assert len(seen) == 5000
    assert seen.first_seen("R-3", "c.jsonl", 9) == "a.jsonl:4"
    assert seen.first_seen("R-4998", "c.jsonl", 9) == "b.jsonl:4999"
    assert seen.first_seen(7, "c.jsonl", 10) is None and seen.first_seen("7", "d.jsonl", 1) == "c.jsonl:10"


def test_ids_remembered_from_elsewhere_are_found_and_listed_with_their_place() -> None:
    seen = SeenIds()
    seen.remember(id_digest("X"), "earlier.jsonl", 12)
    seen.remember(id_digest("X"), "later.jsonl", 1)  # the first place stays
    assert seen.first_seen("X", "here.jsonl", 3) == "earlier.jsonl:12"
    assert seen.first_seen("Y", "here.jsonl", 4) is None
    assert sorted(seen.entries()) == sorted([(id_digest("X"), "earlier.jsonl", 12), (id_digest("Y"), "here.jsonl", 4)])


def test_a_hundred_thousand_ids_take_under_32_bytes_each_even_while_the_table_doubles() -> None:
    tracemalloc.start()
    try:
        seen = SeenIds()
        for i in range(100_000):
            seen.first_seen(f"INT-2026-{i:08d}", "records.jsonl", i + 1)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(seen) == 100_000 and held / 100_000 < 32 and peak / 100_000 < 36


@pytest.mark.parametrize("park_from", [1 << 4, 1 << 30], ids=["parked on disk", "copied in memory"])
def test_every_id_keeps_its_first_place_across_table_growths(park_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_ids, "PARK_FROM_SLOTS", park_from)
    seen = SeenIds(capacity=4)
    places = {f"R-{i}": ("a.jsonl" if i < 3000 else "b.jsonl", i + 1 + i // 7) for i in range(6000)}
    for record_id, (source, line) in places.items():
        assert seen.first_seen(record_id, source, line) is None
    for record_id, (source, line) in places.items():
        assert seen.first_seen(record_id, "c.jsonl", 1) == f"{source}:{line}"
    assert list(seen.entries()) == [(id_digest(i), *place) for i, place in places.items()]


def test_without_a_temporary_directory_the_table_doubles_in_memory_with_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_temporary_file() -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(seen_ids, "PARK_FROM_SLOTS", 1 << 4)
    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary_file)
    seen = SeenIds(capacity=4)
    for i in range(2000):
        assert seen.first_seen(f"R-{i}", "a.jsonl", i + 1) is None
    assert seen.first_seen("R-1234", "b.jsonl", 1) == "a.jsonl:1235" and len(seen) == 2000


def test_consecutive_lines_of_one_file_share_one_run_and_gaps_start_new_ones() -> None:
    seen = SeenIds()
    for i in range(1000):
        seen.first_seen(f"R-{i}", "a.jsonl", i + 1)
    seen.first_seen("after-a-blank-line", "a.jsonl", 1002)
    seen.first_seen("R-3", "a.jsonl", 1003)  # a repeat takes no place
    seen.first_seen("next", "a.jsonl", 1004)
    seen.first_seen("other-file", "b.jsonl", 1005)
    assert len(seen._run_starts) == 4
    assert seen.first_seen("after-a-blank-line", "x", 1) == "a.jsonl:1002"
    assert seen.first_seen("next", "x", 1) == "a.jsonl:1004"
    assert seen.first_seen("other-file", "x", 1) == "b.jsonl:1005"


def test_more_ids_than_32_bit_ordinals_hold_widen_the_ordinals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_ids, "_WIDE_FROM", 100)
    seen = SeenIds()
    for i in range(300):
        seen.first_seen(f"R-{i}", "a.jsonl", i + 1)
    assert seen._ordinals.typecode == "Q"
    assert seen.first_seen("R-299", "x", 1) == "a.jsonl:300" and seen.first_seen("R-5", "x", 1) == "a.jsonl:6"


@pytest.mark.parametrize("keep_order", [True, False], ids=["listed as met", "gathered from the table"])
def test_a_later_stream_absorbed_adds_its_new_ids_and_returns_the_repeats_with_their_first_place(
    keep_order: bool,
) -> None:
    earlier = SeenIds(capacity=4)
    for i in range(3000):
        earlier.first_seen(f"R-{i}", "a.jsonl", i + 1)
    later = SeenIds(keep_order=keep_order)
    for i in range(2990, 6000):
        later.first_seen(f"R-{i}", "b.jsonl" if i % 2 else "c.jsonl", i)
    repeats = earlier.absorb(later)
    assert repeats == {id_digest(f"R-{i}"): ("a.jsonl", i + 1) for i in range(2990, 3000)}
    assert len(earlier) == 6000
    assert earlier.first_seen("R-5001", "d.jsonl", 1) == "b.jsonl:5001"
    assert earlier.first_seen("R-5000", "d.jsonl", 1) == "c.jsonl:5000"
    assert earlier.first_seen("R-6000", "d.jsonl", 1) is None
