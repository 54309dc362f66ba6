"""Differential tests: aggregate rules fed by their kind's generated function gather exactly what their closures do.

A stream feeds its aggregate runs through ``GroupFeed``: one generated function per record kind
(``svcpolicy.expr.codegen_groups``) hands each member to its run's ``add`` or ``leave_out``. The reference is
``AggregateRun.feed``, each rule's closures. Both must leave every run with the same groups in the same order
(keys, counts, member references, accumulators), the same unkeyed members with the same reason, and so the same
findings.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF
from durable_strategies import LOOP_NUMBERS, LOOP_TEXTS, NUMBERS, RECORD, TEXTS, conditions
from strategies import records_between, strategy
from svcpolicy.engine.aggregates import MAX_MEMBER_REFS, AggregateRun
from svcpolicy.engine.group_feed import FED_BY_CLOSURES, GroupFeed
from svcpolicy.expr import Env
from svcpolicy.records.model import Interaction
from svcpolicy.records.readers import Locator, RawRecord, validate
from svcpolicy.results.findings import RecordRef
from test_aggregate_groups import grouped_record
from test_durable_differential import PACK_HEAD

BUNDLED = svcpolicy.load_policy()
RECORDS_2026 = records_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 31))
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


def fed_both_ways(
    policy: svcpolicy.Policy, raw_records: list[dict[str, Any]], *, max_groups: int | None = None
) -> tuple[list[Any], list[Any]]:
    """Every valid record fed to one set of runs by the closures and to another by the generated feed: each
    set's tallies (groups in order, unkeyed members) and findings. ``max_groups``: the runs' memory budget."""
    by_closures = [AggregateRun(program, max_groups=max_groups) for program in policy.aggregates]
    generated = [AggregateRun(program, max_groups=max_groups) for program in policy.aggregates]
    feed = GroupFeed(generated, policy.group_functions, by_closures_first=0).feed
    env = Env({}, params={}, as_of=AS_OF, tz=policy.tz, calendar=policy.calendar)
    for line, raw in enumerate(raw_records, start=1):
        record, _, _ = validate(RawRecord(Locator("generated", line), raw))
        if record is None:
            continue
        ref = RecordRef(record.get("id"), "generated", line)
        env.reset(record, policy.parameters.for_record(record))
        for run in by_closures:
            run.feed(env, record, ref)
        env.reset(record, policy.parameters.for_record(record))  # a fresh memo: nothing shared between the ways
        feed(env, record, ref)
    return _gathered(policy, by_closures), _gathered(policy, generated)


def _gathered(policy: svcpolicy.Policy, runs: list[AggregateRun]) -> list[Any]:
    tallies = [run.tally() for run in runs]
    groups = [(t.rule, list(t.groups.items()), t.unkeyed, t.unkeyed_total, t.unkeyed_reason) for t in tallies]
    return [groups, [f.to_dict() for f in policy.group_findings(runs, AS_OF)]]


def assert_same_groups(policy: svcpolicy.Policy, raw_records: list[dict[str, Any]]) -> None:
    by_closures, generated = fed_both_ways(policy, raw_records)
    assert generated == by_closures


def grouped_records() -> st.SearchStrategy[dict[str, Any]]:
    """Records that land in the bundled pack's groups (branches, months, fees, operations, scores)."""
    return st.randoms(use_true_random=False).map(lambda rng: {"id": "G1", **grouped_record(rng)})


@SETTINGS
@given(st.lists(st.one_of(grouped_records(), RECORDS_2026, strategy(Interaction), RECORD), max_size=10))
def test_every_bundled_aggregate_gathers_the_same_groups_generated_and_as_closures(
    records: list[dict[str, Any]],
) -> None:
    assert_same_groups(BUNDLED, records)


