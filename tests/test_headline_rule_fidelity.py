"""Headline rules read against their articles: what a compliance officer would check them for.

The embedded examples pin each case; these tests add what examples cannot say: that every violation message
of these rules is complete (never a `?`), that the bank-extendable lists are pack data, and the wording of a
late decision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import svcpolicy
from svcpolicy.results.findings import Outcome

POLICY = svcpolicy.load_policy()
CST = dt.timezone(dt.timedelta(hours=8))
HEADLINE_RULES = [
    "SVC-016-unauthorized-operation",
    "SVC-016-operation-not-applied-for",
    "SVC-011-risk-above-tolerance",
    "SVC-011-no-valid-risk-assessment",
    "MR-011-sale-after-decline",
    "SVC-018-guaranteed-return-statement",
    "PLAN-41-no-prior-risk-disclosure",
    "REC-002-sale-not-recorded",
    "CMP-015-decision-overdue",
]


def _violating_examples() -> list[Any]:
    cases = []
    for rule in POLICY.rules:
        if rule.id in HEADLINE_RULES:
            for index, example in enumerate(rule.examples):
                if example.violates is not None:
                    cases.append(pytest.param(rule.id, example, id=f"{rule.id}[{index}] {example.name}"))
    return cases


@pytest.mark.parametrize(("rule_id", "example"), _violating_examples())
def test_every_violation_message_of_a_headline_rule_names_every_fact_it_states(rule_id: str, example: Any) -> None:
    record: dict[str, Any] = {"id": "R1", **example.violates}
    findings = [f for f in POLICY.evaluate(record, as_of=example.as_of).findings if f.rule == rule_id]
    assert findings and all(f.outcome is Outcome.VIOLATION for f in findings)
    for finding in findings:
        assert "?" not in finding.message("zh")
        assert "?" not in finding.message("en")


def _judge(rule_id: str, record: dict[str, Any], as_of: dt.datetime | None = None) -> list[Any]:
    payload: dict[str, Any] = {"id": "R1", **record}
    return [f for f in POLICY.evaluate(payload, as_of=as_of).findings if f.rule == rule_id]


def test_a_late_decision_is_reported_as_decided_after_the_deadline_not_as_still_open() -> None:
    complaint: dict[str, Any] = {
        "id": "CMP-1",
        "received_at": "2026-03-02T10:00:00+08:00",
        "logged_ref": "T1",
        "extensions": [],
        "decided_at": "2026-03-18T09:00:00+08:00",
        "withdrawn_at": None,
    }
    (finding,) = _judge("CMP-015-decision-overdue", {"complaint": complaint})
    assert finding.message("en").endswith("decided on 2026-03-18, after the deadline 2026-03-17")
    assert "处理决定作出于 2026-03-18，已超过截止日 2026-03-17" in finding.message("zh")


def test_an_open_complaint_is_reported_as_still_not_decided_on_the_judging_day() -> None:
    complaint: dict[str, Any] = {
        "id": "CMP-6",
        "received_at": "2026-11-02T10:00:00+08:00",
        "logged_ref": "T6",
        "extensions": [],
        "decided_at": None,
        "withdrawn_at": None,
    }
    (finding,) = _judge("CMP-015-decision-overdue", {"complaint": complaint}, dt.datetime(2026, 11, 27, tzinfo=CST))
    assert finding.message("en").endswith("still not decided on 2026-11-27, after the deadline 2026-11-17")


def test_a_bank_extends_the_banned_phrases_and_the_rights_affecting_operations_in_pack_data() -> None:
    params = POLICY.parameters.for_record({"started_at": dt.datetime(2026, 3, 2, tzinfo=CST)})
    assert {"稳赚不赔", "肯定不会亏", "包赚", "收益有保障"} <= set(params["guaranteed_return_phrases"])
    assert "保证下款" in params["unconditional_promise_phrases"]
    assert {"close_account", "transfer_out", "change_contact_phone", "password_reset", "limit_change"} <= set(
        params["rights_affecting_operation_kinds"]
    )
    definitions = {name: p for name, p in POLICY.definition.parameters.items()}
    for name in ("guaranteed_return_phrases", "unconditional_promise_phrases", "rights_affecting_operation_kinds"):
        assert definitions[name].tighter == "superset"  # a branch overlay may add entries, never drop one


def test_a_promise_hidden_behind_a_quoted_negation_is_still_a_promise() -> None:
    offer = {
        "product_id": "WM-1",
        "product_category": "wealth_management",
        "principal_guaranteed": False,
        "statements": ["合同上写的是不保本，但其实这款保本保收益，稳赚不赔"],
    }
    (finding,) = _judge("SVC-018-guaranteed-return-statement", {"offers": [offer]})
    assert finding.outcome is Outcome.VIOLATION
    offer["statements"] = ["本产品不保本，不保证收益"]
    assert _judge("SVC-018-guaranteed-return-statement", {"offers": [offer]}) == []
