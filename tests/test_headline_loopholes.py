"""Loopholes closed in the headline rules, where an embedded example cannot say it all.

A fund sold under a category code the pack does not list is still an investment sale, for the record rule and
the event monitor alike; a complaint withdrawn before the bank stamps a closing decision is judged on the
withdrawal, and the finding says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import svcpolicy
from monitor_streams import ev
from svcpolicy.monitor import Monitor
from svcpolicy.results.findings import Finding, Outcome

POLICY = svcpolicy.load_policy()
RISK_RECORD = "PLAN-41-no-prior-risk-disclosure"
RISK_EVENTS = "EVT-RISK-001-disclosure-before-sale"
OVERDUE = "CMP-015-decision-overdue"


@pytest.fixture(params=["python", "durable"])
def monitor(request: pytest.FixtureRequest) -> Iterator[Monitor]:
    with Monitor(POLICY, engine=request.param) as m:
        yield m


def _record_outcomes(rule: str, record: dict[str, Any]) -> list[Outcome]:
    payload: dict[str, Any] = {"id": "R1", **record}
    return [f.outcome for f in POLICY.evaluate(payload).findings if f.rule == rule]


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        pytest.param("qdii_fund", [Outcome.VIOLATION], id="an unlisted category code in a fund sale"),
        pytest.param("time_deposit", [], id="a deposit in a fund sale"),
    ],
)
def test_the_record_rule_and_the_monitor_agree_on_a_fund_sale_whatever_its_category_code(
    monitor: Monitor, category: str, expected: list[Outcome]
) -> None:
    offer = {"product_id": "P1", "product_category": category, "sold": True,
             "sold_at": "2026-03-02T10:10:00+08:00", "risk_disclosed_at": None}  # fmt: skip
    assert _record_outcomes(RISK_RECORD, {"business_type": "fund_sale", "offers": [offer]}) == expected
    sale = ev("s1", "product.sold", "03-02 10:10", customer_id="C1", product_id="P1", product_category=category,
              business_type="fund_sale")  # fmt: skip
    alerts = [*monitor.feed(sale), *monitor.flush()]
    assert [a.item.outcome for a in alerts if isinstance(a.item, Finding) and a.item.rule == RISK_EVENTS] == expected


def test_a_late_withdrawal_is_reported_on_its_day_even_when_a_decision_is_stamped_later() -> None:
    complaint = {"id": "CMP-7", "received_at": "2026-03-02T10:00:00+08:00", "logged_ref": "T7", "extensions": [],
                 "decided_at": "2026-04-20T10:00:00+08:00", "withdrawn_at": "2026-03-20T10:00:00+08:00"}  # fmt: skip
    (finding,) = [f for f in POLICY.evaluate({"id": "R1", "complaint": complaint}).findings if f.rule == OVERDUE]
    assert finding.outcome is Outcome.VIOLATION
    assert finding.message("en").endswith("withdrawn on 2026-03-20, after the deadline 2026-03-17")
    assert "撤诉于 2026-03-20，已超过截止日 2026-03-17" in finding.message("zh")