def test_the_generated_feed_spills_groups_past_the_budget_and_gathers_what_the_closures_do() -> None:
    """A run that spills mid-record swaps its dict of groups: members after it must land in the new one."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    records = [{"id": f"R{i}", **grouped_record(rng)} for i in range(60)]
    by_closures, generated = fed_both_ways(BUNDLED, records, max_groups=3)
    assert generated == by_closures
    assert sum(len(rule_groups[1]) for rule_groups in generated[0]) > 3 * len(BUNDLED.aggregates)


def test_a_value_an_accumulator_refuses_leaves_the_member_out_in_its_group_both_ways(write_pack: Any) -> None:
    """A sum over text raises in the accumulator: the member is left out in its group, counted as such, and the
    group's later members still count (inline in the generated feed, by ``AggregateRun.add`` in the closures)."""
    rule = {
        "id": "GEN-1-sum-of-text",
        "kind": "aggregate",
        "title": "g",
        "cite": ["src/1"],
        "severity": "low",
        "group_by": {"channel": "channel"},
        "aggregate": {"members": "count()", "total": "sum(wait)", "longest": "max(wait)"},
        "let": {"wait": "wait_minutes if wait_minutes != 7 else channel"},
        "when": "members > 0",
        "message": {"zh": "违规", "en": "violation"},
    }
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": PACK_HEAD + yaml.safe_dump({"rules": [rule]})}))
    records: list[dict[str, Any]] = [
        {"id": "a", "wait_minutes": 4, "channel": "phone"},
        {"id": "b", "wait_minutes": 7, "channel": "phone"},
        {"id": "c", "wait_minutes": 5, "channel": "phone"},
    ]
    by_closures, generated = fed_both_ways(policy, records)
    assert generated == by_closures
    (finding,) = generated[1]
    assert finding["outcome"] == "violation" and finding["left_out"] == 1 and finding["members_total"] == 3
    assert finding["evidence"] == {"channel": "phone", "members": 2, "total": 9, "longest": 5}


def test_a_group_past_the_kept_references_counts_every_member_and_keeps_its_first_ones_both_ways(
    write_pack: Any,
) -> None:
    """Past MAX_MEMBER_REFS members a group keeps no more references, whether members are counted or left out
    (the generated feed tests only the member count once the group is that big)."""
    rule = {
        "id": "GEN-1-many-members",
        "kind": "aggregate",
        "title": "g",
        "cite": ["src/1"],
        "severity": "low",
        "group_by": {"channel": "channel"},
        "aggregate": {"members": "count()", "total": "sum(wait)"},
        "let": {"wait": "wait_minutes if wait_minutes != 7 else channel"},
        "when": "members > 0",
        "message": {"zh": "违规", "en": "violation"},
    }
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": PACK_HEAD + yaml.safe_dump({"rules": [rule]})}))
    refused = {2, 11, 12, 30}  # a wait of 7 is text to the sum: left out, in the group
    records = [{"id": f"R{i}", "wait_minutes": 7 if i in refused else 1, "channel": "phone"} for i in range(33)]
    by_closures, generated = fed_both_ways(policy, records)
    assert generated == by_closures
    (finding,) = generated[1]
    assert finding["members_total"] == 33 and finding["left_out"] == len(refused)
    assert [member["id"] for member in finding["members"]] == [f"R{i}" for i in range(MAX_MEMBER_REFS)]
    assert finding["evidence"]["total"] == 33 - len(refused)


def test_a_stream_feeds_its_first_records_by_the_closures_and_the_rest_by_the_generated_function() -> None:
    """A short run never pays for generating; a long one switches part-way and gathers what the closures do."""
    policy = svcpolicy.load_policy()  # its own: no function made yet
    rng = random.Random(12)  # noqa: S311 - test data, not secrets
    records = [{"id": f"R{i}", **grouped_record(rng)} for i in range(FED_BY_CLOSURES + 40)]
    interactions = tuple(policy.aggregates)
    by_closures = [AggregateRun(program) for program in policy.aggregates]
    switching = [AggregateRun(program) for program in policy.aggregates]
    feed = policy.aggregate_feed(switching).feed
    env = Env({}, params={}, as_of=AS_OF, tz=policy.tz, calendar=policy.calendar)
    for line, raw in enumerate(records, start=1):
        record, _, _ = validate(RawRecord(Locator("generated", line), raw))
        assert record is not None
        env.reset(record, policy.parameters.for_record(record))
        for run in by_closures:
            run.feed(env, record, RecordRef(record["id"], "generated", line))
        env.reset(record, policy.parameters.for_record(record))
        feed(env, record, RecordRef(record["id"], "generated", line))
        assert policy.group_functions.made("interaction", interactions) == (line >= FED_BY_CLOSURES)
    assert _gathered(policy, switching) == _gathered(policy, by_closures)


