"""A `narrow` field limits a preceded-by case to the values its opening events gave: an authorisation for one
account covers operations on that account, several add up, and one naming no account covers them all."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import svcpolicy
from svcpolicy.monitor.cases import MonitorEngine
from svcpolicy.pack.sequences import SequenceRule
from svcpolicy.results.findings import Finding, Outcome

POLICY = svcpolicy.load_policy()
RULE = "EVT-AUTH-001-authorisation-before-operation"


def granted(n: int, **fields: Any) -> dict[str, Any]:
    at = f"2026-03-02T09:{n:02d}:00+08:00"
    event = {"id": f"g{n}", "type": "authorization.granted", "at": at, "customer_id": "C1", "scope": "transfer_out"}
    return event | fields


def performed(n: int, account: str) -> dict[str, Any]:
    return {
        "id": f"o{n}",
        "type": "operation.performed",
        "at": f"2026-03-02T10:{n:02d}:00+08:00",
        "customer_id": "C1",
        "kind": "transfer_out",
        "affects_customer_rights": True,
        "account_id": account,
    }


def outcomes(events: list[dict[str, Any]], engine: MonitorEngine) -> dict[str, Outcome]:
    """The outcome for each operation event: compliant unless a finding names it."""
    with svcpolicy.Monitor(POLICY, engine=engine) as monitor:
        alerts = [alert for event in events for alert in monitor.feed(event)] + monitor.flush()
    found = {a.item.record.path: a.item.outcome for a in alerts if isinstance(a.item, Finding) and a.item.rule == RULE}
    operations = [e["id"] for e in events if e["type"] == "operation.performed"]
    return {name: found.get(f"event:{name}", Outcome.COMPLIANT) for name in operations}


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_authorisations_for_two_accounts_cover_both_and_no_third(engine: MonitorEngine) -> None:
    events = [granted(1, account_id="A"), granted(2, account_id="B"), performed(1, "A"), performed(2, "B")]
    events.append(performed(3, "C"))
    assert outcomes(events, engine) == {"o1": Outcome.COMPLIANT, "o2": Outcome.COMPLIANT, "o3": Outcome.VIOLATION}


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_an_authorisation_naming_no_account_widens_one_for_an_account_to_all(engine: MonitorEngine) -> None:
    events = [granted(1, account_id="A"), granted(2, account_id=None), performed(1, "C")]
    assert outcomes(events, engine) == {"o1": Outcome.COMPLIANT}


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_a_revocation_ends_the_authorisations_for_every_account_and_the_undecided_one(engine: MonitorEngine) -> None:
    revoked = {"id": "r1", "type": "authorization.revoked", "at": "2026-03-02T09:30:00+08:00", "customer_id": "C1"}
    events = [granted(1, account_id="A"), granted(2, by="P1"), revoked | {"scope": "transfer_out"}, performed(1, "A")]
    assert outcomes(events, engine) == {"o1": Outcome.VIOLATION}


def _auth_rule(**changes: Any) -> dict[str, Any]:
    (rule,) = [s for s in POLICY.definition.sequences if s.id == RULE]
    return rule.model_dump(exclude_none=True) | changes


def test_the_bundled_rule_narrows_both_its_opening_and_its_checked_events_by_account() -> None:
    rule = SequenceRule.model_validate(_auth_rule())
    assert rule.opens is not None and rule.checks is not None
    assert (rule.opens.narrow, rule.checks.narrow) == ("account_id", "account_id")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"checks": {"event": "operation.performed", "key": ["customer_id", "kind"]}}, id="opens only"),
        pytest.param(
            {"closes": [{"event": "authorization.revoked", "key": ["customer_id", "scope"], "narrow": "scope"}]},
            id="on a closing event",
        ),
    ],
)
def test_narrow_is_refused_unless_on_opens_and_checks_together(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="`narrow` is given on `opens` and `checks` together"):
        SequenceRule.model_validate(_auth_rule(**changes))


def test_narrow_names_a_field_of_its_event() -> None:
    opens = {"event": "authorization.granted", "key": ["customer_id", "scope"], "narrow": "branch_id"}
    with pytest.raises(ValidationError, match=r"authorization\.granted has no field 'branch_id'"):
        SequenceRule.model_validate(_auth_rule(opens=opens))
