"""Absent fields carried as values in generated rules: ``or``, ``and``, ``not``, comparisons and quantifier items
read an absent field without raising, and the verdicts (outcome, the missing field, the reason) stay the
closures' own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF
from durable_strategies import RECORD
from svcpolicy.engine.programs import RuleProgram, Verdict
from svcpolicy.expr import Env
from svcpolicy.records.readers import Locator, RawRecord, validate
from svcpolicy.results.findings import Outcome
from test_durable_differential import PACK_HEAD
from test_generated_rules import assert_same_verdicts

SOFT_RULES = [
    (None, "customer.age > 30 or customer.identity_verified == True"),
    (None, "not (complaint.logged_ref == 'T1') and channel in params.channels"),
    (None, "customer.risk_tolerance < customer.age or satisfaction.score is None or wait_minutes > params.limit"),
    (None, "(customer.age > 30 and customer.identity_verified == True) or not (satisfaction.asked == True)"),
    ("offer in offers", "offer.sold == True and offer.product_risk_level > 2 or offer.declined_at is not None"),
    (
        "offer in offers",
        "any((not (offer.sold == True or offer.product_risk_level > 2) and s == '保本') or s in params.phrases"
        " for s in offer.statements)",
    ),
    ("s in steps", "any(t.at < s.at and t.name != s.name for t in steps)"),
    ("op in operations", "all(op.authorization.at <= t.at or t.name == 'x' for t in steps)"),
    (None, "count(o for o in offers if o.sold == True or o.customer_declined == True) > 0"),
]


def _policy(tmp: Path, rules: list[tuple[str | None, str]]) -> svcpolicy.Policy:
    pack_rules = [
        {"id": f"GEN-{i}-soft", "title": "g", "cite": ["src/1"], "severity": "low", "when": when}
        | ({"for_each": loop} if loop else {})
        | {"message": {"zh": "违规", "en": "violation"}}
        for i, (loop, when) in enumerate(rules)
    ]
    path = tmp / "pack.yaml"
    path.write_text(PACK_HEAD + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    return svcpolicy.load_policy(path)


def _judge(
    policy: svcpolicy.Policy, raw: dict[str, Any], *, valid: bool = True
) -> tuple[RuleProgram, list[Verdict] | None]:
    """The only rule of ``policy`` judged by its generated function, checked against its closures; ``valid``:
    the record passes validation first (else it is judged as given, as a pack's own record kinds may be)."""
    record = validate(RawRecord(Locator("t", 1), raw))[0] if valid else raw
    assert record is not None
    (program,) = policy.programs
    return program, _judged_both_ways(policy, program, record)


def _judged_both_ways(policy: svcpolicy.Policy, program: RuleProgram, record: Any) -> list[Verdict] | None:
    """``program``'s verdicts on ``record`` by its generated function, checked equal to its closures'."""
    params = policy.parameters.for_record(record)
    generated, closures = (
        program.judge(
            Env(record, params=params, as_of=AS_OF, tz=policy.tz, calendar=policy.calendar),
            record,
            policy.tz,
            by_closures=by_closures,
        )
        for by_closures in (False, True)
    )
    assert generated == closures, (program.id, record)
    return generated


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(RECORD, min_size=1, max_size=6))
def test_rules_reading_absent_fields_softly_give_the_closures_verdicts(
    records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    policy = _policy(Path(tmp_path_factory.mktemp("pack")), SOFT_RULES)
    assert_same_verdicts(policy, records)


def test_an_absent_field_in_an_or_that_nothing_decides_names_the_field(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [(None, "customer.age > 30 or customer.identity_verified == True")])
    _, verdicts = _judge(policy, {"id": "R1", "customer": {"identity_verified": False}})
    assert verdicts == [Verdict(Outcome.UNDETERMINED, None, "customer.age", "field customer.age is absent", None)]


def test_the_first_absent_field_of_an_undecided_or_is_the_one_named(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [(None, "customer.age > 30 or customer.identity_verified == True")])
    _, verdicts = _judge(policy, {"id": "R1", "customer": {}})
    assert verdicts == [Verdict(Outcome.UNDETERMINED, None, "customer.age", "field customer.age is absent", None)]


def test_an_or_decided_by_another_operand_needs_no_absent_field(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [(None, "customer.age > 30 or customer.identity_verified == True")])
    _, verdicts = _judge(policy, {"id": "R1", "customer": {"identity_verified": True}})
    assert verdicts == [Verdict(Outcome.VIOLATION, None)]


def test_an_and_decided_false_by_another_operand_needs_no_absent_field(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [(None, "customer.age > 30 and customer.identity_verified == True")])
    _, verdicts = _judge(policy, {"id": "R1", "customer": {"identity_verified": False}})
    assert verdicts is None


def test_a_field_of_a_value_that_is_no_mapping_says_so_rather_than_absent(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [("s in steps", "s.name == 'a' or s.at is None")])
    _, verdicts = _judge(policy, {"id": "R1", "steps": ["plain text"]}, valid=False)
    assert verdicts is not None and len(verdicts) == 1
    assert verdicts[0].outcome is Outcome.UNDETERMINED and verdicts[0].missing is None
    assert verdicts[0].reason is not None and "not a mapping" in verdicts[0].reason


def test_a_negated_absent_field_hoisted_out_of_a_quantifier_stays_undetermined_for_each_item(
    tmp_path: Path,
) -> None:
    """``not (offer.sold == True)`` does not change with the statement: computed once per offer, its absent field
    kept with it, so an offer without ``sold`` is undetermined by its own path unless its statements decide."""
    rule = ("offer in offers", "any(not (offer.sold == True) and s == '保本' for s in offer.statements)")
    policy = _policy(tmp_path, [rule])
    _, verdicts = _judge(
        policy,
        {
            "id": "R1",
            "offers": [
                {"statements": ["保本", "保本"]},
                {"sold": False, "statements": ["保本"]},
                {"statements": ["无"]},
            ],
        },
    )
    assert verdicts == [
        Verdict(Outcome.UNDETERMINED, "offers[0]", "offers[0].sold", "field offers[0].sold is absent", 0),
        Verdict(Outcome.VIOLATION, "offers[1]", None, None, 1),
    ]


def test_an_or_of_absent_fields_raises_nothing_inside_the_generated_rule(tmp_path: Path) -> None:
    policy = _policy(tmp_path, [(None, "customer.age > 30 or customer.identity_verified == True")])
    (program,) = policy.programs
    source = program.generated_source or ""
    assert "raise field_miss" not in source and "raise absent" not in source


LITERALS = ["'a'", "true", "false", "30", "30.5", "null", "[1, 2]"]
VALUES: list[Any] = ["a", "b", "", None, True, False, 0, 1, 30, 30.0, 30.5, [1, 2], {"a": 1}]


def test_equality_with_a_constant_of_each_kind_gives_the_closures_verdicts(tmp_path: Path) -> None:
    """``==``/``!=`` against a literal test the other side's type once, by the literal's kind; a value of another
    kind stays undetermined (or unequal, for null) exactly as ``_equal`` says."""
    rules: list[tuple[str | None, str]] = [
        (None, f"quantity {op} {literal}") for literal in LITERALS for op in ("==", "!=")
    ] + [("x in items", f"x {op} {literal} or x == 'b'") for literal in LITERALS for op in ("==", "!=")]
    policy = _policy(tmp_path, rules)
    outcomes = set()
    for value in VALUES:
        record = {"id": "R1", "quantity": value, "items": [value, "b", value]}
        for program in policy.programs:
            outcomes |= {verdict.outcome for verdict in _judged_both_ways(policy, program, record) or ()}
    assert outcomes == {Outcome.VIOLATION, Outcome.UNDETERMINED}
