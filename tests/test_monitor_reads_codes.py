"""The monitor reads operation kinds and authorisation scopes as codes, as SVC-016 reads them with code().

An authorisation for ``close_account`` covers an operation exported as ``CLOSE_ACCOUNT``, `` close_account ``
(padded by a fixed-width column) or full-width ``ｃｌｏｓｅ＿ａｃｃｏｕｎｔ``, and the other way round; the record rule
and EVT-AUTH-001 must give the same answer on the same facts, whichever way each system spells the code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import svcpolicy
from svcpolicy.results.findings import Finding, Outcome

CST = dt.timezone(dt.timedelta(hours=8))
POLICY = svcpolicy.load_policy()
OPERATED = dt.datetime(2026, 3, 2, 10, tzinfo=CST)
AUTHORISED = OPERATED - dt.timedelta(minutes=2)
SPELLINGS = ["close_account", "CLOSE_ACCOUNT", " close_account ", "Close_Account  ", "ｃｌｏｓｅ＿ａｃｃｏｕｎｔ"]


def record(scope: str | None, kind: str, flagged: bool) -> dict[str, Any]:
    authorization = None
    if scope is not None:
        authorization = {"by": "C1", "method": "signature", "scope": scope, "at": AUTHORISED.isoformat()}
    operation = {
        "id": "OP-1",
        "kind": kind,
        "affects_customer_rights": flagged,
        "at": OPERATED.isoformat(),
        "authorization": authorization,
    }
    return {"id": "R1", "customer": {"id": "C1"}, "employee": {"id": "E2001"}, "operations": [operation]}


def events(scope: str | None, kind: str, flagged: bool, revoked_as: str | None = None) -> list[dict[str, Any]]:
    told: list[dict[str, Any]] = []
    if scope is not None:
        told.append(
            {"type": "authorization.granted", "at": AUTHORISED.isoformat(), "customer_id": "C1", "scope": scope}
        )
    if revoked_as is not None:
        at = (AUTHORISED + dt.timedelta(minutes=1)).isoformat()
        told.append({"type": "authorization.revoked", "at": at, "customer_id": "C1", "scope": revoked_as})
    told.append(
        {
            "type": "operation.performed",
            "at": OPERATED.isoformat(),
            "customer_id": "C1",
            "kind": kind,
            "affects_customer_rights": flagged,
        }
    )
    return [{"id": f"e{i}", **event} for i, event in enumerate(told)]


def by_record(scope: str | None, kind: str, flagged: bool) -> Outcome:
    found = [
        f for f in POLICY.evaluate(record(scope, kind, flagged)).findings if f.rule == "SVC-016-unauthorized-operation"
    ]
    return found[0].outcome if found else Outcome.COMPLIANT


def by_monitor(told: list[dict[str, Any]], engine: str) -> Outcome:
    with svcpolicy.Monitor(POLICY, engine=engine) as monitor:  # type: ignore[arg-type]
        alerts = [alert for event in told for alert in monitor.feed(event)] + monitor.flush()
    found = [
        a.item
        for a in alerts
        if isinstance(a.item, Finding) and a.item.rule == "EVT-AUTH-001-authorisation-before-operation"
    ]
    return found[-1].outcome if found else Outcome.COMPLIANT


@pytest.mark.parametrize("engine", ["python", "durable"])
@pytest.mark.parametrize("scope", SPELLINGS)
@pytest.mark.parametrize("kind", SPELLINGS)
def test_an_authorisation_covers_the_operation_whichever_way_each_spells_the_code(
    scope: str, kind: str, engine: str
) -> None:
    assert by_record(scope, kind, True) is Outcome.COMPLIANT
    assert by_monitor(events(scope, kind, True), engine) is Outcome.COMPLIANT


@pytest.mark.parametrize("kind", SPELLINGS)
def test_a_listed_kind_in_any_spelling_needs_an_authorisation_even_when_the_export_flags_it_false(kind: str) -> None:
    assert by_record(None, kind, False) is Outcome.VIOLATION
    assert by_monitor(events(None, kind, False), "python") is Outcome.VIOLATION


@pytest.mark.parametrize("kind", ["transfer_out", "TRANSFER_OUT", " transfer_out "])
def test_an_authorisation_for_another_code_does_not_cover_the_operation_for_either(kind: str) -> None:
    assert by_record("CLOSE_ACCOUNT", kind, True) is Outcome.VIOLATION
    assert by_monitor(events("CLOSE_ACCOUNT", kind, True), "python") is Outcome.VIOLATION


@pytest.mark.parametrize("engine", ["python", "durable"])
@pytest.mark.parametrize("revoked_as", ["CLOSE_ACCOUNT", " close_account", "ｃｌｏｓｅ＿ａｃｃｏｕｎｔ"])
def test_a_revocation_spelling_the_scope_otherwise_still_ends_the_authorisation(revoked_as: str, engine: str) -> None:
    told = events("close_account", "close_account", True, revoked_as=revoked_as)
    assert by_monitor(told, engine) is Outcome.VIOLATION


def test_the_finding_shows_the_operation_kind_as_the_event_spelled_it() -> None:
    with svcpolicy.Monitor(POLICY, engine="python") as monitor:
        alerts = [alert for event in events(None, " CLOSE_ACCOUNT ", True) for alert in monitor.feed(event)]
        alerts += monitor.flush()
    (finding,) = [a.item for a in alerts if isinstance(a.item, Finding)]
    assert "Operation  CLOSE_ACCOUNT  affecting" in finding.message_en