def test_the_bundled_aggregates_of_a_kind_are_one_generated_function() -> None:
    kinds = {kind for program in BUNDLED.aggregates for kind in program.kinds}
    for kind in kinds:
        programs = tuple(program for program in BUNDLED.aggregates if kind in program.kinds)
        assert BUNDLED.group_functions(kind, programs) is not None


@st.composite
def aggregate_rules(draw: st.DrawFn) -> dict[str, Any]:
    """An aggregate rule from the language: a filter drawn like record rules' conditions, keys and measured
    values from record fields (and the item's, with ``for_each``) of every kind, so keys and values meet absent
    data, lists, mappings and mixed types."""
    loop = draw(st.booleans())
    fields = [*NUMBERS, *TEXTS, "steps", "customer", "satisfaction.score"]
    if loop:
        fields += [*LOOP_NUMBERS, *LOOP_TEXTS, "offer"]
    rule: dict[str, Any] = {
        "kind": "aggregate",
        "group_by": {f"k{i}": part for i, part in enumerate(draw(st.lists(st.sampled_from(fields), min_size=1)))},
        "aggregate": {"members": "count()"},
        "when": "members > 1",
    }
    functions = st.sampled_from(["sum", "avg", "min", "max", "distinct", "share"])
    for i, (function, field) in enumerate(draw(st.lists(st.tuples(functions, st.sampled_from(fields)), max_size=3))):
        rule["aggregate"][f"a{i}"] = f"{function}({field})"
    if draw(st.booleans()):
        rule["where"] = draw(conditions(loop))
    if loop:
        rule["for_each"] = "offer in offers"
    if draw(st.integers(0, 4)) == 0:
        rule["effective_from"] = "2026-03-02"
    return rule


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    generated=st.lists(aggregate_rules(), min_size=1, max_size=3),
    records=st.lists(RECORD, min_size=1, max_size=8),
)
def test_generated_aggregate_rules_of_every_construct_gather_the_same_groups_both_ways(
    generated: list[dict[str, Any]], records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    pack_rules = [
        {"id": f"GEN-{i}-group", "title": "g", "cite": ["src/1"], "severity": "high", **rule}
        | {"message": {"zh": "违规", "en": "violation"}}
        for i, rule in enumerate(generated)
    ]
    path = Path(tmp_path_factory.mktemp("pack")) / "pack.yaml"
    path.write_text(PACK_HEAD + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    assert_same_groups(svcpolicy.load_policy(path), records)


def test_an_aggregate_too_deeply_nested_for_python_keeps_its_closures(write_pack: Any) -> None:
    """CPython compiles at most 20 nested blocks: a kind past that is fed by the closures, with the same groups."""
    deep = "wait_minutes > 1"
    for depth in range(12):
        deep = f"(any(x > {depth} for x in [wait_minutes]) or ({deep} and channel == 'phone'))"
    rule = {
        "id": "GEN-1-deep",
        "kind": "aggregate",
        "title": "g",
        "cite": ["src/1"],
        "severity": "low",
        "where": deep,
        "group_by": {"channel": "channel"},
        "aggregate": {"members": "count()", "longest": "max(wait_minutes)"},
        "when": "members > 1",
        "message": {"zh": "违规", "en": "violation"},
    }
    root = write_pack({"pack.yaml": PACK_HEAD + yaml.safe_dump({"rules": [rule]})})
    policy = svcpolicy.load_policy(root)
    assert policy.group_functions("interaction", policy.aggregates) is None
    records: list[dict[str, Any]] = [
        {"id": "a", "wait_minutes": 40, "channel": "phone"},
        {"id": "b", "wait_minutes": 30, "channel": "phone"},
        {"id": "c", "wait_minutes": 0, "channel": "phone"},
    ]
    by_closures, generated = fed_both_ways(policy, records)
    assert generated == by_closures
    (finding,) = generated[1]
    assert finding["evidence"] == {"channel": "phone", "members": 2, "longest": 40}


def test_pack_text_reaches_the_generated_feed_only_as_bound_names() -> None:
    """Field names, parameter values and expression texts are namespace constants, never part of the source."""
    generated = BUNDLED.group_functions("interaction", BUNDLED.aggregates)
    assert generated is not None
    assert "'" not in generated.source and '"' not in generated.source
    assert not any(program.id in generated.source for program in BUNDLED.aggregates)
