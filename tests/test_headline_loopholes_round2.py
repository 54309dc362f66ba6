"""Loopholes the first headline review left open, closed.

SVC-018 reads what the seller said in normal form (``normalize()``), so spaces, invisible characters, full-width
letters and typographic punctuation no longer hide a promise, and lint refuses a phrase list written in another
form. SVC-016 checks that a power of attorney names the agent who acts under it, and that an authorisation for
one account does not cover an operation on another.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import svcpolicy
from conftest import REPO
from svcpolicy.authoring.lint import lint_pack
from svcpolicy.expr.functions import FUNCTIONS
from svcpolicy.expr.text_form import normal_form
from svcpolicy.expr.undetermined import Undetermined
from svcpolicy.records.fast_decode import decode_fast
from svcpolicy.results.findings import Finding, Outcome

POLICY = svcpolicy.load_policy()
BUNDLED = REPO / "rules" / "cn-bank-service"
PROMISE = "SVC-018-guaranteed-return-statement"
UNAUTHORIZED = "SVC-016-unauthorized-operation"
NOT_APPLIED = "SVC-016-operation-not-applied-for"


def _findings(rule: str, record: dict[str, Any], engine: str = "native") -> list[Finding]:
    report = POLICY.evaluate([{"id": "R1", **record}], engine=engine)  # type: ignore[arg-type]
    return [f for f in report.findings if f.rule == rule]


def _outcomes(rule: str, record: dict[str, Any]) -> list[Outcome]:
    return [f.outcome for f in _findings(rule, record)]


def _offer(*statements: str) -> dict[str, Any]:
    offer = {"product_id": "WM-1", "product_category": "wealth_management", "principal_guaranteed": False,
             "product_risk_level": 3, "statements": list(statements)}  # fmt: skip
    return {"offers": [offer]}


# -- SVC-018: the normal form ---------------------------------------------------------------------------

DISGUISED_PROMISES = {
    "保 本 with a space": "这款产品保 本",
    "保本 with a zero-width space": "保\u200b本",
    "保本 with a zero-width joiner": "保\u200d本",
    "保本 with a byte-order mark": "保\ufeff本",
    "保本 with a bidi override": "保\u202e本",
    "保本 with a soft hyphen": "保\u00ad本",
    "保本 with a variation selector": "保\ufe00本",
    "保本 and 保收益 with an ideographic space": "保本\u3000保收益",
    "稳赚 with a no-break space": "稳\u00a0赚",
    "稳赚 with a tab and a newline": "稳\t\n赚",
    "full-width GUARANTEED RETURNS": "ＧＵＡＲＡＮＴＥＥＤ ＲＥＴＵＲＮＳ",
    "guaranteed returns with a no-break space": "guaranteed\u00a0returns",
    "guaranteed returns with several spaces": "Guaranteed    Returns",
    "RISK-FREE in capitals": "RISK-FREE",
    "risk-free with a non-breaking hyphen": "risk\u2011free",
    "can't lose with a typographic apostrophe": "you can\u2019t lose",
    "full-width NO RISK after full-width digits": "年化４．５％，ＮＯ ＲＩＳＫ",
}


@pytest.mark.parametrize("statement", DISGUISED_PROMISES.values(), ids=DISGUISED_PROMISES.keys())
def test_a_guaranteed_return_promise_is_a_violation_however_it_is_spaced_or_typed(statement: str) -> None:
    assert _outcomes(PROMISE, _offer(statement)) == [Outcome.VIOLATION]


DISGUISED_WARNINGS = {
    "不 保 本 with spaces": "本产品不 保 本，投资须谨慎",
    "不保本 with a zero-width space": "不\u200b保本",
    "full-width NOT GUARANTEED": "Returns are ＮＯＴ\u3000ＧＵＡＲＡＮＴＥＥＤ",
}


@pytest.mark.parametrize("statement", DISGUISED_WARNINGS.values(), ids=DISGUISED_WARNINGS.keys())
def test_a_risk_warning_stays_a_warning_however_it_is_spaced_or_typed(statement: str) -> None:
    assert _outcomes(PROMISE, _offer(statement)) == []


def test_a_neutral_statement_in_english_with_spaces_is_still_neutral() -> None:
    assert _outcomes(PROMISE, _offer("Past  performance\u00a0does not predict returns", "年化 4.5% 以挂牌为准")) == []


def test_the_durable_engine_judges_a_disguised_promise_as_the_native_engine_does() -> None:
    record = _offer("保\u200b本", "ＧＵＡＲＡＮＴＥＥＤ ＲＥＴＵＲＮＳ")
    assert [f.outcome for f in _findings(PROMISE, record, "durable")] == [Outcome.VIOLATION]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("保 本", "保本"),
        ("保 \u200b 本", "保本"),
        ("保本\u3000保收益", "保本保收益"),
        ("年化 4.5% 保本", "年化 4.5% 保本"),
        ("ＧＵＡＲＡＮＴＥＥＤ  ＲＥＴＵＲＮＳ", "guaranteed returns"),
        ("no\u00a0\u00a0risk\r\n", "no risk "),
        ("本产品不保本，理财非存款", "本产品不保本,理财非存款"),
        ("can\u2018t \u2013 can\u02bct", "can't - can't"),
        ("Straße", "strasse"),
        ("ｶﾀｶﾅ の 説明", "カタカナの説明"),
    ],
)
def test_the_normal_form_of_a_text(text: str, form: str) -> None:
    assert normal_form(text) == form


def test_every_format_character_is_removed() -> None:
    formats = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert formats and [c for c in formats if normal_form(f"a{c}b") != "ab"] == []


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
def test_the_normal_form_of_a_normal_form_is_itself(text: str) -> None:
    assert normal_form(normal_form(text)) == normal_form(text)


def test_normalize_of_anything_but_text_is_undetermined_naming_what_it_got() -> None:
    with pytest.raises(Undetermined, match=r"normalize\(\) expects a string, got number 5"):
        FUNCTIONS["normalize"].impl(None, 5)


def test_the_bundled_phrase_lists_are_in_normal_form() -> None:
    assert [m for m in lint_pack(BUNDLED).messages if m.code == "phrase-not-normalized"] == []


def _overlay(write_pack: Any, body: str) -> Path:
    path: Path = write_pack(
        {"pack.yaml": f'pack: branch\ntitle: 支行细则\nversion: "1"\nextends: cn-bank-service\n{body}'}
    )
    return path


def test_lint_reports_a_phrase_an_overlay_adds_that_is_not_in_normal_form(write_pack: Any) -> None:
    manifest = yaml.safe_load((BUNDLED / "pack.yaml").read_text(encoding="utf-8"))
    phrases = manifest["parameters"]["guaranteed_return_phrases"]["value"]
    listed = ", ".join([*phrases, "Guaranteed Principal", "保 本金"])
    errors = lint_pack(_overlay(write_pack, f"tighten:\n  guaranteed_return_phrases: [{listed}]\n")).errors
    (message,) = [m for m in errors if m.code == "phrase-not-normalized"]
    assert "guaranteed_return_phrases" in message.message
    assert "'Guaranteed Principal' (normal form 'guaranteed principal')" in message.message
    assert "'保 本金' (normal form '保本金')" in message.message


RULE_WITH_PHRASES = """\
rules:
  - id: BR-001-promise
    title: Promise
    title_zh: 承诺
    description: A promise in the seller's words.
    description_zh: 销售人员的承诺。
    cite: [svc-rules/18]
    severity: high
    applies_to: [interaction]
    for_each: offer in offers
    when: any(contains_any({text}, ["No Risk", "保本"]) for s in offer.statements)
    message: {{zh: "承诺", en: "promise"}}
    examples:
      - {{name: promise, violates: {{offers: [{{product_id: P, statements: ["保本"]}}]}}}}
      - {{name: none, complies: {{offers: [{{product_id: P, statements: ["无"]}}]}}}}
