"""Differential tests: each record rule's generated Python function judges exactly as its closures do.

The engine judges records with the functions ``svcpolicy.expr.codegen`` writes (one per record kind, and one per
rule); the closures of the same expression trees remain for messages, evidence and the other engines. All must
agree on every verdict: its outcome, the item it is about, the absent field it names and its reason. The
reference is ``RuleProgram.closure_results``: the judging loop over the closures, as the engine ran it before.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, REPO
from durable_strategies import RECORD, rules
from strategies import records_between, strategy
from svcpolicy.engine.programs import RuleProgram, Verdict
from svcpolicy.expr import Env, Undetermined
from svcpolicy.records.model import Interaction
from svcpolicy.records.readers import Locator, RawRecord, validate
from svcpolicy.results.findings import Outcome
from test_durable_differential import PACK_HEAD

BUNDLED = svcpolicy.load_policy()
RECORDS_2026 = records_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 31))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def closure_verdicts(program: RuleProgram, env: Env, record: Any) -> list[Verdict] | None:
    """The rule judged by its closures alone: the reference the generated function must match."""
    try:
        if program.dated and not program.in_force(record, env.tz):
            return None
        results = program.closure_results(env)
    except Undetermined as exc:
        return program.verdicts(exc)
    return None if results is None else program.verdicts(results)


def assert_same_verdicts(policy: svcpolicy.Policy, raw_records: list[dict[str, Any]]) -> int:
    """Judge each valid record by every rule both ways, each way with its own environment; the number judged."""
    judged = 0
    for raw in raw_records:
        record, _, _ = validate(RawRecord(Locator("generated", 1), raw))
        if record is None:
            continue
        params = policy.parameters.for_record(record)
        generated_env = Env(record, params=params, as_of=AS_OF, tz=policy.tz, calendar=policy.calendar)
        closure_env = Env(record, params=params, as_of=AS_OF, tz=policy.tz, calendar=policy.calendar)
        for program in policy.programs:
            expected = closure_verdicts(program, closure_env, record)
            assert program.judge(generated_env, record, policy.tz) == expected, program.id
        kind = policy.programs_for(record)
        one_function = policy.judge(record, None, AS_OF)
        rule_by_rule = policy.judge(record, None, AS_OF, programs=kind)
        assert one_function[0] == rule_by_rule[0]
        assert [f.to_dict() for f in one_function[1]] == [f.to_dict() for f in rule_by_rule[1]]
        judged += 1
    return judged


@SETTINGS
@given(st.lists(st.one_of(RECORDS_2026, strategy(Interaction), RECORD), max_size=8))
def test_every_bundled_rule_gives_the_same_verdicts_generated_and_as_closures(records: list[dict[str, Any]]) -> None:
    assert_same_verdicts(BUNDLED, records)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(generated=st.lists(rules(), min_size=1, max_size=3), records=st.lists(RECORD, min_size=1, max_size=6))
def test_generated_rules_of_every_construct_give_the_same_verdicts_both_ways(
    generated: list[dict[str, Any]], records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    """Rules drawn from the language (chains, membership, quantifiers, null and absent data, guards) meet records
    drawn from small domains, so both compilers meet the edge cases together."""
    pack_rules = [
        {"id": f"GEN-{i}-rule", "title": "g", "cite": ["src/1"], "severity": "high", **rule}
        | {"message": {"zh": "违规", "en": "violation"}}
        for i, rule in enumerate(generated)
    ]
    path = Path(tmp_path_factory.mktemp("pack")) / "pack.yaml"
    path.write_text(PACK_HEAD + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    assert_same_verdicts(svcpolicy.load_policy(path), records)


def test_the_example_records_give_the_same_verdicts_both_ways() -> None:
    lines = (REPO / "examples" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert assert_same_verdicts(BUNDLED, [json.loads(line) for line in lines if line.strip()]) > 0


def test_an_absent_field_inside_a_quantifier_is_named_by_its_item_path() -> None:
    """The generated path of an absent field is built only when raising, from the item's position."""
    program = next(p for p in BUNDLED.programs if p.id == "PROC-020-steps-out-of-order")
    record, _, _ = validate(
        RawRecord(
            Locator("t", 1),
            {
                "id": "R1",
                "business_type": "fund_sale",
                "steps": [
                    {"name": "risk_disclosure", "at": "2026-03-02T10:01:00+08:00"},
                    {"name": "customer_signature"},
                ],
            },
        )
    )
    assert record is not None
    env = Env(
        record, params=BUNDLED.parameters.for_record(record), as_of=AS_OF, tz=BUNDLED.tz, calendar=BUNDLED.calendar
    )
    verdicts = program.judge(env, record, BUNDLED.tz)
    assert verdicts == [Verdict(Outcome.UNDETERMINED, "steps[0]", "steps[1].at", "field steps[1].at is absent", 0)]


