"""Sequence patterns with a `when` condition in the pack's expression language (issue 11).

EVT-AUTH-001 takes an operation as rights-affecting by the pack's list of operation kinds or the system's flag,
and EVT-RISK-001 takes a sale as an investment sale by the product's category (or, without one, the business
type) — the same conditions as the record rules SVC-016 and PLAN-41, checked here on named cases and on
generated histories told both as one record and as events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import MINI_PACK
from monitor_streams import ev
from svcpolicy.authoring.lint import lint_pack
from svcpolicy.cli.exits import EXIT_ERROR
from svcpolicy.cli.main import main as cli_main
from svcpolicy.errors import ExpressionError
from svcpolicy.monitor import Alert, Monitor
from svcpolicy.results.findings import Finding, Outcome

AUTH = "EVT-AUTH-001-authorisation-before-operation"
RISK = "EVT-RISK-001-disclosure-before-sale"
CST = dt.timezone(dt.timedelta(hours=8))
POLICY = svcpolicy.load_policy()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(params=["python", "durable"])
def monitor(request: pytest.FixtureRequest) -> Iterator[Monitor]:
    """Both engines: durable-rules answers the `preceded-by` checks, the patterns are matched before it."""
    with Monitor(POLICY, engine=request.param) as m:
        yield m


def outcomes(alerts: list[Alert], rule: str) -> list[Outcome]:
    return [a.item.outcome for a in alerts if isinstance(a.item, Finding) and a.item.rule == rule]


def run(monitor: Monitor, events: list[dict[str, Any]]) -> list[Alert]:
    return [a for e in events for a in monitor.feed(e)] + monitor.flush()


# -- named cases ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "flagged", "expected"),
    [
        pytest.param("close_account", False, [Outcome.VIOLATION], id="close_account flagged false is on the list"),
        pytest.param("close_account", True, [Outcome.VIOLATION], id="close_account flagged true"),
        pytest.param("balance_inquiry", True, [Outcome.VIOLATION], id="a kind off the list flagged true"),
        pytest.param("balance_inquiry", False, [], id="a kind off the list flagged false is not rights-affecting"),
    ],
)
def test_an_unauthorised_operation_is_rights_affecting_by_the_packs_list_or_the_flag(
    monitor: Monitor, kind: str, flagged: bool, expected: list[Outcome]
) -> None:
    op = ev("o1", "operation.performed", "03-02 10:00", customer_id="C1", kind=kind, affects_customer_rights=flagged)
    assert outcomes(run(monitor, [op]), AUTH) == expected


def test_a_close_account_flagged_false_with_the_customers_prior_authorisation_complies(monitor: Monitor) -> None:
    events = [
        ev("g1", "authorization.granted", "03-02 09:58", customer_id="C1", scope="close_account", by="C1"),
        ev("o1", "operation.performed", "03-02 10:00", customer_id="C1", kind="close_account",
           affects_customer_rights=False),
    ]  # fmt: skip
    assert outcomes(run(monitor, events), AUTH) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"product_category": "time_deposit", "business_type": "wealth_product_sale"},
            [],
            id="a time deposit (保本 by nature) needs no risk warning whatever the business type",
        ),
        pytest.param(
            {"product_category": "large_deposit_certificate", "business_type": None}, [], id="a 大额存单 neither"
        ),
        pytest.param(
            {"product_category": "wealth_management", "business_type": "account_opening"},
            [Outcome.VIOLATION],
            id="a wealth product cross-sold during account opening needs one",
        ),
        pytest.param(
            {"product_category": None, "business_type": "fund_sale"},
            [Outcome.VIOLATION],
            id="without a category the investment business type decides",
        ),
        pytest.param({"product_category": None, "business_type": "account_opening"}, [], id="neither says investment"),
    ],
)
def test_a_sale_without_a_prior_risk_warning_is_judged_by_the_products_category(
    monitor: Monitor, fields: dict[str, Any], expected: list[Outcome]
) -> None:
    sale = ev("s1", "product.sold", "03-02 10:10", customer_id="C1", product_id="P1", **fields)
    assert outcomes(run(monitor, [sale]), RISK) == expected


def test_an_investment_sale_after_its_risk_warning_complies(monitor: Monitor) -> None:
    events = [
        ev("w1", "risk.disclosed", "03-02 10:02", customer_id="C1", product_id="P1"),
        ev("s1", "product.sold", "03-02 10:10", customer_id="C1", product_id="P1", product_category="fund"),
    ]
    assert outcomes(run(monitor, events), RISK) == []


# -- a pack's own `when` ------------------------------------------------------------------------------------------

SEQUENCE = """\
sequences:
  - id: EVT-AUTH-001-authorisation-before-operation
    kind: preceded-by
    title: Authorisation before operation
    cite: [svc-rules/16]
    events: [authorization.granted, operation.performed]
    rule: operation.performed must be preceded by authorization.granted of its kind
    opens: {event: authorization.granted, key: [customer_id, scope]}
    checks: {event: operation.performed, key: [customer_id, kind], when: "WHEN"}
    message: {zh: "未经授权：{kind}", en: "Unauthorised {kind} for {customer_id}"}
