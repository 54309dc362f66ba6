"""Aggregate rules judge groups of records once the input ends, naming the group and the records behind it."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import svcpolicy
from conftest import AS_OF, MINI_PACK
from svcpolicy.engine import seen_ids

FEE_RULE = """\
rules:
  - id: FEE-SAME-CODE-SAME-PRICE
    kind: aggregate
    title: The same fee code is charged at the same amount within a month
    cite: [svc-rules/16]
    severity: medium
    for_each: fee in fees
    where: fee.currency == "CNY"
    group_by:
      code: fee.code
      month: month(started_at)
    aggregate:
      amounts: distinct(fee.amount)
      charged: count()
      total: sum(fee.amount)
    when: amounts > 1
    message:
      zh: "{month} 收费代码 {code} 出现 {amounts} 种不同金额（共 {charged} 笔）"
      en: "Fee {code} was charged at {amounts} different amounts in {month} ({charged} charges)"
    examples:
      - violates:
          - {started_at: "2026-11-02T09:00:00+08:00", fees: [{code: F1, amount: "10.00", currency: CNY}]}
          - {started_at: "2026-11-03T09:00:00+08:00", fees: [{code: F1, amount: "12.00", currency: CNY}]}
      - complies:
          - {started_at: "2026-11-02T09:00:00+08:00", fees: [{code: F1, amount: "10.00", currency: CNY}]}
          - {started_at: "2026-12-03T09:00:00+08:00", fees: [{code: F1, amount: "12.00", currency: CNY}]}
"""

SATISFACTION_RULE = """\
rules:
  - id: IND-BRANCH-SATISFACTION
    kind: aggregate
    title: A branch's monthly average satisfaction stays at or above the floor
    cite: [svc-rules/16]
    severity: low
    where: satisfaction.asked == True
    group_by: {branch: branch_id}
    aggregate:
      average: avg(satisfaction.score)
      asked: count()
    when: average < params.min_score
    message:
      zh: "网点 {branch} 平均满意度 {average}"
      en: "Branch {branch} averaged {average}"
