"""Complaint periods that run into a year without a known holiday schedule: judged from the deadline's bounds.

The last day is no earlier than start + N days and no later than that plus the longest possible run of rest
days (calendar.deadline_bounds). The monitor is silent while the earliest last day runs, reports the case
undetermined once when it ends, and reports the violation if the case is still open when the latest ends.
The years are derived from the installed python-holidays, so a newer package moves the tests with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import svcpolicy
from svcpolicy.calendar import LONGEST_REST_RUN
from svcpolicy.monitor import Alert, DueSoon, Monitor
from svcpolicy.results.findings import Finding, Outcome

CMP = "EVT-CMP-001-decided-within-period"
CST = dt.timezone(dt.timedelta(hours=8))
POLICY = svcpolicy.load_policy()
UNKNOWN = POLICY.calendar.known_years[1] + 1
FAR = 2099  # no package will know it: every day of such a period is unknown
EARLIEST = dt.date(UNKNOWN, 1, 4)  # day 15 after a receipt on December 20 of the last known year
LATEST = EARLIEST + dt.timedelta(days=LONGEST_REST_RUN)


def moment(day: dt.date, hour: int = 10, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), CST).isoformat()


def received(complaint: str = "A", day: dt.date = dt.date(UNKNOWN - 1, 12, 20)) -> dict[str, Any]:
    return {"id": f"r-{complaint}", "type": "complaint.received", "at": moment(day), "complaint_id": complaint}


def decided(day: dt.date, complaint: str = "A", hour: int = 10, minute: int = 0) -> dict[str, Any]:
    return {
        "id": f"d-{complaint}",
        "type": "complaint.decided",
        "at": moment(day, hour, minute),
        "complaint_id": complaint,
    }


def tick(day: dt.date) -> dict[str, Any]:
    return {"type": "clock", "at": moment(day, 0)}


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    with Monitor(POLICY, engine="python", lead_days=2) as m:
        yield m


def findings(alerts: list[Alert]) -> list[Finding]:
    return [a.item for a in alerts if isinstance(a.item, Finding) and a.item.rule == CMP]


def feed(monitor: Monitor, events: list[dict[str, Any]]) -> list[Alert]:
    return [a for e in events for a in monitor.feed(e)] + monitor.flush()


def test_a_complaint_decided_by_the_earliest_possible_last_day_is_in_time(monitor: Monitor) -> None:
    assert findings(feed(monitor, [received(), decided(EARLIEST, hour=23, minute=59)])) == []


def test_a_decision_after_the_earliest_possible_last_day_is_undetermined_once_not_guessed(monitor: Monitor) -> None:
    found = findings(feed(monitor, [received(), tick(EARLIEST + dt.timedelta(days=1)), decided(LATEST)]))
    assert [f.outcome for f in found] == [Outcome.UNDETERMINED]
    assert f"between {EARLIEST} and {LATEST}" in found[0].message("en")
    assert found[0].evidence["earliest"] == EARLIEST.isoformat()


def test_a_complaint_still_open_after_the_latest_possible_last_day_is_overdue_whatever_the_schedule(
    monitor: Monitor,
) -> None:
    found = findings(feed(monitor, [received(), tick(LATEST + dt.timedelta(days=1))]))
    assert [f.outcome for f in found] == [Outcome.UNDETERMINED, Outcome.VIOLATION]
    assert found[1].evidence["due"] == LATEST.isoformat()
    assert f"after the deadline {LATEST}" in found[1].message("en")


def test_a_period_wholly_in_a_far_unknown_year_is_judged_from_its_bounds_too(monitor: Monitor) -> None:
    start = dt.date(FAR, 3, 2)
    events = [
        received("early", start),
        received("open", start),
        decided(start + dt.timedelta(days=10), "early"),
        tick(start + dt.timedelta(days=15 + LONGEST_REST_RUN + 1)),
    ]
    found = findings(feed(monitor, events))
    assert [(f.record.id, f.outcome) for f in found] == [
        ("open", Outcome.UNDETERMINED),
        ("open", Outcome.VIOLATION),
    ]


def test_the_due_soon_warning_announces_the_earliest_possible_last_day(monitor: Monitor) -> None:
    alerts = feed(monitor, [received(), tick(EARLIEST - dt.timedelta(days=1))])
    warnings = [a.item for a in alerts if isinstance(a.item, DueSoon) and a.item.rule == CMP]
    assert [w.message("en").split(": ")[1].split(" ")[1] for w in warnings] == [EARLIEST.isoformat()]


def test_an_extension_that_only_the_unknown_schedule_can_time_leaves_the_complaint_undetermined(
    monitor: Monitor,
) -> None:
    extended = {
        "id": "x",
        "type": "complaint.extended",
        "at": moment(EARLIEST + dt.timedelta(days=1)),
        "complaint_id": "A",
        "to_days": 30,
        "notified_at": None,
        "complexity": "complex",
    }
    found = findings(feed(monitor, [received(), extended, tick(LATEST + dt.timedelta(days=40))]))
    assert [f.outcome for f in found] == [Outcome.UNDETERMINED]


def test_a_restarted_monitor_does_not_report_the_same_undetermined_period_twice() -> None:
    before = [received(), tick(EARLIEST + dt.timedelta(days=2))]
    after = [tick(LATEST + dt.timedelta(days=1))]
    with Monitor(POLICY, engine="python") as first:
        outcomes = [f.outcome for f in findings(feed(first, before))]
        snapshot = first.snapshot()
    with Monitor(POLICY, engine="python") as second:
        second.restore(snapshot)
        outcomes += [f.outcome for f in findings(feed(second, after))]
    assert outcomes == [Outcome.UNDETERMINED, Outcome.VIOLATION]