"""


def _monitor_of(write_pack: Callable[..., Path], when: str) -> Monitor:
    root = write_pack(
        {
            "pack.yaml": MINI_PACK + "include: [monitor/*.yaml]\n",
            "monitor/seq.yaml": SEQUENCE.replace("WHEN", when),
        }
    )
    return Monitor(svcpolicy.load_policy(root), engine="python")


def test_a_when_condition_selects_the_events_a_pattern_takes(write_pack: Callable[..., Path]) -> None:
    with _monitor_of(write_pack, "kind == 'transfer' or account_id is None") as monitor:
        alerts = run(
            monitor,
            [
                ev("o1", "operation.performed", "03-02 10:00", customer_id="C1", kind="transfer",
                   affects_customer_rights=False, account_id="A1"),
                ev("o2", "operation.performed", "03-02 10:01", customer_id="C1", kind="query",
                   affects_customer_rights=False, account_id="A1"),
                ev("o3", "operation.performed", "03-02 10:02", customer_id="C1", kind="query",
                   affects_customer_rights=False),
            ],
        )  # fmt: skip
    assert [a.item.evidence["event"] for a in alerts if isinstance(a.item, Finding)] == ["o1", "o3"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("knd == 'transfer'", "operation.performed has no field 'knd'"),
        ("kind in params.no_such_list", "no_such_list"),
        ("kind ==", "seq.yaml"),
    ],
)
def test_a_when_condition_the_event_cannot_answer_is_a_pack_error_when_the_monitor_starts(
    write_pack: Callable[..., Path], when: str, expected: str
) -> None:
    with pytest.raises(ExpressionError, match=expected) as caught:
        _monitor_of(write_pack, when)
    assert "seq.yaml:" in str(caught.value)


# -- the record rules and the monitor agree -----------------------------------------------------------------------

START = dt.datetime(2026, 3, 2, 9, tzinfo=CST)


def record_outcome(record: dict[str, Any], rule: str) -> Outcome:
    findings = [f for f in POLICY.evaluate(record).findings if f.rule == rule]
    return findings[0].outcome if findings else Outcome.COMPLIANT


def monitor_outcome(events: list[dict[str, Any]], rule: str) -> Outcome:
    with Monitor(POLICY, engine="python") as monitor:
        found = outcomes(run(monitor, events), rule)
    return found[-1] if found else Outcome.COMPLIANT


@dataclass(frozen=True)
class OperationHistory:
    kind: str
    flagged: bool
    scope: str | None  # the customer's authorisation, if any, and what it covers
    authorised_after_minutes: int  # negative: before the operation


operation_histories = st.builds(
    OperationHistory,
    kind=st.sampled_from(["close_account", "transfer_out", "password_reset", "balance_inquiry", "print_statement"]),
    flagged=st.booleans(),
    scope=st.one_of(st.none(), st.sampled_from(["close_account", "transfer_out", "balance_inquiry"])),
    authorised_after_minutes=st.integers(-120, 120).filter(lambda m: m != 0),
)


def operation_record(history: OperationHistory) -> dict[str, Any]:
    authorised = START + dt.timedelta(minutes=history.authorised_after_minutes)
    return {
        "id": "R1",
        "customer": {"id": "C1"},
        "operations": [
            {
                "id": "OP-1",
                "kind": history.kind,
                "affects_customer_rights": history.flagged,
                "at": START.isoformat(),
                "authorization": None
                if history.scope is None
                else {"by": "C1", "method": "signature", "scope": history.scope, "at": authorised.isoformat()},
            }
        ],
    }


def operation_events(history: OperationHistory) -> list[dict[str, Any]]:
    events = [
        (START, {"type": "operation.performed", "customer_id": "C1", "kind": history.kind,
                 "affects_customer_rights": history.flagged}),
    ]  # fmt: skip
    if history.scope is not None:
        authorised = START + dt.timedelta(minutes=history.authorised_after_minutes)
        events.append((authorised, {"type": "authorization.granted", "customer_id": "C1", "scope": history.scope}))
    events.sort(key=lambda pair: pair[0])
    return [{"id": f"e{i}", "at": moment.isoformat(), **body} for i, (moment, body) in enumerate(events)]


@SETTINGS
@given(operation_histories)
def test_svc016_and_the_monitor_agree_on_which_operations_lack_the_customers_prior_authorisation(
    history: OperationHistory,
) -> None:
    by_record = record_outcome(operation_record(history), "SVC-016-unauthorized-operation")
    assert by_record == monitor_outcome(operation_events(history), AUTH)


@dataclass(frozen=True)
class SaleHistory:
    category: str | None  # None: the export does not give one
    business_type: str
    warned_after_minutes: int | None  # the risk warning, if any, relative to the sale


sale_histories = st.builds(
    SaleHistory,
    category=st.sampled_from([None, "fund", "wealth_management", "time_deposit", "large_deposit_certificate"]),
    business_type=st.sampled_from(["account_opening", "wealth_product_sale", "fund_sale", "deposit"]),
    warned_after_minutes=st.one_of(st.none(), st.integers(-60, 60).filter(lambda m: m != 0)),
)


def sale_record(history: SaleHistory) -> dict[str, Any]:
    warned = (
        None if history.warned_after_minutes is None else START + dt.timedelta(minutes=history.warned_after_minutes)
    )
    offer: dict[str, Any] = {
        "product_id": "P1",
        "sold": True,
        "sold_at": START.isoformat(),
        "risk_disclosed_at": None if warned is None else warned.isoformat(),
    }
    if history.category is not None:
        offer["product_category"] = history.category
    return {"id": "R1", "customer": {"id": "C1"}, "business_type": history.business_type, "offers": [offer]}


def sale_events(history: SaleHistory) -> list[dict[str, Any]]:
    events = [
        (START, {"type": "product.sold", "customer_id": "C1", "product_id": "P1",
                 "business_type": history.business_type, "product_category": history.category}),
    ]  # fmt: skip
    if history.warned_after_minutes is not None:
        warned = START + dt.timedelta(minutes=history.warned_after_minutes)
        events.append((warned, {"type": "risk.disclosed", "customer_id": "C1", "product_id": "P1"}))
    events.sort(key=lambda pair: pair[0])
    return [{"id": f"e{i}", "at": moment.isoformat(), **body} for i, (moment, body) in enumerate(events)]


@SETTINGS
@given(sale_histories)
def test_plan41_and_the_monitor_agree_on_which_sales_lacked_a_prior_risk_warning(history: SaleHistory) -> None:
    by_record = record_outcome(sale_record(history), "PLAN-41-no-prior-risk-disclosure")
    assert by_record == monitor_outcome(sale_events(history), RISK)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("knd == 'transfer'", "operation.performed has no field 'knd'"),
        ("kind in params.no_such_list", "no_such_list"),
        ("kind ==", "seq.yaml"),
    ],
)
def test_lint_and_check_reject_a_when_condition_before_any_monitor_starts(
    write_pack: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], when: str, expected: str
) -> None:
    root = write_pack(
        {"pack.yaml": MINI_PACK + "include: [monitor/*.yaml]\n", "monitor/seq.yaml": SEQUENCE.replace("WHEN", when)}
    )
    errors = [m for m in lint_pack(root).messages if m.level == "error"]
    assert errors and all(m.file.endswith("seq.yaml") and m.line == 9 for m in errors), errors
    assert any(expected in f"{m.file}: {m.message}" for m in errors), errors
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": "R1", "channel": "counter", "wait_minutes": 5}\n', encoding="utf-8")
    assert cli_main(["check", str(records), "--pack", str(root)]) == EXIT_ERROR
    assert "lint error" in capsys.readouterr().err


def test_lint_accepts_the_bundled_packs_sequence_conditions() -> None:
    assert [m for m in lint_pack(svcpolicy.bundled_pack_path()).messages if m.level == "error"] == []
