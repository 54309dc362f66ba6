"""Branch detail rules (svc-rules 第五条) extend the head-office pack: add and tighten, never drop or loosen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import AS_OF, REPO

OVERLAY = REPO / "examples" / "branch-overlay"


def overlay(write_pack: Callable[..., Path], body: str) -> Path:
    return write_pack({"pack.yaml": f'pack: branch\ntitle: 支行细则\nversion: "1"\nextends: cn-bank-service\n{body}'})


def errors_of(path: Path) -> str:
    with pytest.raises(svcpolicy.PackErrors) as caught:
        svcpolicy.load_policy(path)
    return str(caught.value)


def test_the_example_branch_overlay_keeps_every_head_office_rule_and_adds_its_own() -> None:
    base = svcpolicy.load_policy()
    branch = svcpolicy.load_policy(OVERLAY)
    assert {r.id for r in base.rules} < {r.id for r in branch.rules}
    assert branch.id == "sh-pudong-branch"
    results = branch.run_examples("BR-005-large-withdrawal-double-check")
    assert results, "the branch rule has embedded examples"
    assert all(r.passed for r in results), [r for r in results if not r.passed]


def test_a_tightened_deadline_applies_to_the_head_office_rule() -> None:
    base = svcpolicy.load_policy()
    branch = svcpolicy.load_policy(OVERLAY)
    assert base.parameters.constant["complaint_decision_days"] == 15
    assert branch.parameters.constant["complaint_decision_days"] == 10
    complaint = {
        "id": "C1",
        "complaint": {
            "id": "K1",
            "received_at": "2026-11-02T10:00:00+08:00",
            "logged_ref": "T1",
            "decided_at": "2026-11-14T10:00:00+08:00",
            "extensions": [],
            "withdrawn_at": None,
        },
    }
    overdue = [f.rule for f in branch.evaluate(complaint, as_of=AS_OF).violations]
    assert any(rule.startswith("CMP") for rule in overdue)
    assert not [f for f in base.evaluate(complaint, as_of=AS_OF).violations if f.rule.startswith("CMP")]


def test_loosening_a_head_office_parameter_is_an_error_naming_both_places(write_pack: Callable[..., Path]) -> None:
    message = errors_of(overlay(write_pack, "tighten:\n  complaint_decision_days: 20\n"))
    assert "pack.yaml:6:" in message and "would loosen it" in message
    assert "cn-bank-service/pack.yaml:" in message


def test_dropping_a_banned_phrase_is_loosening(write_pack: Callable[..., Path]) -> None:
    message = errors_of(overlay(write_pack, "tighten:\n  guaranteed_return_phrases: [保本]\n"))
    assert "would drop" in message


def test_redefining_a_head_office_rule_is_an_error_naming_both_places(write_pack: Callable[..., Path]) -> None:
    rule = """\
rules:
  - id: SVC-016-unauthorized-operation
    title: weaker
    cite: [svc-rules/16]
    severity: low
    when: "False"
    message: {zh: x, en: x}
"""
    message = errors_of(overlay(write_pack, rule))
    assert "already defined by base pack cn-bank-service" in message
    assert "pack.yaml:6:" in message and "rules/authorisation.yaml:" in message


def test_there_is_no_way_to_switch_off_a_head_office_rule(write_pack: Callable[..., Path]) -> None:
    message = errors_of(overlay(write_pack, "disable: [SVC-016-unauthorized-operation]\n"))
    assert "disable" in message and "Extra inputs are not permitted" in message


def test_tightening_a_parameter_the_base_does_not_have_is_an_error(write_pack: Callable[..., Path]) -> None:
    assert "no parameter of that name" in errors_of(overlay(write_pack, "tighten:\n  complaint_days: 5\n"))


def test_packs_extending_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    for name, other in (("a", "b"), ("b", "a")):  # two pack files side by side: extends stays inside the folder
        (tmp_path / f"{name}.yaml").write_text(
            f'pack: {name}\ntitle: t\nversion: "1"\nextends: {other}.yaml\n', encoding="utf-8"
        )
    with pytest.raises(svcpolicy.PackError, match="cycle"):
        svcpolicy.load_policy(tmp_path / "a.yaml")


def test_findings_of_an_overlay_cite_the_head_office_articles() -> None:
    branch = svcpolicy.load_policy(OVERLAY)
    record = {
        "id": "W1",
        "business_type": "cash_withdrawal",
        "steps": [],
        "operations": [{"kind": "cash_withdrawal", "amount": 60000}],
    }
    (finding,) = [f for f in branch.evaluate(record, as_of=AS_OF).violations if f.rule.startswith("BR-005")]
    assert finding.citations[0].label == "第五条" and finding.pack.id == "sh-pudong-branch"
