"""The per-record shortcuts of the bookkeeping: tallies counted by raw values, ids placed without ``_put``."""

from __future__ import annotations

import datetime as dt

from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.results.findings import Outcome
from svcpolicy.results.tallies import KeyTally

CST = dt.timezone(dt.timedelta(hours=8))


def test_a_tally_of_more_combinations_than_it_keeps_pending_counts_each_record_once_per_key() -> None:
    tally = KeyTally()
    for i in range(3000):
        record = {
            "branch_id": f"B{i % 50}",
            "employee": {"id": f"E{i}"},
            "started_at": dt.datetime(2026, 1 + i % 12, 1, 23, 30, tzinfo=CST),
        }
        tally.add(record, Outcome.VIOLATION if i % 3 == 0 else Outcome.COMPLIANT)
    assert tally.checked("branch_id") == {f"B{b}": 60 for b in range(50)}
    assert tally.with_violations("branch_id")["B0"] == 20
    assert len(tally.checked("employee.id")) == 3000
    assert tally.checked("month") == {f"2026-{m:02d}": 250 for m in range(1, 13)}


def test_a_tally_reads_empty_and_numeric_key_values_as_text_and_a_missing_employee_as_none() -> None:
    tally = KeyTally()
    tally.add({"branch_id": "", "employee": {"id": 7}, "started_at": "2026-03-01T09:00:00+08:00"}, Outcome.COMPLIANT)
    tally.add({"branch_id": 12, "employee": None}, Outcome.UNDETERMINED)
    assert tally.checked("branch_id") == {None: 1, "12": 1}
    assert tally.checked("employee.id") == {"7": 1, None: 1}
    assert tally.checked("month") == {"2026-03": 1, None: 1}


def test_ids_of_two_interleaved_sources_and_a_gap_keep_their_own_first_places() -> None:
    seen = SeenIds(capacity=4)
    places = {}
    for i in range(200):
        source, line = ("a.jsonl", i + 1) if i % 7 else ("b.jsonl", i // 7 + 1)
        line += 5 if i > 100 else 0  # a gap of blank lines halfway
        assert seen.first_seen(f"R{i}", source, line) is None
        places[f"R{i}"] = f"{source}:{line}"
    assert all(seen.first_seen(record_id, "c.jsonl", 1) == place for record_id, place in places.items())
