"""durable-rules within bounds: no ruleset beyond its size limits, and no ruleset creation that can hang the run.

The regression is the generated rule of ``test_durable_differential.py --hypothesis-seed=23``: its compiled form
splits into 672 durable-rules rules, two of its rulesets are refused (error 113), and probing the rule as one
459 KB ruleset made ``create_ruleset`` spin forever, holding the GIL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import svcpolicy
from conftest import AS_OF
from svcpolicy.engines.durable import dumps, durable_coverage, durable_program
from svcpolicy.engines.durable.packing import MAX_RULESET_BYTES, MAX_RULESET_RULES, compile_rules
from svcpolicy.engines.durable.probe import RulesetProbe
from svcpolicy.engines.durable.program import rule_spec
from svcpolicy.engines.durable.runtime import CREATE_ATTEMPTS
from svcpolicy.records.model import ABSENT_DEFAULTS

SEED_23_RULE = (
    '((not any(o.product_id in ["WM-1", "x"] for o in offers)) and ((not any(o.sold_at > started_at for o in '
    "offers)) or all(s.name for s in steps)))"
)
PACK = f"""\
pack: generated
title: generated rules
version: "1"
sources:
  src:
    title: a source
    provisions:
      "1": {{label: 第一条, class: record, text: 规定。}}
rules:
  - id: GEN-0-rule
    title: generated
    cite: [src/1]
    severity: high
    applies_if: '{SEED_23_RULE}'
    when: '{SEED_23_RULE}'
    message: {{zh: 违规, en: violation}}
"""
RECORDS: list[dict[str, Any]] = [
    {"id": "none", "channel": "counter", "started_at": "2026-03-02T10:00:00+08:00"},
    {
        "id": "sold",
        "channel": "counter",
        "started_at": "2026-03-02T10:00:00+08:00",
        "offers": [{"product_id": "P-1", "sold_at": "2026-03-03T10:00:00+08:00"}],
        "steps": [{"name": ""}],
    },
]


def _policy(tmp_path: Path) -> svcpolicy.Policy:
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "pack.yaml").write_text(PACK, encoding="utf-8")
    return svcpolicy.load_policy(tmp_path / "pack")


def test_the_seed_23_rule_runs_on_the_closure_engine_with_the_reason_and_both_engines_agree(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    reasons = dict(durable_coverage(policy))
    assert "error code: 113" in reasons["GEN-0-rule"] and "refused" in reasons["GEN-0-rule"]
    durable = policy.evaluate(RECORDS, as_of=AS_OF, engine="durable")
    native = policy.evaluate(RECORDS, as_of=AS_OF, engine="native")
    assert [f.to_dict() for f in durable.findings] == [f.to_dict() for f in native.findings]
    assert [f.record.id for f in native.findings] == ["none"]


def test_no_ruleset_exceeds_the_size_limits(tmp_path: Path) -> None:
    for policy in (svcpolicy.load_policy(), _policy(tmp_path)):
        for group in durable_program(policy).ruleset.groups:
            assert len(group) <= MAX_RULESET_RULES and len(dumps(group)) <= MAX_RULESET_BYTES


def test_a_ruleset_durable_rules_spins_on_is_refused_after_the_probe_deadline_and_the_probe_goes_on(
    tmp_path: Path,
) -> None:
    """The rule's 672 durable-rules rules in one ruleset: the probe's child is killed, a fresh one answers next."""
    policy = _policy(tmp_path)
    whole = compile_rules(
        [rule_spec(p, policy.tz) for p in policy.programs],
        defaults=ABSENT_DEFAULTS,
        constants=policy.parameters.constant,
        params=frozenset(policy.definition.parameters),
        tz=policy.tz,
        calendar=policy.calendar,
    )
    assert len(whole.definition) == 672
    probe = RulesetProbe(CREATE_ATTEMPTS, seconds=5)
    try:
        assert probe.refusal(dumps(whole.definition)) == "durable-rules did not load it within 5 s"
        assert probe.refusal(dumps(whole.groups[0])) is None
    finally:
        probe.close()
