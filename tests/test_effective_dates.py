"""Each record is judged by the rules and parameter values in force at its interaction time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import AS_OF, MINI_PACK

DATED = """\
parameters:
  max_risk_gap:
    values: {2020-01-01: 1, 2026-02-01: 0}
    bank_set: true
rules:
  - id: SUIT-012-risk-above-tolerance
    title: Product risk above the customer's tolerance
    cite: [svc-rules/16]
    severity: high
    effective_from: 2024-01-01
    for_each: offer in offers
    when: offer.sold == True and offer.product_risk_level > customer.risk_tolerance + params.max_risk_gap
    message: {zh: "风险不匹配", en: "risk mismatch"}
"""


@pytest.fixture
def dated(write_pack: Callable[..., Path]) -> svcpolicy.Policy:
    text = MINI_PACK[: MINI_PACK.index("\nparameters:") + 1] + DATED
    return svcpolicy.load_policy(write_pack({"pack.yaml": text}))


def sale(day: str, risk: int = 3, tolerance: int = 2, **extra: object) -> dict[str, object]:
    return {
        "id": f"S-{day}",
        "started_at": f"{day}T10:00:00+08:00",
        "customer": {"risk_tolerance": tolerance},
        "offers": [{"product_risk_level": risk, "sold": True}],
        **extra,
    }


def test_a_sale_before_the_stricter_value_took_effect_is_judged_by_the_old_value(dated: svcpolicy.Policy) -> None:
    assert dated.evaluate(sale("2026-01-15"), as_of=AS_OF).findings == []


def test_a_sale_after_it_took_effect_is_judged_by_the_new_value(dated: svcpolicy.Policy) -> None:
    (finding,) = dated.evaluate(sale("2026-02-01"), as_of=AS_OF).findings
    assert finding.evidence["params.max_risk_gap"] == 0
    assert finding.effective == ("2024-01-01", None)


def test_a_rule_not_yet_in_force_does_not_apply(dated: svcpolicy.Policy) -> None:
    assert dated.evaluate(sale("2023-06-01", risk=5), as_of=AS_OF).findings == []


def test_a_record_without_its_time_is_undetermined_for_a_dated_rule(dated: svcpolicy.Policy) -> None:
    record = sale("2026-03-01")
    del record["started_at"]
    (finding,) = dated.evaluate(record, as_of=AS_OF).findings
    assert finding.outcome is svcpolicy.Outcome.UNDETERMINED and finding.missing == "started_at"
