"""Differential tests: the durable-rules engine gives exactly the closure engine's findings.

Two sources of cases: the bundled pack on records built from the record model, and rules generated in the
durable-rules subset of the language (comparisons of every kind, null and absent data, chains, datetime
offsets, membership, quantifiers, guards, dated rules) on records drawn from small domains so that rules and
records meet on the edge cases.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, REPO
from durable_strategies import EXPECTED_UNSUPPORTED, RECORD, rules
from strategies import records_between, strategy
from svcpolicy.engines.durable import durable_coverage
from svcpolicy.records.model import Interaction

BUNDLED = svcpolicy.load_policy()
OVERLAY = svcpolicy.load_policy(REPO / "examples" / "branch-overlay")  # extends the bundled pack
RECORDS_2026 = records_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 31))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

PACK_HEAD = """\
pack: generated
title: generated rules
version: "1"
sources:
  src:
    title: a source
    provisions:
      "1": {label: 第一条, class: record, text: 规定。}
parameters:
  limit: {value: 30, bank_set: true}
  channels: {value: [counter, phone], bank_set: true}
  phrases: {value: [保本, 保收益, a.b], bank_set: true}
"""


def _findings(policy: svcpolicy.Policy, records: Any, engine: str) -> list[dict[str, Any]]:
    report = policy.evaluate(records, as_of=AS_OF, engine=engine)  # type: ignore[arg-type]
    return [f.to_dict() for f in report.findings] + [i.to_dict() for i in report.invalid]


@SETTINGS
@given(st.lists(st.one_of(RECORDS_2026, strategy(Interaction), RECORD), max_size=12))
def test_the_bundled_pack_gives_the_same_findings_on_both_engines(records: list[dict[str, Any]]) -> None:
    assert _findings(BUNDLED, records, "durable") == _findings(BUNDLED, records, "native")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(RECORDS_2026, RECORD), max_size=12))
def test_the_example_branch_overlay_gives_the_same_findings_on_both_engines(records: list[dict[str, Any]]) -> None:
    assert _findings(OVERLAY, records, "durable") == _findings(OVERLAY, records, "native")


def test_the_bundled_examples_give_the_same_findings_and_most_rules_run_on_durable_rules() -> None:
    examples = REPO / "examples" / "records.jsonl"
    native = _findings(BUNDLED, examples, "native")
    assert native and _findings(BUNDLED, examples, "durable") == native
    left_out = dict(durable_coverage(BUNDLED))
    assert len(left_out) < len(BUNDLED.programs) / 2
    assert "calendar" in left_out["CMP-015-decision-overdue"] or "conditional" in left_out["CMP-015-decision-overdue"]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(generated=st.lists(rules(), min_size=1, max_size=3), records=st.lists(RECORD, min_size=1, max_size=6))
def test_generated_rules_give_the_same_findings_on_both_engines(
    generated: list[dict[str, Any]], records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    pack_rules = []
    for i, rule in enumerate(generated):
        pack_rules.append(
            {
                "id": f"GEN-{i}-rule",
                "title": "generated",
                "cite": ["src/1"],
                "severity": "high",
                **rule,
                "message": {"zh": "违规", "en": "violation"},
            }
        )
    path = Path(tmp_path_factory.mktemp("pack")) / "pack.yaml"
    path.write_text(PACK_HEAD + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    policy = svcpolicy.load_policy(path)
    for rule_id, reason in durable_coverage(policy):
        assert any(expected in reason for expected in EXPECTED_UNSUPPORTED), (rule_id, reason)
    assert _findings(policy, records, "durable") == _findings(policy, records, "native")


@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(generated=st.lists(rules(), min_size=40, max_size=40))
def test_most_generated_rules_are_judged_by_durable_rules(
    generated: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    """The generated-rules test is only as strong as the share of rules durable-rules really judges."""
    pack_rules = [
        {
            "id": f"GEN-{i}-rule",
            "title": "g",
            "cite": ["src/1"],
            "severity": "low",
            **rule,
            "message": {"zh": "违规", "en": "violation"},
        }
        for i, rule in enumerate(generated)
    ]
    path = Path(tmp_path_factory.mktemp("pack")) / "pack.yaml"
    path.write_text(PACK_HEAD + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    assert len(durable_coverage(svcpolicy.load_policy(path))) <= len(generated) // 2


def test_a_pack_written_by_hand_runs_wholly_on_durable_rules(write_pack: Any) -> None:
    root = write_pack(
        {
            "pack.yaml": PACK_HEAD
            + textwrap.dedent(
                """\
                rules:
                  - id: GEN-1-wait
                    title: t
                    cite: [src/1]
                    severity: low
                    applies_if: channel in params.channels
                    when: wait_minutes > params.limit
                    message: {zh: 等候过久, en: too long}
                  - id: GEN-2-late-sale
                    title: t
                    cite: [src/1]
                    severity: high
                    for_each: offer in offers
                    when: offer.customer_declined == True and offer.sold_at > offer.declined_at + minutes(1)
                    message: {zh: "{offer.product_id}", en: "{offer.product_id}"}
                """
            )
        }
    )
    policy = svcpolicy.load_policy(root)
    assert durable_coverage(policy) == []
    records = [
        {"id": "A", "channel": "counter", "wait_minutes": 31},
        {"id": "B", "channel": "atm", "wait_minutes": 99},
        {"id": "C", "channel": "phone"},
        {
            "id": "D",
            "offers": [
                {
                    "product_id": "P1",
                    "customer_declined": True,
                    "declined_at": "2026-03-02T10:00:00+08:00",
                    "sold_at": "2026-03-02T10:05:00+08:00",
                },
                {
                    "product_id": "P2",
                    "customer_declined": True,
                    "declined_at": "2026-03-02T10:00:00+08:00",
                    "sold_at": "2026-03-02T02:00:30+00:00",
                },
            ],
        },
    ]
    durable = _findings(policy, records, "durable")
    assert durable == _findings(policy, records, "native")
    assert [(f["rule"], f["outcome"], f["record"]["id"], f["record"]["path"]) for f in durable] == [
        ("GEN-1-wait", "violation", "A", None),
        ("GEN-1-wait", "undetermined", "C", None),
        ("GEN-1-wait", "undetermined", "D", None),  # no channel: the guard cannot be decided
        ("GEN-2-late-sale", "violation", "D", "offers[0]"),
    ]