"""


def with_rules(rules: str) -> str:
    return MINI_PACK[: MINI_PACK.index("\nrules:") + 1] + rules


@pytest.fixture
def policy(write_pack: Callable[..., Path]) -> svcpolicy.Policy:
    return svcpolicy.load_policy(write_pack({"pack.yaml": with_rules(FEE_RULE)}))


def fee(code: str, amount: str, day: int = 2, currency: str = "CNY", **extra: Any) -> dict[str, Any]:
    return {
        "started_at": f"2026-11-{day:02d}T09:00:00+08:00",
        "fees": [{"code": code, "amount": amount, "currency": currency}],
        **extra,
    }


def test_a_fee_charged_at_two_prices_in_one_month_names_the_group_and_its_records(policy: svcpolicy.Policy) -> None:
    records = [{"id": "A", **fee("F1", "10.00")}, {"id": "B", **fee("F2", "5.00")}, {"id": "C", **fee("F1", "12.00")}]
    report = policy.evaluate(records, as_of=AS_OF)
    (finding,) = [f for f in report.findings if f.rule == "FEE-SAME-CODE-SAME-PRICE"]
    assert finding.outcome is svcpolicy.Outcome.VIOLATION
    assert finding.group == {"code": "F1", "month": "2026-11"}
    assert [(m.id, m.path) for m in finding.members] == [("A", "fees[0]"), ("C", "fees[0]")]
    assert finding.evidence["amounts"] == 2 and finding.evidence["total"] == "22.00"
    assert finding.message_zh == "2026-11 收费代码 F1 出现 2 种不同金额（共 2 笔）"
    assert report.counts.group_violations == 1
    assert report.counts.reconciled and report.counts.compliant == 3


def test_aggregate_findings_do_not_change_any_records_outcome(policy: svcpolicy.Policy) -> None:
    report = policy.evaluate([{"id": "A", **fee("F1", "10.00")}, {"id": "C", **fee("F1", "12.00")}], as_of=AS_OF)
    assert report.counts.compliant == 2 and report.counts.with_violations == 0


def test_members_filtered_out_by_where_are_not_counted(policy: svcpolicy.Policy) -> None:
    records = [{"id": "A", **fee("F1", "10.00")}, {"id": "B", **fee("F1", "12.00", currency="USD")}]
    assert [f.rule for f in policy.evaluate(records, as_of=AS_OF).findings] == []


def test_a_member_without_the_data_is_left_out_and_the_group_says_so(policy: svcpolicy.Policy) -> None:
    no_amount = {"id": "B", "started_at": "2026-11-03T09:00:00+08:00", "fees": [{"code": "F1", "currency": "CNY"}]}
    report = policy.evaluate([{"id": "A", **fee("F1", "10.00")}, no_amount], as_of=AS_OF)
    (finding,) = report.findings
    assert finding.outcome is svcpolicy.Outcome.UNDETERMINED
    assert finding.left_out == 1 and finding.members_total == 2


def test_a_member_that_cannot_be_grouped_is_reported_not_dropped(policy: svcpolicy.Policy) -> None:
    report = policy.evaluate([{"id": "A", "fees": [{"code": "F1", "amount": "1", "currency": "CNY"}]}], as_of=AS_OF)
    (finding,) = report.findings
    assert finding.outcome is svcpolicy.Outcome.UNDETERMINED
    assert "started_at" in (finding.reason or "") and [m.id for m in finding.members] == ["A"]


def test_a_branch_below_the_satisfaction_floor_is_a_group_violation(write_pack: Callable[..., Path]) -> None:
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": with_rules(SATISFACTION_RULE)}))
    records = [
        {"id": f"S{i}", "branch_id": branch, "satisfaction": {"asked": True, "score": score}}
        for i, (branch, score) in enumerate([("B1", 2), ("B1", 3), ("B2", 5), ("B2", 4)])
    ]
    (finding,) = policy.evaluate(records, as_of=AS_OF).findings
    assert finding.group == {"branch": "B1"} and finding.evidence["average"] == 2.5


def test_aggregate_examples_are_run_like_record_examples(policy: svcpolicy.Policy) -> None:
    results = policy.run_examples("FEE-SAME-CODE-SAME-PRICE")
    assert [(r.expected, r.actual) for r in results] == [("violation", "violation"), ("compliant", "compliant")]


def test_group_state_does_not_grow_with_records_in_a_group(policy: svcpolicy.Policy) -> None:
    """Memory held after 2,000 and after 10,000 records of one group is the same, give or take a little."""
    held: dict[int, int] = {}

    def records() -> Iterator[dict[str, Any]]:
        for i in range(10_000):
            if i in (2_000, 10_000 - 1):
                gc.collect()
                # the run's table of seen record ids grows by design (docs/records.md); the group state must not
                ids = tracemalloc.Filter(False, seen_ids.__file__)
                held[i] = sum(t.size for t in tracemalloc.take_snapshot().filter_traces([ids]).statistics("filename"))
            yield {"id": f"R{i}", **fee("F1", "10.00", day=1 + i % 28)}

    tracemalloc.start()
    try:
        run = policy.iter_findings(records(), as_of=AS_OF)
        assert list(run) == []
    finally:
        tracemalloc.stop()
    assert run.counts.records == 10_000
    growth = held[10_000 - 1] - held[2_000]
    assert growth < 100_000, f"{growth} bytes more for 8,000 more records of one group"  # ~100 B a record if kept


def test_an_unknown_aggregate_function_is_a_pack_error(write_pack: Callable[..., Path]) -> None:
    text = with_rules(FEE_RULE.replace("sum(fee.amount)", "median(fee.amount)"))
    with pytest.raises(svcpolicy.PackErrors, match="aggregate 'total' must be one of"):
        svcpolicy.load_policy(write_pack({"pack.yaml": text}))


def test_record_only_keys_on_an_aggregate_rule_are_refused(write_pack: Callable[..., Path]) -> None:
    text = MINI_PACK.replace("    for_each: op in operations\n", "    for_each: op in operations\n    where: op.kind\n")
    with pytest.raises(svcpolicy.PackErrors, match="only aggregate rules"):
        svcpolicy.load_policy(write_pack({"pack.yaml": text}))
