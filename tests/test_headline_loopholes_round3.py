"""Loopholes and false positives the third headline review found, closed.

Codes written in capitals, full-width or padded by a fixed-width export column (an operation kind, a product
category, a business type, a step name, an approval level) are the codes they spell (``code()``), so they
neither slip past a list nor stop matching the code they name. An operation the bank refused was not done. A
power of attorney the customer revoked empowers nobody from then on. A process step done twice is in order
when its first time was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import svcpolicy
from monitor_streams import ev
from svcpolicy.expr.functions import FUNCTIONS
from svcpolicy.expr.undetermined import Undetermined
from svcpolicy.monitor import Monitor
from svcpolicy.records.fast_decode import decode_fast
from svcpolicy.results.findings import Finding, Outcome

POLICY = svcpolicy.load_policy()
CST = dt.timezone(dt.timedelta(hours=8))
UNAUTHORIZED = "SVC-016-unauthorized-operation"
NOT_APPLIED = "SVC-016-operation-not-applied-for"
NO_ASSESSMENT = "SVC-011-no-valid-risk-assessment"
NO_WARNING = "PLAN-41-no-prior-risk-disclosure"
NOT_RECORDED = "REC-002-sale-not-recorded"
OVERDUE = "CMP-015-decision-overdue"
STEP_MISSING = "PROC-020-required-step-missing"
OUT_OF_ORDER = "PROC-020-steps-out-of-order"


def _findings(rule: str, record: dict[str, Any], engine: str = "native") -> list[Finding]:
    report = POLICY.evaluate([{"id": "R1", **record}], engine=engine)  # type: ignore[arg-type]
    return [f for f in report.findings if f.rule == rule]


def _outcomes(rule: str, record: dict[str, Any], engine: str = "native") -> list[Outcome]:
    return [f.outcome for f in _findings(rule, record, engine)]


# -- code(): the form codes are compared in ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("close_account", "close_account"),
        ("CLOSE_ACCOUNT", "close_account"),
        ("password_reset      ", "password_reset"),
        ("\u3000ｆｕｎｄ", "fund"),
        ("Head_Office_Senior_Management", "head_office_senior_management"),
        ("   ", ""),
    ],
)
def test_a_code_reads_as_the_code_it_spells(written: str, code: str) -> None:
    assert FUNCTIONS["code"].impl(None, written) == code


def test_a_code_not_given_stays_not_given() -> None:
    assert FUNCTIONS["code"].impl(None, None) is None


def test_a_code_that_is_not_text_is_undetermined_naming_what_it_got() -> None:
    with pytest.raises(Undetermined, match=r"code\(\) expects a string, got number 7"):
        FUNCTIONS["code"].impl(None, 7)


# -- SVC-016: kinds and scopes as codes ---------------------------------------------------------------------


def _operation(kind: str = "close_account", **more: Any) -> dict[str, Any]:
    operation = {"id": "OP-1", "kind": kind, "at": "2026-03-02T10:00:00+08:00", "applied_by": "C1001", **more}
    return {"customer": {"id": "C1001"}, "employee": {"id": "E2001"}, "operations": [operation]}


@pytest.mark.parametrize("kind", ["CLOSE_ACCOUNT", "close_account   ", "ｃｌｏｓｅ_ａｃｃｏｕｎｔ", "Transfer_Out"])
def test_an_operation_on_rights_without_authorisation_is_a_violation_however_its_kind_is_written(kind: str) -> None:
    record = _operation(kind, affects_customer_rights=False, authorization=None)
    assert _outcomes(UNAUTHORIZED, record) == [Outcome.VIOLATION]


def test_the_customers_authorisation_covers_the_operation_whatever_case_its_scope_is_written_in() -> None:
    authorization = {"by": "C1001", "method": "signature", "scope": "CLOSE_ACCOUNT", "at": "2026-03-02T09:58:00+08:00"}
    assert _outcomes(UNAUTHORIZED, _operation("close_account", authorization=authorization)) == []
    assert _outcomes(UNAUTHORIZED, _operation("Close_Account ", authorization=authorization)) == []


def _agent_operation(kind: str = "transfer_out", **mandate: Any) -> dict[str, Any]:
    power = {"reference": "POA-2026-017", "agent": "P3001", "scope": ["transfer_out"],
             "valid_from": "2026-02-20T00:00:00+08:00", "valid_until": None, **mandate}  # fmt: skip
    authorization = {"by": "P3001", "method": "signature", "scope": kind, "at": "2026-03-02T09:30:00+08:00",
                     "power_of_attorney": power}  # fmt: skip
    return _operation(kind, applied_by="P3001", authorization=authorization)


def test_a_power_of_attorney_listing_the_operation_in_capitals_covers_it() -> None:
    assert _outcomes(UNAUTHORIZED, _agent_operation(scope=["TRANSFER_OUT"])) == []


def test_a_power_of_attorney_whose_reference_is_only_spaces_is_not_on_record() -> None:
    assert _outcomes(UNAUTHORIZED, _agent_operation(reference="  \u3000 ")) == [Outcome.VIOLATION]


# -- SVC-016: a revoked power of attorney -------------------------------------------------------------------


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
@pytest.mark.parametrize(
    ("revoked_at", "expected"),
    [
        pytest.param("2026-03-02T09:45:00+08:00", [Outcome.VIOLATION], id="revoked after the agent signed"),
        pytest.param("2026-03-02T10:00:00+08:00", [Outcome.VIOLATION], id="revoked the minute of the operation"),
        pytest.param("2026-03-02T01:59:00+00:00", [Outcome.VIOLATION], id="revoked 09:59 Beijing time, in UTC"),
        pytest.param("2026-03-02T10:01:00+08:00", [], id="revoked a minute after the operation"),
        pytest.param(None, [], id="never revoked"),
    ],
)
def test_an_agent_may_not_act_under_a_power_of_attorney_once_the_customer_revoked_it(
    rule: str, revoked_at: str | None, expected: list[Outcome]
) -> None:
    assert _outcomes(rule, _agent_operation(revoked_at=revoked_at)) == expected


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_an_export_that_does_not_know_revocations_still_judges_the_agent(rule: str) -> None:
    assert _outcomes(rule, _agent_operation()) == []


def test_the_durable_engine_judges_a_revoked_power_of_attorney_as_the_native_engine_does() -> None:
    record = _agent_operation(revoked_at="2026-03-02T09:45:00+08:00")
    assert _outcomes(NOT_APPLIED, record, "durable") == _outcomes(NOT_APPLIED, record) == [Outcome.VIOLATION]


def test_the_revocation_decodes_on_the_fast_path() -> None:
    line = (
        b'{"id":"R1","operations":[{"id":"OP-1","authorization":{"by":"P3001","power_of_attorney":'
        b'{"reference":"POA-1","agent":"P3001","revoked_at":"2026-03-02T09:45:00+08:00"}}}]}'
    )
    record = decode_fast(line)
    assert record is not None
    authorization = record["operations"][0]["authorization"]
    assert authorization is not None and authorization["power_of_attorney"] is not None
    revoked_at = authorization["power_of_attorney"]["revoked_at"]
    assert revoked_at is not None and revoked_at.isoformat() == "2026-03-02T09:45:00+08:00"


# -- SVC-016: a refused operation was not done --------------------------------------------------------------


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
@pytest.mark.parametrize("engine", ["native", "durable"])
def test_a_transfer_the_bank_refused_to_someone_without_a_mandate_is_not_an_unauthorised_operation(
    rule: str, engine: str
) -> None:
    authorization = {"by": "P3009", "method": "verbal", "scope": "transfer_out", "at": "2026-03-02T09:58:00+08:00",
                     "power_of_attorney": None}  # fmt: skip
    record = _operation("transfer_out", applied_by="P3009", refused=True, refusal_reason="无有效授权委托书",
                        authorization=authorization)  # fmt: skip
    assert _outcomes(rule, record, engine) == []


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_the_same_transfer_done_is_still_a_violation(rule: str) -> None:
    authorization = {"by": "P3009", "method": "verbal", "scope": "transfer_out", "at": "2026-03-02T09:58:00+08:00",
                     "power_of_attorney": None}  # fmt: skip
    record = _operation("transfer_out", applied_by="P3009", refused=False, authorization=authorization)
    assert _outcomes(rule, record) == [Outcome.VIOLATION]


# -- suitability and risk warnings: product categories as codes ---------------------------------------------


def _cross_sale(category: str, business_type: str = "account_opening") -> dict[str, Any]:
    offer = {"product_id": "P-1", "product_category": category, "product_risk_level": 3, "sold": True,
             "sold_at": "2026-03-02T10:20:00+08:00", "risk_disclosed_at": None, "recorded": False}  # fmt: skip
    return {"business_type": business_type, "channel": "counter", "started_at": "2026-03-02T10:00:00+08:00",
            "customer": {"id": "C1", "risk_tolerance": None, "risk_assessed_at": None}, "offers": [offer]}  # fmt: skip


@pytest.mark.parametrize("rule", [NO_ASSESSMENT, NO_WARNING, NOT_RECORDED])
@pytest.mark.parametrize("category", ["FUND", " fund ", "ｆｕｎｄ", "Wealth_Management"])
def test_a_fund_cross_sold_at_account_opening_is_an_investment_however_its_category_is_written(
    rule: str, category: str
) -> None:
    assert _outcomes(rule, _cross_sale(category)) == [Outcome.VIOLATION]


@pytest.mark.parametrize("rule", [NO_ASSESSMENT, NO_WARNING])
@pytest.mark.parametrize("category", ["TIME_DEPOSIT", "Large_Deposit_Certificate "])
def test_a_deposit_sold_in_a_fund_sale_needs_no_assessment_or_warning_however_its_category_is_written(
    rule: str, category: str
) -> None:
    assert _outcomes(rule, _cross_sale(category, "fund_sale")) == []


@pytest.fixture(params=["python", "durable"])
def monitor(request: pytest.FixtureRequest) -> Iterator[Monitor]:
    with Monitor(POLICY, engine=request.param) as m:
        yield m


def test_the_monitor_reads_a_fund_written_in_capitals_as_the_record_rule_does(monitor: Monitor) -> None:
    sale = ev("s1", "product.sold", "03-02 10:10", customer_id="C1", product_id="P-1", product_category="FUND",
              business_type="account_opening")  # fmt: skip
    alerts = [*monitor.feed(sale), *monitor.flush()]
    outcomes = [a.item.outcome for a in alerts if isinstance(a.item, Finding) and a.item.rule.startswith("EVT-RISK")]
    assert outcomes == _outcomes(NO_WARNING, _cross_sale("FUND")) == [Outcome.VIOLATION]


# -- suitability: the assessment precedes the first push, not the start of the visit ---------------------------


def _recommendation(assessed_at: str, **offer: Any) -> dict[str, Any]:
    pushed = {"product_id": "FUND-88", "product_category": "fund", "product_risk_level": 3, "recommended": True,
              **offer}  # fmt: skip
    customer = {"id": "C1", "risk_tolerance": 3, "risk_assessed_at": assessed_at}
    return {"started_at": "2026-03-02T10:00:00+08:00", "customer": customer, "offers": [pushed]}


def test_assessing_the_customer_and_then_recommending_in_the_same_visit_is_compliant() -> None:
    record = _recommendation("2026-03-02T10:05:00+08:00", recommended_at="2026-03-02T10:15:00+08:00", sold=False)
    assert _outcomes(NO_ASSESSMENT, record) == []


def test_an_assessment_made_the_same_minute_as_the_recommendation_precedes_it() -> None:
    record = _recommendation("2026-03-02T10:15:00+08:00", recommended_at="2026-03-02T10:15:00+08:00", sold=False)
    assert _outcomes(NO_ASSESSMENT, record) == []


def test_recommending_before_assessing_is_a_violation_even_when_the_sale_comes_after_the_assessment() -> None:
    record = _recommendation("2026-03-02T10:10:00+08:00", recommended_at="2026-03-02T10:05:00+08:00", sold=True,
                             sold_at="2026-03-02T10:20:00+08:00")  # fmt: skip
    (finding,) = _findings(NO_ASSESSMENT, record)
    assert finding.outcome is Outcome.VIOLATION
    assert finding.message("en").endswith("the assessment came after the sale or recommendation")


def test_a_recommendation_after_an_assessment_during_the_visit_with_no_time_is_undetermined_naming_the_time() -> None:
    (finding,) = _findings(NO_ASSESSMENT, _recommendation("2026-03-02T10:05:00+08:00", sold=False))
    assert finding.outcome is Outcome.UNDETERMINED
    assert finding.missing == "offers[0].recommended_at"


def test_a_sale_is_judged_at_the_sale_when_the_export_does_not_say_when_it_was_recommended() -> None:
    record = _recommendation("2026-03-02T10:05:00+08:00", sold=True, sold_at="2026-03-02T10:20:00+08:00")
    assert _outcomes(NO_ASSESSMENT, record) == []
    late = _recommendation("2026-03-02T10:25:00+08:00", sold=True, sold_at="2026-03-02T10:20:00+08:00")
    assert _outcomes(NO_ASSESSMENT, late) == [Outcome.VIOLATION]


# -- fees: fee, currency and waiver codes as codes -----------------------------------------------------------

FEES = ["PSBC-C5-unpublished-fee", "PSBC-C5-fee-not-at-published-price", "FEE-2014-price-rise-before-notice-ends"]


@pytest.mark.parametrize("rule", FEES)
@pytest.mark.parametrize(
    "fee",
    [
        pytest.param({"code": "acct-mgmt", "amount": "10.00", "currency": "CNY"}, id="code in lower case"),
        pytest.param({"code": "ACCT-MGMT   ", "amount": "10.00", "currency": "CNY"}, id="code padded"),
        pytest.param({"code": "ACCT-MGMT", "amount": "10.00", "currency": "ｃｎｙ"}, id="currency full-width"),
        pytest.param(
            {"code": "ACCT-MGMT", "amount": "0", "currency": "CNY", "waiver": "only-account"},
            id="mandated waiver in lower case",
        ),
    ],
)
def test_a_published_fee_at_its_published_price_is_compliant_however_its_codes_are_written(
    rule: str, fee: dict[str, Any]
) -> None:
    assert _outcomes(rule, {"started_at": "2026-11-02T09:00:00+08:00", "fees": [fee]}) == []


def test_a_raised_fee_charged_during_its_notice_is_a_violation_whatever_case_its_code_is_written_in() -> None:
    fee = {"code": "sms-notify", "amount": "3.00", "currency": "CNY"}
    record = {"started_at": "2027-01-10T09:00:00+08:00", "fees": [fee]}
    assert _outcomes("FEE-2014-price-rise-before-notice-ends", record) == [Outcome.VIOLATION]
    assert _outcomes("PSBC-C5-unpublished-fee", record) == []


# -- SVC-018: promises the phrase lists missed, and warnings they took for promises --------------------------

PROMISE = "SVC-018-guaranteed-return-statement"


def _said(statement: str, category: str = "wealth_management") -> dict[str, Any]:
    offer = {"product_id": "WM-1", "product_category": category, "principal_guaranteed": None,
             "product_risk_level": 3, "statements": [statement]}  # fmt: skip
    return {"offers": [offer]}


@pytest.mark.parametrize(
    "statement",
    ["收益保底", "本金绝对安全", "资金绝对安全", "到期刚兑，放心", "亏了银行赔", "亏损由银行承担", "有银行兜底",
     "没有亏损风险", "肯定赚钱", "本金絕對安全", "capital guaranteed", "the principal is protected", "100% safe"],
)  # fmt: skip
def test_a_promise_in_words_the_earlier_lists_lacked_is_a_violation(statement: str) -> None:
    assert _outcomes(PROMISE, _said(statement)) == [Outcome.VIOLATION]


@pytest.mark.parametrize(
    "statement",
    ["资管新规后理财产品已打破刚性兑付，不保证收益", "理财打破刚兑", "本产品不是绝对安全的", "投资不是没有亏损风险",
     "本产品不包赔", "投资有风险，不能保证绝对安全", "Returns are not capital guaranteed"],
)  # fmt: skip
def test_a_risk_warning_about_those_words_stays_a_warning(statement: str) -> None:
    assert _outcomes(PROMISE, _said(statement)) == []


@pytest.mark.parametrize("category", ["TIME_DEPOSIT", "Large_Deposit_Certificate", "ｄｅｐｏｓｉｔ"])
def test_a_deposit_said_to_be_principal_guaranteed_is_told_the_truth_however_its_category_is_written(
    category: str,
) -> None:
    assert _outcomes(PROMISE, _said("保本保息", category)) == []


# -- complaints: the approver's level as a code; a withdrawal in time -----------------------------------------


SIXTY_DAYS = {"to_days": 60, "notified_at": "2026-06-28T10:00:00+08:00", "approved_by": "E9001",
              "approver_level": "HEAD_OFFICE_SENIOR_MANAGEMENT"}  # fmt: skip


def test_a_sixty_day_extension_approved_by_head_office_counts_whatever_case_the_level_is_written_in() -> None:
    extensions = [
        {"to_days": 30, "notified_at": "2026-06-10T10:00:00+08:00", "at": "2026-06-10T09:00:00+08:00"},
        {**SIXTY_DAYS, "at": "2026-06-28T09:00:00+08:00"},
    ]
    complaint = {"id": "CMP-5", "received_at": "2026-06-01T10:00:00+08:00", "logged_ref": "T5",
                 "complexity": "complex", "extensions": extensions, "decided_at": "2026-07-20T10:00:00+08:00",
                 "withdrawn_at": None}  # fmt: skip
    assert _outcomes(OVERDUE, {"complaint": complaint}) == []


def test_the_monitor_counts_the_head_office_approval_written_in_capitals_as_the_record_rule_does(
    monitor: Monitor,
) -> None:
    events = [
        ev("c1", "complaint.received", "06-01 10:00", complaint_id="A"),
        ev(
            "c2",
            "complaint.extended",
            "06-10 09:00",
            complaint_id="A",
            to_days=30,
            notified_at="2026-06-10T10:00:00+08:00",
            complexity="complex",
        ),
        ev("c3", "complaint.extended", "06-28 09:00", complaint_id="A", complexity="complex", **SIXTY_DAYS),
        ev("c4", "complaint.decided", "07-20 10:00", complaint_id="A"),
    ]
    alerts = [alert for event in events for alert in monitor.feed(event)] + list(monitor.flush())
    assert [a.item for a in alerts if isinstance(a.item, Finding) and a.item.rule.startswith("EVT-CMP-001")] == []


def test_a_complaint_withdrawn_in_time_was_handled_in_time_though_the_export_omits_the_decision() -> None:
    complaint = {"id": "CMP-7", "received_at": "2026-11-02T10:00:00+08:00", "logged_ref": "T7", "extensions": [],
                 "withdrawn_at": "2026-11-05T10:00:00+08:00"}  # fmt: skip
    report = POLICY.evaluate({"id": "R1", "complaint": complaint}, as_of=dt.datetime(2026, 11, 27, tzinfo=CST))
    assert [f for f in report.findings if f.rule == OVERDUE] == []


def test_a_complaint_withdrawn_late_with_the_decision_omitted_is_undetermined_naming_the_decision() -> None:
    complaint = {"id": "CMP-7", "received_at": "2026-11-02T10:00:00+08:00", "logged_ref": "T7", "extensions": [],
                 "withdrawn_at": "2026-11-20T10:00:00+08:00"}  # fmt: skip
    report = POLICY.evaluate({"id": "R1", "complaint": complaint}, as_of=dt.datetime(2026, 11, 27, tzinfo=CST))
    (finding,) = [f for f in report.findings if f.rule == OVERDUE]
    assert finding.outcome is Outcome.UNDETERMINED
    assert finding.missing == "complaint.decided_at"


# -- PROC-020: steps as codes, and a step done twice -----------------------------------------------------------


def _fund_sale(*steps: tuple[str, int], business_type: str = "fund_sale") -> dict[str, Any]:
    return {
        "business_type": business_type,
        "steps": [{"name": name, "at": f"2026-03-02T10:{minute:02d}:00+08:00"} for name, minute in steps],
    }


def test_a_risk_disclosure_read_again_after_signing_does_not_put_the_sale_out_of_order() -> None:
    record = _fund_sale(("identity_verification", 1), ("risk_assessment", 3), ("risk_disclosure", 5),
                        ("customer_signature", 8), ("risk_disclosure", 12))  # fmt: skip
    assert _outcomes(OUT_OF_ORDER, record) == []


def test_a_signature_before_the_first_risk_disclosure_is_out_of_order_even_if_repeated_after_it() -> None:
    record = _fund_sale(("identity_verification", 1), ("risk_assessment", 3), ("CUSTOMER_SIGNATURE", 4),
                        ("risk_disclosure", 5), ("customer_signature", 8))  # fmt: skip
    (finding,) = _findings(OUT_OF_ORDER, record)
    assert finding.outcome is Outcome.VIOLATION
    assert "step risk_disclosure (2026-03-02T10:05:00+08:00) came after a step that must follow it" in finding.message(
        "en"
    )


def test_a_fund_sale_written_in_capitals_is_held_to_the_fund_sale_steps() -> None:
    record = _fund_sale(("identity_verification", 1), ("customer_signature", 4), business_type="FUND_SALE")
    missing = [f.message("en").split("required step ")[1].split(" ")[0] for f in _findings(STEP_MISSING, record)]
    assert missing == ["risk_assessment", "risk_disclosure"]
    assert _outcomes(OUT_OF_ORDER, _fund_sale(("customer_signature", 2), ("risk_disclosure", 5),
                                              business_type="FUND_SALE")) == [Outcome.VIOLATION]  # fmt: skip


def test_a_required_step_written_in_capitals_is_the_step_performed() -> None:
    record = _fund_sale(("identity_verification", 1), ("Risk_Assessment", 3), ("RISK_DISCLOSURE ", 5),
                        ("customer_signature", 8))  # fmt: skip
    assert _outcomes(STEP_MISSING, record) == []
