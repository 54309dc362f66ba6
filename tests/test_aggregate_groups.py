"""Aggregate groups at scale (issue 12): compact state, shared per-record work, and spilling past a budget.

A run that holds at most a few groups in memory and spills the rest to disk gives exactly the findings of a run
that holds them all, alone or split into parts and merged (as ``--jobs`` and Spark do).
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import math
import pickle
import random
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, CST
from svcpolicy.engine import aggregates
from svcpolicy.engine.accumulators import MAX_MEMBER_REFS, SMALL_DISTINCT, GroupLayout
from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.spill import SpilledGroups
from svcpolicy.engine.stream import judge_stream
from svcpolicy.expr import Env
from svcpolicy.records.readers import Locator, RawRecord, validate
from svcpolicy.results.findings import Finding, RecordRef
from svcpolicy.results.report import Counts

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=CST)


def grouped_record(rng: random.Random) -> dict[str, Any]:
    """A record that lands in the bundled pack's groups: depositors opening and closing basic accounts, fees of a
    few codes and prices, branches and employees over several months, with some data missing."""
    at = START + dt.timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 600))
    operations = [
        {
            "id": f"OP-{i}",
            "kind": rng.choice(["open_account", "close_account"]),
            "account_id": f"A-{rng.randint(0, 9)}",
            "account_type": rng.choice(["basic", "basic", "general"]),
            "account_currency": "CNY",
            "at": (at + dt.timedelta(minutes=i)).isoformat(),
        }
        for i in range(rng.randint(0, 2))
    ]
    fees = [
        {"code": f"F{rng.randint(0, 3)}", "amount": rng.choice(["10.00", "12.00", "0"]), "currency": "CNY"}
        for _ in range(rng.randint(0, 2))
    ]
    record: dict[str, Any] = {
        "channel": rng.choice(["counter", "phone", "mobile", "atm"]),
        "branch_id": f"B{rng.randint(0, 6)}",
        "started_at": at.isoformat(),
        "customer": {"id": f"U{rng.randint(0, 30)}", "kind": rng.choice(["unit", "unit", "individual"])},
        "employee": {"id": f"E{rng.randint(0, 6)}", "role": "teller"},
        "operations": operations,
        "fees": fees,
    }
    if rng.random() < 0.5:
        record["wait_minutes"] = rng.randint(0, 40)
    if rng.random() < 0.5:
        score = None if rng.random() < 0.2 else rng.uniform(0, 5)
        record["satisfaction"] = {"asked": rng.random() < 0.7, "score": score}
    return record


def grouped_records(count: int, seed: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return numbered([grouped_record(rng) for _ in range(count)])


def numbered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"R{i}", **record} for i, record in enumerate(records)]


def group_findings(policy: svcpolicy.Policy, records: list[dict[str, Any]], max_groups: int | None) -> list[Finding]:
    runs = [AggregateRun(program, max_groups=max_groups) for program in policy.aggregates]
    raws = [RawRecord(Locator("<input>", n), record) for n, record in enumerate(records, start=1)]
    list(judge_stream(policy, raws, AS_OF, counts=Counts(), runs=runs))
    return list(policy.group_findings(runs, AS_OF))


def split_spilled_and_merged(
    policy: svcpolicy.Policy, records: list[dict[str, Any]], cuts: list[int], max_groups: int
) -> list[Finding]:
    """Each part judged by runs with a tiny budget, their tallies pickled and merged into runs with that budget."""
    raws = [RawRecord(Locator("<input>", n), record) for n, record in enumerate(records, start=1)]
    merged = [AggregateRun(program, max_groups=max_groups) for program in policy.aggregates]
    for start, end in itertools.pairwise([0, *sorted(cuts), len(raws)]):
        runs = [AggregateRun(program, max_groups=max_groups) for program in policy.aggregates]
        list(judge_stream(policy, raws[start:end], AS_OF, counts=Counts(), runs=runs))
        for run, part in zip(merged, runs, strict=True):
            run.merge(pickle.loads(pickle.dumps(part.tally())))  # noqa: S301 - our own bytes
    return list(policy.group_findings(merged, AS_OF))


def test_a_run_past_its_group_budget_spills_to_disk_and_gives_the_findings_of_one_in_memory(
    bundled: svcpolicy.Policy,
) -> None:
    records = grouped_records(200)
    in_memory = group_findings(bundled, records, max_groups=None)
    assert len(in_memory) > 20  # many groups in breach or undetermined: the comparison has substance
    runs = [AggregateRun(program, max_groups=3) for program in bundled.aggregates]
    raws = [RawRecord(Locator("<input>", n), record) for n, record in enumerate(records, start=1)]
    list(judge_stream(bundled, raws, AS_OF, counts=Counts(), runs=runs))
    assert all(run.spilled is not None and run.spilled.spills > 1 for run in runs if run.groups)
    assert list(bundled.group_findings(runs, AS_OF)) == in_memory


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_any_split_of_any_stream_spilled_and_merged_gives_the_findings_of_one_pass_in_memory(
    bundled: svcpolicy.Policy, data: st.DataObject
) -> None:
    rng = data.draw(st.randoms(use_true_random=False))
    records = numbered([grouped_record(rng) for _ in range(data.draw(st.integers(1, 20)))])
    cuts = data.draw(st.lists(st.integers(0, len(records)), max_size=3))
    budget = data.draw(st.integers(1, 4))
    assert split_spilled_and_merged(bundled, records, cuts, budget) == group_findings(bundled, records, None)


def test_the_library_spills_past_the_module_budget_with_the_same_findings(
    bundled: svcpolicy.Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = grouped_records(80)
    expected = list(bundled.iter_findings(records, as_of=AS_OF))
    monkeypatch.setattr(aggregates, "MAX_GROUPS_IN_MEMORY", 2)
    spills: list[int] = []
    monkeypatch.setattr(SpilledGroups, "spill", _counting(SpilledGroups.spill, spills))
    assert list(bundled.iter_findings(records, as_of=AS_OF)) == expected
    assert len(spills) > 10


def _counting(spill: Any, calls: list[int]) -> Any:
    def counted(self: SpilledGroups, groups: Any) -> None:
        calls.append(1)
        spill(self, groups)

    return counted


def test_spilled_keys_merge_as_dictionary_keys_do_equal_values_together_colliding_hashes_apart() -> None:
    layout = GroupLayout(["count"], ref_stride=1)
    store = SpilledGroups()
    assert hash((-1,)) == hash((-2,))  # CPython: hash(-1) == hash(-2)
    parts: list[list[tuple[tuple[Any, ...], list[Any]]]] = [
        [((1,), _members(layout, 1)), ((-1,), _members(layout, 2))],
        [((1.0,), _members(layout, 4)), ((-2,), _members(layout, 8))],
        [((Decimal(1),), _members(layout, 16)), ((-1,), _members(layout, 32))],
    ]
    for part in parts:
        store.spill(part)
    merged = [(key, state[0]) for key, state in store.merged(layout.fold)]
    store.close()
    assert merged == [((1,), 1 + 4 + 16), ((-1,), 2 + 32), ((-2,), 8)]


def _members(layout: GroupLayout, count: int) -> list[Any]:
    state = layout.new()
    state[0] = count
    return state


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "sum": st.none() | st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False),
    "avg": st.none() | st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False),
    "share": st.none() | st.booleans(),
    "distinct": st.none() | st.integers(0, 2 * SMALL_DISTINCT),
    "min": st.none() | st.integers(-9, 9),
    "max": st.none() | st.integers(-9, 9),
    "peak": st.tuples(st.integers(0, 5), st.integers(-2, 2)),
}


@settings(max_examples=200, deadline=None)
@given(
    function=st.sampled_from(sorted(VALUES)),
    data=st.data(),
)
def test_a_group_state_folded_from_parts_holds_what_one_pass_holds(function: str, data: st.DataObject) -> None:
    layout = GroupLayout([function, "count"], ref_stride=2)
    values = data.draw(st.lists(VALUES[function], max_size=3 * SMALL_DISTINCT))
    cut = data.draw(st.integers(0, len(values)))
    whole, first, second = layout.new(), layout.new(), layout.new()
    for i, value in enumerate(values):
        for state in (whole, first if i < cut else second):
            layout.add(state, (value,))
            state[0] += 1
            layout.keep_ref(state, f"R{i}", i)
    layout.fold(first, second)
    assert layout.results(first) == layout.results(whole)
    assert layout.refs(first) == layout.refs(whole) == [(f"R{i}", i) for i in range(min(len(values), MAX_MEMBER_REFS))]


def test_rules_with_the_same_filter_and_key_compute_them_once_per_record(bundled: svcpolicy.Policy) -> None:
    """Five bundled rules filter on the channel and group by (branch, month): one filter value and one key."""
    sharing = [p for p in bundled.aggregates if p.where is not None and p.where.source.strip() == _CHANNEL_FILTER]
    assert len(sharing) >= 2
    assert len({p.key_names for p in sharing}) == 1
    record = validate(RawRecord(Locator("<input>", 1), {"id": "R1", **_record()}))[0]
    assert record is not None
    env = Env(
        record, params=bundled.parameters.for_record(record), as_of=AS_OF, tz=bundled.tz, calendar=bundled.calendar
    )
    runs = [AggregateRun(program) for program in sharing]
    for run in runs:
        run.feed(env, record, RecordRef("R1"))
    assert all(len(run.groups) == 1 for run in runs)
    assert len({id(next(iter(run.groups))) for run in runs}) == 1  # the very same key tuple
    # the filter too: its value, once flipped in the record's memo, is what every later rule reads
    env.reset(record, bundled.parameters.for_record(record))
    runs = [AggregateRun(program) for program in sharing]
    runs[0].feed(env, record, RecordRef("R1"))
    filters = [slot for slot, value in env.memo.items() if value is True]
    assert filters
    env.memo.update(dict.fromkeys(filters, False))
    for run in runs[1:]:
        run.feed(env, record, RecordRef("R1"))
    assert runs[0].groups and not any(run.groups for run in runs[1:])


_CHANNEL_FILTER = "channel not in params.self_service_channels"


def _record() -> dict[str, Any]:
    return {"channel": "counter", "branch_id": "B1", "started_at": START.isoformat(), "wait_minutes": 3}


def test_a_group_of_one_member_takes_well_under_a_kilobyte(bundled: svcpolicy.Policy) -> None:
    """1.1 KB a group before issue 12; ~620 bytes now (state list, key, the member's reference and record id)."""
    program = next(p for p in bundled.aggregates if p.id == "AGG-ACC-one-basic-deposit-account")
    env = Env({}, params={}, as_of=AS_OF, tz=bundled.tz, calendar=bundled.calendar)
    count = 3_000

    def depositors() -> Iterator[dict[str, Any]]:
        for i in range(count):
            at = (START + dt.timedelta(minutes=i)).isoformat()
            operation = {"kind": "open_account", "account_type": "basic", "account_currency": "CNY", "at": at}
            yield {"id": f"R{i}", "customer": {"id": f"U{i:07d}", "kind": "unit"}, "operations": [operation]}

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run = AggregateRun(program, max_groups=count + 1)
        for line, raw in enumerate(depositors(), start=1):
            record = validate(RawRecord(Locator("<input>", line), raw))[0]
            assert record is not None
            env.reset(record, bundled.parameters.for_record(record))
            run.feed(env, record, RecordRef(record["id"], "<input>", line))
        env.reset({}, {})
        record = None
        gc.collect()
        per_group = (tracemalloc.get_traced_memory()[0] - before) / len(run.groups)
    finally:
        tracemalloc.stop()
    assert len(run.groups) == count
    assert per_group < 700, f"{per_group:.0f} bytes a group"


def test_a_sum_of_floats_past_the_largest_float_is_infinite_as_float_addition_gives() -> None:
    layout = GroupLayout(["sum", "avg"], ref_stride=1)
    state = layout.new()
    for value in (1.6e308, 7.5e307):
        layout.add(state, (value, value))
    assert layout.results(state) == [math.inf, math.inf]


WHOLE_AND_FRACTIONAL_FLOATS = st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-(2**54), 2**54).map(float)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(WHOLE_AND_FRACTIONAL_FLOATS | st.integers(-5, 5), max_size=20), data=st.data())
def test_a_sum_of_floats_is_the_correctly_rounded_exact_total_however_the_members_are_split(
    values: list[Any], data: st.DataObject
) -> None:
    layout = GroupLayout(["sum", "avg"], ref_stride=1)
    cut = data.draw(st.integers(0, len(values)))
    whole, first, second = layout.new(), layout.new(), layout.new()
    for i, value in enumerate(values):
        for state in (whole, first if i < cut else second):
            layout.add(state, (value, value))
    layout.fold(first, second)
    floats = [Fraction(value) for value in values if type(value) is float]
    exact = sum(value for value in values if type(value) is int) + (float(sum(floats)) if floats else 0)
    assert layout.results(whole)[0] == layout.results(first)[0] == exact
    assert type(layout.results(whole)[0]) is type(exact)


def test_a_sum_of_whole_floats_keeps_a_float_total_until_a_fraction_or_a_large_total_needs_the_exact_one() -> None:
    layout = GroupLayout(["sum"], ref_stride=1)
    state = layout.new()
    for value in (4.0, 5.0, -2.0):
        layout.add(state, (value,))
    assert state[-1] == 7.0 and type(state[-1]) is float
    layout.add(state, (0.1,))
    assert type(state[-1]) is int
    assert layout.results(state) == [7.1]
    large = layout.new()
    for value in (2.0**53 - 1, 2.0):
        layout.add(large, (value,))
    assert type(large[-1]) is int and layout.results(large) == [2.0**53 + 1]


def test_distinct_refuses_a_signalling_nan_decimal_as_a_set_would_and_counts_equal_decimals_once() -> None:
    layout = GroupLayout(["distinct"], ref_stride=1)
    state = layout.new()
    for value in (Decimal("10.00"), Decimal("10"), Decimal("12.5")):
        layout.add(state, (value,))
    assert layout.results(state) == [2]
    with pytest.raises(TypeError):
        layout.add(state, (Decimal("sNaN"),))
    with pytest.raises(TypeError):
        layout.add(state, ([1, 2],))
