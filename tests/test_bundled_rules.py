"""Every embedded example of every bundled rule, run as its own test (rule tests live with the rules)."""

from __future__ import annotations

import pytest

import svcpolicy

POLICY = svcpolicy.load_policy()
RESULTS = POLICY.run_examples()


@pytest.mark.parametrize("result", RESULTS, ids=[r.test_id for r in RESULTS])
def test_each_embedded_example_gives_the_outcome_it_states(result: svcpolicy.ExampleResult) -> None:
    assert result.actual == result.expected, result.detail
    if result.missing_expected is not None:
        assert result.missing_actual == result.missing_expected, result.detail


@pytest.mark.parametrize("rule", POLICY.rules, ids=[r.id for r in POLICY.rules])
def test_each_bundled_rule_ships_two_violating_and_two_compliant_examples(rule: svcpolicy.Rule) -> None:
    expected = [e.expected for e in rule.examples]
    assert expected.count("violation") >= 2 and expected.count("compliant") >= 2


def test_the_bundled_pack_has_the_required_rule_families() -> None:
    cited = {ref for rule in POLICY.rules for ref in rule.cite}
    assert {"svc-rules/16", "svc-rules/11", "svc-rules/18"} <= cited
    assert any("complaint" in r.id.lower() or r.id.startswith("CMP") for r in POLICY.rules)


def test_the_example_records_breach_every_bundled_rule_at_least_once() -> None:
    from conftest import AS_OF, REPO

    report = POLICY.evaluate(REPO / "examples" / "records.jsonl", as_of=AS_OF)
    breached = report.violations_by_rule()
    assert [rule.id for rule in POLICY.rules if rule.id not in breached] == []
    counts = report.counts
    assert counts.compliant and counts.undetermined and counts.invalid and counts.reconciled
