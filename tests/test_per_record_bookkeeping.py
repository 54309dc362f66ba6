"""The bookkeeping a stream does for every record, on its fast paths: the same answers as the general ones.

A record's day in the pack's zone, the tallied month, the place of a new id and whether dated rules take the
record are each worked out once per record (or once per day), with a shortcut for the common case; these tests
pin each shortcut to the general answer at its edges.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from svcpolicy.engine.activity import ActivityByDay, window_activity
from svcpolicy.engine.parameters import record_date
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.expr import Undetermined
from svcpolicy.results.findings import Outcome
from svcpolicy.results.tallies import KeyTally

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    "started",
    [
        dt.datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8), "CST")),
        dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC),  # 00:30 on 1 December in Shanghai
        dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        dt.datetime(1, 1, 1, 0, 30, tzinfo=SHANGHAI),
    ],
)
def test_a_records_day_is_its_time_in_the_packs_zone_whether_or_not_it_was_written_in_that_zone(
    started: dt.datetime,
) -> None:
    assert record_date({"started_at": started}, SHANGHAI) == started.astimezone(SHANGHAI).date()


def test_a_record_without_an_aware_time_has_no_day() -> None:
    assert record_date({"started_at": dt.datetime(2026, 11, 30, 12, 0)}, SHANGHAI) is None
    assert record_date({}, SHANGHAI) is None


def test_records_are_tallied_under_the_month_of_their_own_wall_clock_and_blank_keys_as_none() -> None:
    tally = KeyTally()
    late_in_new_york = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    tally.add({"branch_id": "SH-1", "employee": {"id": "E1"}, "started_at": late_in_new_york}, Outcome.COMPLIANT)
    tally.add({"branch_id": "", "employee": {"id": 42}, "started_at": "2026-12-01T00:10:00+08:00"}, Outcome.VIOLATION)
    tally.add({"branch_id": "SH-1", "employee": None, "started_at": dt.datetime(2026, 12, 5)}, Outcome.VIOLATION)
    assert tally.by_key == {
        "branch_id": {"SH-1": Counter({"compliant": 1, "violation": 1}), None: Counter({"violation": 1})},
        "employee.id": {
            "E1": Counter({"compliant": 1}),
            "42": Counter({"violation": 1}),
            None: Counter({"violation": 1}),
        },
        "month": {"2026-11": Counter({"compliant": 1}), "2026-12": Counter({"violation": 2})},
    }


def test_ids_met_after_absorbing_another_streams_keep_their_own_places() -> None:
    seen, later = SeenIds(), SeenIds(keep_order=True)
    for line in range(1, 4):
        assert seen.first_seen(f"A{line}", "a.jsonl", line) is None
    later.first_seen("B1", "b.jsonl", 1)
    seen.absorb(later)
    assert seen.first_seen("A4", "a.jsonl", 4) is None  # the line after A3's, but a run of b.jsonl came between
    assert seen.first_seen("A5", "a.jsonl", 5) is None
    assert [seen.first_seen(i, "x", 1) for i in ("A3", "B1", "A4", "A5")] == [
        "a.jsonl:3",
        "b.jsonl:1",
        "a.jsonl:4",
        "a.jsonl:5",
    ]


def test_ids_on_lines_that_skip_or_change_file_keep_their_places_across_table_growths() -> None:
    seen = SeenIds(capacity=2)
    places = [("a.jsonl", 1), ("a.jsonl", 2), ("a.jsonl", 4), ("b.jsonl", 5), ("b.jsonl", 6), ("a.jsonl", 7)]
    places += [("c.jsonl", line) for line in range(1, 200)]
    for number, (source, line) in enumerate(places):
        assert seen.first_seen(f"R{number}", source, line) is None
    assert [seen.first_seen(f"R{number}", "x", 0) for number in range(len(places))] == [
        f"{source}:{line}" for source, line in places
    ]


class _Rule:
    def __init__(self, window: tuple[dt.date | None, dt.date | None]) -> None:
        self.window = window

    def activity_on(self, day: dt.date | None) -> bool | Undetermined:
        return window_activity("R-1", self.window, day)


def test_dated_rules_take_records_of_the_days_in_their_window_and_cannot_say_without_a_time() -> None:
    active_on = ActivityByDay(
        [_Rule((dt.date(2026, 3, 2), None)), _Rule((None, None)), _Rule((None, dt.date(2026, 3, 1)))]
    )
    assert active_on(dt.date(2026, 3, 1)) == (False, True, True)
    assert active_on(dt.date(2026, 3, 2)) == (True, True, False)
    assert active_on(dt.date(2026, 3, 2)) is active_on(dt.date(2026, 3, 2))  # made once for the day
    first, second = active_on(None), active_on(None)
    assert (
        isinstance(first[0], Undetermined) and first[0].reason == "rule R-1 is dated and the record has no started_at"
    )
    assert first[1] is True and first[0] is not second[0]
