"""Sequence and record rules cite the articles that impose the duty they enforce (issue 11)."""

from __future__ import annotations

import svcpolicy

POLICY = svcpolicy.load_policy()
PACK = POLICY.definition


def _provision(ref: str) -> dict[str, object]:
    source, _, provision = ref.partition("/")
    return PACK.sources[source].provisions[provision].model_dump(by_alias=True)


def test_the_unauthorised_operation_sequence_cites_the_article_that_forbids_it_and_nothing_else() -> None:
    sequence = next(s for s in PACK.sequences if s.id == "EVT-AUTH-001-authorisation-before-operation")
    assert sequence.cite == ["svc-rules/16"]
    assert "不得擅自进行涉及客户权益的操作" in str(_provision("svc-rules/16")["text"])


def test_a_record_rule_cites_no_provision_the_pack_classifies_as_aggregate() -> None:
    cited = [
        (rule.id, ref)
        for rule in PACK.rules
        if rule.kind != "aggregate"
        for ref in rule.cite
        if _provision(ref)["class"] == "aggregate"
    ]
    assert cited == []


def test_the_satisfaction_survey_mechanism_is_cited_by_the_aggregate_that_checks_the_surveys_not_by_mr010() -> None:
    citing = [rule.id for rule in PACK.rules if "plan-2024/2.3" in rule.cite]
    assert citing == ["AGG-IND-survey-coverage"]
