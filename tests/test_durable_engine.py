"""The durable-rules adapter: what it guarantees around an engine with sharp edges.

The first group pins durable-rules 2.0.28 behaviours the adapter is built around (if an upgrade changes
them, these tests say so); the rest check the adapter: one owner thread, its own fact identity, unmatched
facts, retraction, values the engine cannot hold, and that a disagreement between the engines is an error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import durable_rules_engine
import pytest

import svcpolicy
from conftest import AS_OF, REPO
from svcpolicy.engines.durable import (
    DurableEngine,
    DurableJudge,
    EngineMismatch,
    Projector,
    dumps,
    durable_coverage,
    durable_program,
)
from svcpolicy.records.readers import Locator, RawRecord, validate

BUNDLED = svcpolicy.load_policy()
EXAMPLES = REPO / "examples" / "records.jsonl"


def _fired(rules: dict[str, Any], facts: list[dict[str, Any]]) -> set[str]:
    """Which facts (by id) fire ``rules`` in a fresh durable-rules ruleset."""
    engine = DurableEngine([rules])
    try:
        return {fact for _, fact in engine.run(dumps(facts))}
    finally:
        engine.close()


def _rule(condition: dict[str, Any]) -> dict[str, Any]:
    return {"x": {"all": [{"m": {"$and": [{"k": "r"}, condition]}}]}}


# -- durable-rules 2.0.28 as the adapter finds it -------------------------------------------------------


def test_upstream_crashes_on_a_number_written_with_an_exponent_and_no_fraction() -> None:
    script = (
        "import durable_rules_engine as d, json\n"
        "h = d.create_ruleset('x', json.dumps({'x': {'all': [{'m': {'$gt': {'f': 1}}}]}}))\n"
        'code, state = d.assert_facts(h, \'[{"id": "1", "f": 1e16}]\')\n'
        "d.start_action_for_state(h, state)\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert crashed.returncode != 0  # a segmentation fault
    assert dumps({"f": 1e16}) == '{"f":1.0e+16}'  # so the adapter writes a fraction
    assert _fired(_rule({"$gt": {"f": 1.0e15}}), [{"id": "1", "k": "r", "f": 1e16}]) == {"1"}


def test_upstream_matches_a_comparison_with_a_reference_to_an_absent_field() -> None:
    facts = [{"id": "1", "k": "r", "a": 5}, {"id": "2", "k": "r", "a": 5, "b": 9}]
    assert _fired(_rule({"$gt": {"a": {"$m": "b"}}}), facts) == {"1"}  # 5 > (nothing) holds upstream
    guarded = {"$and": [{"$neq": {"b": None}}, {"$gt": {"a": {"$m": "b"}}}]}
    assert _fired(_rule(guarded), facts) == set()  # the adapter always guards a reference


def test_upstream_decides_an_or_over_a_list_items_fields_by_field_order() -> None:
    condition = {"$iany": {"xs": {"$or": [{"$lte": {"$i.a": 3}}, {"$i.b": True}]}}}
    b_first = [{"id": "1", "k": "r", "xs": [{"b": True, "a": 4}]}]
    a_first = [{"id": "1", "k": "r", "xs": [{"a": 4, "b": True}]}]
    assert _fired(_rule(condition), b_first) != _fired(_rule(condition), a_first)


def test_upstream_iall_is_false_on_an_empty_list() -> None:
    facts: list[dict[str, Any]] = [{"id": "1", "k": "r", "xs": []}, {"id": "2", "k": "r", "xs": [{"a": 1}]}]
    assert _fired(_rule({"$iall": {"xs": {"$i.a": 1}}}), facts) == {"2"}


def test_upstream_compares_long_text_by_a_truncated_length() -> None:
    text = "a" * 70_000
    facts = [{"id": "1", "k": "r", "s": text + "b", "t": text + "c"}]
    assert _fired(_rule({"$eq": {"s": {"$m": "t"}}}), facts) == {"1"}


# -- the adapter -----------------------------------------------------------------------------------------


def test_every_engine_call_runs_on_the_engine_thread() -> None:
    engine = DurableEngine(durable_program(BUNDLED).ruleset.groups)
    seen: list[int] = []
    real = engine._module

    class Recording:
        def __getattr__(self, name: str) -> Any:
            def call(*args: Any) -> Any:
                seen.append(threading.get_ident())
                return getattr(real, name)(*args)

            return call

    engine._module = Recording()
    callers = [threading.Thread(target=engine.run, args=('[{"id": "1", "k": "r"}]',)) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    engine.close()
    assert seen and set(seen) == {engine.owner}
    assert engine.owner not in {caller.ident for caller in callers} | {threading.get_ident()}


def test_evaluations_on_several_threads_at_once_give_the_closure_engines_findings() -> None:
    expected = [f.to_dict() for f in BUNDLED.evaluate(EXAMPLES, as_of=AS_OF).findings]
    results: list[list[dict[str, Any]]] = []

    def evaluate() -> None:
        report = BUNDLED.evaluate(EXAMPLES, as_of=AS_OF, engine="durable")
        results.append([f.to_dict() for f in report.findings])

    workers = [threading.Thread(target=evaluate) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [expected] * 4


def test_a_repeated_record_id_is_an_invalid_record_under_the_durable_engine_too() -> None:
    # durable-rules ignores a fact whose id it has seen; record ids never become fact ids, and a repeated record id
    # is reported as an invalid record before any engine judges it (docs/records.md)
    wait = {"channel": "counter", "wait_minutes": 45}
    records = [{"id": "1", **wait}, {"id": "1", **wait}, {"id": "2", **wait}]
    report = BUNDLED.evaluate(records, as_of=AS_OF, engine="durable")
    waits = [f.record.id for f in report.findings if f.rule == "SVC-009-wait-too-long"]
    assert waits == ["1", "2"]
    assert [(i.record.id, i.error) for i in report.invalid] == [("1", "duplicate id '1', first seen at <input>:1")]


def test_facts_hold_only_the_adapters_keys_and_never_a_sid() -> None:
    record, _, _ = validate(
        RawRecord(Locator("<t>", 1), {"id": "sid", "extra": {"sid": "x", "id": "y"}, "channel": "counter"})
    )
    assert record is not None
    facts = Projector(durable_program(BUNDLED).ruleset).facts(record, AS_OF, 7)
    assert [f["id"] for f in facts] == ["7"]
    for fact in facts:
        assert "sid" not in fact
        assert all(key in ("id", "k", "i") or key[0] in "pl" for key in fact)


def test_a_batch_no_rule_matches_is_not_an_error() -> None:
    engine = DurableEngine(durable_program(BUNDLED).ruleset.groups)
    try:
        assert engine.run(json.dumps([{"id": str(i), "k": "nothing"} for i in range(50)])) == []
    finally:
        engine.close()


def test_facts_are_retracted_after_each_batch() -> None:
    engine = DurableEngine(durable_program(BUNDLED).ruleset.groups)
    try:
        fired = engine.run(json.dumps([{"id": "1", "k": "r", "p0": 1}, {"id": "2", "k": "c0", "i": 0}]))
        assert isinstance(fired, list)
        for handle in engine.handles:
            facts = engine.call(lambda h=handle: str(durable_rules_engine.get_facts(h, None)))  # type: ignore[misc]
            assert json.loads(facts) == []
    finally:
        engine.close()


def test_values_durable_rules_cannot_hold_are_judged_by_the_closure_engine_and_counted() -> None:
    records = [
        {"id": "long", "channel": "counter" + " " * 70_000, "wait_minutes": 45},
        {"id": "big", "channel": "counter", "wait_minutes": 1e16},
    ]
    run = BUNDLED.iter_findings(records, as_of=AS_OF, engine="durable")
    durable = [f.to_dict() for f in run]
    assert durable == [f.to_dict() for f in BUNDLED.evaluate(records, as_of=AS_OF).findings]
    assert run.engine_stats is not None
    assert sum(run.engine_stats.native_records.values()) == 1
    assert "65,535" in next(iter(run.engine_stats.native_records))
    assert {f["record"]["id"] for f in durable if f["rule"] == "SVC-009-wait-too-long"} == {"big"}


def test_a_disagreement_between_the_engines_is_an_error_not_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    program = durable_program(BUNDLED)
    wait = next(r for r in program.ruleset.rules if r.id == "SVC-009-wait-too-long")
    violation = next(name for name, role in wait.names.items() if role == "v")
    broken = {**program.ruleset.definition, violation: {"all": [{"m": {"k": "r"}}]}}  # fires on every record
    monkeypatch.setattr(program.ruleset, "definition", broken)
    judge = DurableJudge(BUNDLED, AS_OF)
    with pytest.raises(EngineMismatch, match="SVC-009-wait-too-long"):
        list(judge.prefetch([RawRecord(Locator("<t>", 1), {"id": "ok", "channel": "counter", "wait_minutes": 5})]))


def test_rules_outside_durable_rules_language_are_named_with_a_reason() -> None:
    left_out = dict(durable_coverage(BUNDLED))
    assert "SVC-018-guaranteed-return-statement" in left_out
    assert "contains_unnegated()" in left_out["SVC-018-guaranteed-return-statement"]  # phrase positions in text
    assert "deadline_passed()" in left_out["CMP-015-decision-overdue"]
    supported = {p.id for p in BUNDLED.programs} - set(left_out)
    assert {"SVC-016-operation-not-applied-for", "SVC-009-wait-too-long", "MR-011-sale-after-decline"} <= supported


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        BUNDLED.evaluate([], engine="other")  # type: ignore[arg-type]