"""


def test_lint_reports_a_literal_phrase_not_in_normal_form_searched_for_in_normalized_text(write_pack: Any) -> None:
    pack = _overlay(write_pack, RULE_WITH_PHRASES.format(text="normalize(s)"))
    messages = [m.message for m in lint_pack(pack).errors if m.code == "phrase-not-normalized"]
    assert messages == ["never found in a normalize()d text: 'No Risk' (normal form 'no risk')"]


def test_lint_leaves_phrases_searched_for_in_text_as_written_alone(write_pack: Any) -> None:
    pack = _overlay(write_pack, RULE_WITH_PHRASES.format(text="s"))
    assert [m for m in lint_pack(pack).messages if m.code == "phrase-not-normalized"] == []


# -- SVC-016: the agent a power of attorney names ----------------------------------------------------------


def _agent_operation(agent: object = "P3001", *, by: str = "P3001", **more: Any) -> dict[str, Any]:
    mandate: dict[str, Any] = {"reference": "POA-2026-017", "scope": ["close_account"],
                               "valid_from": "2026-02-20T00:00:00+08:00", "valid_until": None}  # fmt: skip
    if agent is not ...:
        mandate["agent"] = agent
    authorization = {"by": by, "method": "signature", "scope": "close_account", "at": "2026-03-02T09:58:00+08:00",
                     "power_of_attorney": mandate}  # fmt: skip
    operation = {"id": "OP-1", "kind": "close_account", "at": "2026-03-02T10:00:00+08:00", "applied_by": by,
                 "authorization": authorization, **more}  # fmt: skip
    return {"customer": {"id": "C1001"}, "employee": {"id": "E2001"}, "operations": [operation]}


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_the_agent_the_power_of_attorney_names_may_act_under_it(rule: str) -> None:
    assert _outcomes(rule, _agent_operation("P3001")) == []


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_anyone_else_acting_under_the_power_of_attorney_is_a_violation(rule: str) -> None:
    assert _outcomes(rule, _agent_operation("P3002")) == [Outcome.VIOLATION]


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_a_power_of_attorney_naming_no_agent_empowers_nobody(rule: str) -> None:
    assert _outcomes(rule, _agent_operation(None)) == [Outcome.VIOLATION]


@pytest.mark.parametrize("rule", [UNAUTHORIZED, NOT_APPLIED])
def test_a_power_of_attorney_whose_agent_the_export_omits_leaves_the_agent_undetermined(rule: str) -> None:
    (finding,) = _findings(rule, _agent_operation(...))
    assert finding.outcome is Outcome.UNDETERMINED
    assert finding.missing == "operations[0].authorization.power_of_attorney.agent"


def test_an_expired_power_of_attorney_is_a_violation_whether_or_not_the_export_names_its_agent() -> None:
    expired = _agent_operation(...)
    expired["operations"][0]["authorization"]["power_of_attorney"]["valid_until"] = "2026-02-28T00:00:00+08:00"
    assert _outcomes(UNAUTHORIZED, expired) == [Outcome.VIOLATION]


def test_the_customers_own_authorisation_needs_no_agent() -> None:
    own = _agent_operation(..., by="C1001")
    own["operations"][0]["authorization"]["power_of_attorney"] = None
    assert _outcomes(UNAUTHORIZED, own) == []


# -- SVC-016: the account an authorisation is for ----------------------------------------------------------


def _transfer(authorised_account: object = ..., account: object = ...) -> dict[str, Any]:
    authorization: dict[str, Any] = {"by": "C1001", "method": "signature", "scope": "transfer_out",
                                     "at": "2026-03-02T09:58:00+08:00"}  # fmt: skip
    operation: dict[str, Any] = {"id": "OP-1", "kind": "transfer_out", "at": "2026-03-02T10:00:00+08:00",
                                 "authorization": authorization}  # fmt: skip
    if authorised_account is not ...:
        authorization["account_id"] = authorised_account
    if account is not ...:
        operation["account_id"] = account
    return {"customer": {"id": "C1001"}, "operations": [operation]}


def test_an_authorisation_for_another_account_does_not_authorise_the_operation() -> None:
    (finding,) = _findings(UNAUTHORIZED, _transfer("6222-0002", "6222-0001"))
    assert finding.outcome is Outcome.VIOLATION
    assert finding.message("en").endswith("the authorisation was for another account")
    assert finding.message("zh").endswith("授权针对的是另一账户")


@pytest.mark.parametrize(
    ("authorised_account", "account"),
    [
        pytest.param("6222-0001", "6222-0001", id="the operation's own account"),
        pytest.param(..., "6222-0001", id="no account named (an older export)"),
        pytest.param(None, "6222-0001", id="the account named as null"),
        pytest.param("6222-0001", None, id="an operation on no account"),
    ],
)
def test_an_authorisation_covers_the_operation_unless_it_names_another_account(
    authorised_account: object, account: object
) -> None:
    assert _outcomes(UNAUTHORIZED, _transfer(authorised_account, account)) == []


def test_an_authorisation_for_one_account_with_the_operations_account_omitted_is_undetermined() -> None:
    (finding,) = _findings(UNAUTHORIZED, _transfer("6222-0002"))
    assert finding.outcome is Outcome.UNDETERMINED
    assert finding.missing == "operations[0].account_id"


def test_the_new_fields_decode_on_the_fast_path_as_written() -> None:
    line = (
        b'{"id":"R1","operations":[{"id":"OP-1","authorization":{"by":"P3001","account_id":"6222-0001",'
        b'"power_of_attorney":{"reference":"POA-1","agent":"P3001"}}}]}'
    )
    record = decode_fast(line)
    assert record is not None
    authorization = record["operations"][0]["authorization"]
    assert authorization is not None
    assert authorization["account_id"] == "6222-0001"
    assert authorization["power_of_attorney"] is not None
    assert authorization["power_of_attorney"]["agent"] == "P3001"