def test_every_bundled_rule_is_generated_and_each_kind_is_one_function() -> None:
    assert all(program.generated_source is not None for program in BUNDLED.programs)
    kinds = {kind for program in BUNDLED.programs for kind in program.kinds}
    assert all(BUNDLED.kind_program(kind) is not None for kind in kinds)


def test_a_rule_too_deeply_nested_for_python_is_judged_by_its_closures(write_pack: Any) -> None:
    """CPython compiles at most 20 nested loops and ``try`` blocks; a rule past that keeps its closures."""
    deep = "wait_minutes > 1"
    for depth in range(12):
        deep = f"(any(x > {depth} for x in [wait_minutes]) or ({deep} and channel == 'phone'))"
    root = write_pack(
        {
            "pack.yaml": PACK_HEAD
            + yaml.safe_dump(
                {
                    "rules": [
                        {
                            "id": "GEN-1-deep",
                            "title": "g",
                            "cite": ["src/1"],
                            "severity": "low",
                            "when": deep,
                            "message": {"zh": "违规", "en": "violation"},
                        }
                    ]
                }
            )
        }
    )
    policy = svcpolicy.load_policy(root)
    (program,) = policy.programs
    assert program.generated_source is None and policy.kind_program("interaction") is None
    records: list[dict[str, Any]] = [
        {"id": "a", "wait_minutes": 40, "channel": "phone"},
        {"id": "b", "wait_minutes": 0, "channel": "counter"},
        {"id": "c"},
    ]
    assert assert_same_verdicts(policy, records) == 3
    outcomes = []
    for raw in records:
        record, _, _ = validate(RawRecord(Locator("t", 1), raw))
        assert record is not None
        outcomes.append(policy.judge(record, None, AS_OF)[0])
    assert outcomes == [Outcome.VIOLATION, Outcome.COMPLIANT, Outcome.UNDETERMINED]


def test_pack_text_reaches_the_generated_code_only_as_bound_names() -> None:
    """Field names, parameter values and expression texts are namespace constants, never part of the source."""
    for program in BUNDLED.programs:
        source = program.generated_source
        assert source is not None
        assert "'" not in source and '"' not in source, program.id
        assert program.id not in source and program.rule.when not in source, program.id


TABLE_PARAMETER = """\
  table:
    bank_set: true
    value:
      - {name: identity_verification, kind: transfer}
      - {name: risk_disclosure}
      - {name: null, kind: transfer}
      - {kind: close_account}
      - {name: 3}
      - {name: identity_verification, kind: close_account}
      - plain text
"""
INDEXED_RULES = [
    ("op in operations", 'any(t.name == "identity_verification" and t.kind == op.kind for t in params.table)'),
    ("s in steps", "any(t.name == s.name for t in params.table)"),
    ("offer in offers", "count(t for t in params.table if offer.product_risk_level == t.name) > 0"),
    (None, "any(business_type == t.name for t in params.table) or business_type == params.table[0].name"),
    (None, "count(t for t in params.table if t.name == business_type) == 1"),
    ("s in steps", "any(t.name == s.name or t.kind == s.name for t in params.table)"),
]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(RECORD, min_size=1, max_size=6))
def test_a_search_through_an_index_gives_the_verdicts_of_a_search_through_every_item(
    records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    """``any(t.f == key for t in params.table)`` visits only the items whose field may equal the key; items whose
    field is absent, null or of another kind than a string key are visited too, and so their Undetermined stays."""
    pack_rules = [
        {"id": f"GEN-{i}-indexed", "title": "g", "cite": ["src/1"], "severity": "low", "when": when}
        | ({"for_each": loop} if loop else {})
        | {"message": {"zh": "违规", "en": "violation"}}
        for i, (loop, when) in enumerate(INDEXED_RULES)
    ]
    path = Path(tmp_path_factory.mktemp("pack")) / "pack.yaml"
    path.write_text(
        PACK_HEAD + TABLE_PARAMETER + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8"
    )
    policy = svcpolicy.load_policy(path)
    assert ["selected(" in (p.generated_source or "") for p in policy.programs] == [True, True, True, True, True, False]
    assert_same_verdicts(policy, records)
