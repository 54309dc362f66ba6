"""The event monitor: sequence rules judged by event time, with the record engine's deadline arithmetic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import svcpolicy
from monitor_streams import ev, random_stream, shuffle_within, tick
from svcpolicy.monitor import Alert, DueSoon, LateEvent, Monitor
from svcpolicy.results.findings import Finding, Outcome

CMP = "EVT-CMP-001-decided-within-period"
REPLY = "EVT-CMP-002-decision-told-to-complainant"
AUTH = "EVT-AUTH-001-authorisation-before-operation"
SALE = "EVT-SALE-001-no-sale-after-decline"
RISK = "EVT-RISK-001-disclosure-before-sale"
DATA = "EVT-DATA-001-consent-before-disclosure"


@pytest.fixture(scope="module")
def policy() -> svcpolicy.Policy:
    return svcpolicy.load_policy()


@pytest.fixture
def monitor(policy: svcpolicy.Policy) -> Iterator[Monitor]:
    with Monitor(policy, engine="python") as m:
        yield m


def run(monitor: Monitor, events: list[Any]) -> list[Alert]:
    alerts = [a for e in events for a in monitor.feed(e)]
    return alerts + monitor.flush()


def violations(alerts: list[Alert], rule: str | None = None) -> list[Finding]:
    found = [a.item for a in alerts if isinstance(a.item, Finding) and a.item.outcome is Outcome.VIOLATION]
    return [f for f in found if rule is None or f.rule == rule]


def comparable(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [a.to_dict() for a in alerts]


# -- "X must follow Y within D": complaint deadlines ----------------------------------------------------------


def test_a_complaint_decided_on_its_last_day_is_in_time_and_one_day_later_is_not(monitor: Monitor) -> None:
    # received Sun 2026-02-01: day 15 is 02-16, in the Spring Festival, so the period ends on Tue 02-24
    alerts = run(
        monitor,
        [
            ev("r1", "complaint.received", "02-01 10:00", complaint_id="A"),
            ev("r2", "complaint.received", "02-01 11:00", complaint_id="B"),
            ev("d1", "complaint.decided", "02-24 23:59", complaint_id="A"),
            ev("p1", "complaint.replied", "02-24 23:59", complaint_id="A"),
            ev("d2", "complaint.decided", "02-25 00:00", complaint_id="B"),
        ],
    )
    missed = violations(alerts, CMP)
    assert [(f.record.id, f.evidence["due"], f.evidence["judged_on"]) for f in missed] == [
        ("B", "2026-02-24", "2026-02-25")
    ]
    assert missed[0].message("en") == (
        "Complaint B received 2026-02-01T11:00:00+08:00 had 15 days; still not decided on 2026-02-25, "
        "after the deadline 2026-02-24"
    )
    assert [c.label for c in missed[0].citations][-2:] == ["第二百零一条", "第二百零三条"]


def test_a_deadline_is_missed_only_when_a_later_event_or_tick_arrives(monitor: Monitor) -> None:
    assert run(monitor, [ev("r", "complaint.received", "03-02 10:00", complaint_id="A")]) == []
    assert violations(monitor.feed(tick("03-17 23:59"))) == []  # due Tue 03-17, not yet over
    assert [f.rule for f in violations(monitor.feed(tick("03-18 00:00")))] == [CMP, REPLY]
    assert monitor.open_cases == 0


@pytest.mark.parametrize(
    ("extension", "due"),
    [
        ({"to_days": 30, "notified_at": "2026-03-10T09:00:00+08:00"}, "2026-04-01"),
        ({"to_days": 30, "notified_at": None}, "2026-04-01"),  # the NFRA text asks no notice for the first
        ({"to_days": 30, "notified_at": None, "complexity": "simple"}, "2026-03-17"),  # simple: cannot be extended
        (
            {
                "to_days": 60,
                "notified_at": "2026-03-10T09:00:00+08:00",
                "approved_by": "E1",
                "approver_level": "head_office_senior_management",
            },
            "2026-05-06",  # day 60 is Fri 05-01, Labour Day; 05-02..05 are holidays, so Wed 05-06
        ),
        (
            {
                "to_days": 60,
                "notified_at": "2026-03-10T09:00:00+08:00",
                "approved_by": "E1",
                "approver_level": "branch_manager",  # not a senior level: no extension
            },
            "2026-03-17",
        ),
    ],
)
def test_extensions_count_for_complex_complaints_and_for_60_days_only_with_notice_and_senior_approval(
    monitor: Monitor, extension: dict[str, Any], due: str
) -> None:
    alerts = run(
        monitor,
        [
            ev("r", "complaint.received", "03-02 10:00", complaint_id="A"),
            ev("x", "complaint.extended", "03-10 09:00", complaint_id="A", **extension),
            tick("06-30 00:00"),
        ],
    )
    assert {f.evidence["due"] for f in violations(alerts, CMP)} == {due}


def test_the_monitor_and_the_record_rule_agree_on_the_deadline(monitor: Monitor, policy: svcpolicy.Policy) -> None:
    record = {
        "id": "R1",
        "started_at": "2026-09-16T11:00:00+08:00",
        "complaint": {
            "id": "A",
            "received_at": "2026-09-16T11:00:00+08:00",
            "logged_ref": "T",
            "extensions": [],
            "decided_at": None,
            "withdrawn_at": None,
        },
    }
    as_of = dt.datetime(2026, 12, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    record_finding = next(
        f for f in policy.evaluate(record, as_of=as_of).findings if f.rule == "CMP-015-decision-overdue"
    )
    alerts = run(monitor, [ev("r", "complaint.received", "09-16 11:00", complaint_id="A"), tick("12-01 00:00")])
    assert violations(alerts, CMP)[0].evidence["due"] == record_finding.evidence["due"]


def test_a_withdrawal_ends_the_period_and_a_late_decision_does_not_cancel_the_violation(monitor: Monitor) -> None:
    alerts = run(
        monitor,
        [
            ev("r1", "complaint.received", "03-02 10:00", complaint_id="A"),
            ev("w1", "complaint.withdrawn", "03-05 10:00", complaint_id="A"),
            ev("r2", "complaint.received", "03-02 10:00", complaint_id="B"),
            ev("d2", "complaint.decided", "03-20 10:00", complaint_id="B"),
        ],
    )
    assert [(f.rule, f.record.id) for f in violations(alerts)] == [(CMP, "B"), (REPLY, "B")]


def test_due_soon_warns_once_at_the_configured_lead(policy: svcpolicy.Policy) -> None:
    with Monitor(policy, engine="python", lead_days=2) as monitor:
        alerts = run(
            monitor,
            [
                ev("r", "complaint.received", "03-02 10:00", complaint_id="A"),
                tick("03-15 00:00"),  # due 03-17 ends 03-18 00:00: 2 days before is 03-16 00:00
                tick("03-16 00:00"),
                tick("03-17 12:00"),
            ],
        )
    warnings = [a.item for a in alerts if isinstance(a.item, DueSoon)]
    assert [(w.rule, w.evidence["judged_on"]) for w in warnings] == [(CMP, "2026-03-16"), (REPLY, "2026-03-16")]
    assert warnings[0].citations and warnings[0].to_dict()["outcome"] == "due-soon"


# -- "X must be preceded by Y" and "X must not follow Y" ----------------------------------------------------


def test_an_operation_needs_a_prior_unrevoked_authorisation_of_its_kind(monitor: Monitor) -> None:
    op = {"customer_id": "C1", "kind": "transfer", "affects_customer_rights": True}
    alerts = run(
        monitor,
        [
            ev("o1", "operation.performed", "03-02 09:00", **op),
            ev("g1", "authorization.granted", "03-02 10:00", customer_id="C1", scope="transfer"),
            ev("o2", "operation.performed", "03-02 11:00", **op),
            ev("o3", "operation.performed", "03-02 11:30", **{**op, "kind": "loss_report"}),
            ev("o4", "operation.performed", "03-02 11:40", **{**op, "affects_customer_rights": False, "kind": "x"}),
            ev("v1", "authorization.revoked", "03-02 12:00", customer_id="C1", scope="transfer"),
            ev("o5", "operation.performed", "03-02 13:00", **op),
        ],
    )
    assert [f.evidence["event"] for f in violations(alerts, AUTH)] == ["o1", "o3", "o5"]
    assert violations(alerts, AUTH)[0].citations[0].label == "第十六条"


def test_a_declined_product_is_not_sold_until_the_customer_asks_for_it(monitor: Monitor) -> None:
    product = {"customer_id": "C1", "product_id": "P1", "business_type": "deposit"}
    alerts = run(
        monitor,
        [
            ev("s0", "product.sold", "03-01 09:00", **product),
            ev("n1", "product.declined", "03-02 10:00", **product),
            ev("s1", "product.sold", "03-09 10:00", **product),
            ev("s2", "product.sold", "03-09 10:00", **{**product, "customer_id": "C2"}),
            ev("q1", "product.requested", "03-10 10:00", **product),
            ev("s3", "product.sold", "03-11 10:00", **product),
        ],
    )
    sales = violations(alerts, SALE)
    assert [(f.evidence["event"], f.evidence["opened_at"]) for f in sales] == [("s1", "2026-03-02T10:00:00+08:00")]


def test_investment_sales_need_a_prior_risk_warning_and_disclosures_a_prior_consent(monitor: Monitor) -> None:
    alerts = run(
        monitor,
        [
            ev("s1", "product.sold", "03-02 10:00", customer_id="C1", product_id="F1", business_type="fund_sale"),
            ev("s2", "product.sold", "03-02 10:00", customer_id="C1", product_id="D1", business_type="deposit"),
            ev("k1", "risk.disclosed", "03-02 11:00", customer_id="C1", product_id="F1"),
            ev("s3", "product.sold", "03-02 12:00", customer_id="C1", product_id="F1", business_type="fund_sale"),
            ev("x1", "data.disclosed", "03-02 10:00", customer_id="C1", recipient="Ins", third_party=True),
            ev(
                "x2",
                "data.disclosed",
                "03-02 10:00",
                customer_id="C1",
                recipient="Court",
                third_party=True,
                legal_basis="court order",
            ),
            ev("c1", "consent.granted", "03-02 11:00", customer_id="C1", recipient="Ins"),
            ev("x3", "data.disclosed", "03-02 12:00", customer_id="C1", recipient="Ins", third_party=True),
        ],
    )
    assert [f.evidence["event"] for f in violations(alerts, RISK)] == ["s1"]
    assert [f.evidence["event"] for f in violations(alerts, DATA)] == ["x1"]


def test_durable_rules_and_plain_python_give_the_same_findings(policy: svcpolicy.Policy) -> None:
    for seed in range(3):
        stream = random_stream(seed)
        assert {"consent.granted", "data.disclosed", "product.declined", "operation.performed"} <= {
            e["type"] for e in stream
        }, "the stream exercises every sequence rule"
        with Monitor(policy, engine="durable") as durable, Monitor(policy, engine="python") as python:
            found = comparable(run(durable, stream))
            assert found == comparable(run(python, stream))
        breached = {a["rule"] for a in found if a["outcome"] == "violation"}
        assert DATA in breached and RISK in breached, breached


# -- event time, order, duplicates ------------------------------------------------------------------------


def test_duplicates_are_ignored_and_counted(monitor: Monitor) -> None:
    op = ev("o1", "operation.performed", "03-02 09:00", customer_id="C1", kind="transfer", affects_customer_rights=True)
    alerts = run(monitor, [op, op, dict(op, at="2026-03-03T09:00:00+08:00")])
    assert len(violations(alerts)) == 1
    assert (monitor.counts.events, monitor.counts.duplicates) == (1, 2)


def test_an_event_older_than_the_allowance_is_reported_and_still_applied(policy: svcpolicy.Policy) -> None:
    with Monitor(policy, engine="python", allowance=dt.timedelta(hours=1)) as monitor:
        alerts = run(
            monitor,
            [
                ev("r", "complaint.received", "03-02 10:00", complaint_id="A"),
                ev("t", "consent.granted", "03-10 10:00", customer_id="C9", recipient="X"),
                ev("d", "complaint.decided", "03-05 10:00", complaint_id="A"),  # 5 days behind the watermark
                ev("p", "complaint.replied", "03-05 10:00", complaint_id="A"),
                tick("04-30 00:00"),
            ],
        )
    late = [a.item for a in alerts if isinstance(a.item, LateEvent)]
    assert [e.event for e in late] == ["d", "p"] and monitor.counts.late == 2
    assert violations(alerts) == []  # the late decision still closed the case


def test_events_shuffled_within_the_allowance_give_exactly_the_same_findings(policy: svcpolicy.Policy) -> None:
    allowance = dt.timedelta(hours=6)
    stream = random_stream(7, complaints=60)
    with Monitor(policy, engine="python", allowance=allowance) as ordered:
        expected = comparable(run(ordered, stream))
    assert any(a["outcome"] == "violation" for a in expected) and any(a["outcome"] == "due-soon" for a in expected)
    for seed in range(3):
        shuffled = shuffle_within(stream, allowance, seed)
        assert shuffled != stream
        with Monitor(policy, engine="python", allowance=allowance) as monitor:
            assert comparable(run(monitor, shuffled)) == expected
            assert monitor.counts.late == 0


def test_replaying_history_gives_the_live_findings_with_ticks_or_without(policy: svcpolicy.Policy) -> None:
    """Ticks only make a deadline known earlier: every finding is the same, and none depends on wall time."""
    stream = random_stream(3)
    without_ticks = [e for e in stream if e["type"] != "clock"] + [tick("12-31 00:00")]
    with Monitor(policy, engine="python", lead_days=0) as a, Monitor(policy, engine="python", lead_days=0) as b:
        live = [a.item.to_dict() for a in run(a, stream) if isinstance(a.item, Finding)]
        replay = [a.item.to_dict() for a in run(b, without_ticks) if isinstance(a.item, Finding)]
    assert sorted(f["fingerprint"] for f in live) == sorted(f["fingerprint"] for f in replay)
    assert {f["fingerprint"]: f["evidence"]["due"] for f in live if "due" in f["evidence"]} == {
        f["fingerprint"]: f["evidence"]["due"] for f in replay if "due" in f["evidence"]
    }


# -- state ------------------------------------------------------------------------------------------------


def test_a_snapshot_restored_into_a_new_monitor_continues_exactly(policy: svcpolicy.Policy) -> None:
    stream = random_stream(11)
    allowance = dt.timedelta(hours=2)
    with Monitor(policy, allowance=allowance) as whole:
        expected = comparable(run(whole, stream))
    half = len(stream) // 2
    with Monitor(policy, allowance=allowance) as first:
        before = [a for e in stream[:half] for a in first.feed(e)]
        snapshot = first.snapshot()
    with Monitor(policy, allowance=allowance) as second:
        second.restore(snapshot)
        after = run(second, stream[half:])
    assert comparable(before + after) == expected


def test_state_in_sqlite_survives_a_new_monitor_on_the_same_file(policy: svcpolicy.Policy, tmp_path: Path) -> None:
    stream = random_stream(5)
    with Monitor(policy, engine="python") as whole:
        expected = comparable(run(whole, stream))
    state = tmp_path / "state.db"
    third = len(stream) // 3
    with Monitor(policy, state=state) as first:
        before = [a for e in stream[:third] for a in first.feed(e)]
        first.commit()
        lost = [a for e in stream[third : 2 * third] for a in first.feed(e)]  # never committed
    assert lost
    with Monitor(policy, state=state) as second:
        after = run(second, stream[third:])
        second.commit()
    assert comparable(before + after) == expected


def test_an_invalid_event_is_reported_with_its_id_and_the_stream_goes_on(monitor: Monitor) -> None:
    alerts = run(monitor, [{"id": "bad", "type": "complaint.received", "at": "2026-03-02T10:00:00"}, "not json"])
    assert [a.to_dict()["outcome"] for a in alerts] == ["invalid", "invalid"]
    assert alerts[0].to_dict()["record"]["id"] == "bad" and "timezone" in alerts[0].to_dict()["error"]
    assert monitor.counts.invalid == 2
