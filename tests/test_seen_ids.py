"""The ids a stream has seen: exact answers past many table growths, in a few dozen bytes an id."""

from __future__ import annotations

import tracemalloc

from svcpolicy.engine.stream import SeenIds, id_digest


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


def test_a_hundred_thousand_ids_take_under_48_bytes_each() -> None:
    tracemalloc.start()
    try:
        seen = SeenIds()
        for i in range(100_000):
            seen.first_seen(f"INT-2026-{i:08d}", "records.jsonl", i + 1)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(seen) == 100_000 and held / 100_000 < 48


def test_a_later_stream_absorbed_adds_its_new_ids_and_returns_the_repeats_with_their_first_place() -> None:
    earlier = SeenIds(capacity=4)
    for i in range(3000):
        earlier.first_seen(f"R-{i}", "a.jsonl", i + 1)
    later = SeenIds()
    for i in range(2990, 6000):
        later.first_seen(f"R-{i}", "b.jsonl" if i % 2 else "c.jsonl", i)
    repeats = earlier.absorb(later)
    assert repeats == {id_digest(f"R-{i}"): ("a.jsonl", i + 1) for i in range(2990, 3000)}
    assert len(earlier) == 6000
    assert earlier.first_seen("R-5001", "d.jsonl", 1) == "b.jsonl:5001"
    assert earlier.first_seen("R-5000", "d.jsonl", 1) == "c.jsonl:5000"
    assert earlier.first_seen("R-6000", "d.jsonl", 1) is None
