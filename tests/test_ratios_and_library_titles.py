"""Chinese output that is Chinese, for the library too: group findings give shares as percentages (60%, not 0.6),
and a report from ``policy.evaluate`` carries the rule catalogue, so writers print the rules' Chinese titles."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import AS_OF, MINI_PACK, REPO, operation
from svcpolicy.reporting.text import write_text
from svcpolicy.results.report import Report

EXAMPLES = REPO / "examples" / "records.jsonl"


@pytest.fixture(scope="module")
def report(bundled: svcpolicy.Policy) -> Report:
    return bundled.evaluate(EXAMPLES, as_of=AS_OF)


def test_the_survey_coverage_finding_gives_the_share_asked_and_the_floor_as_percentages(report: Report) -> None:
    (finding,) = [f for f in report.violations if f.rule == "AGG-IND-survey-coverage"]
    assert finding.evidence["asked"] == pytest.approx(5 / 7)
    assert "仅在 71.4% 的服务后询问了客户满意度" in finding.message_zh
    assert finding.message_zh.endswith("低于本行要求的 80%")
    assert "after only 71.4% of 7 services" in finding.message_en and finding.message_en.endswith("bank's 80%")


def test_the_complaint_resolution_finding_gives_the_share_decided_as_a_percentage(report: Report) -> None:
    (finding,) = [f for f in report.violations if f.rule == "AGG-IND-complaint-resolution"]
    assert "仅 60% 作出处理决定，低于本行要求的 90%" in finding.message_zh


def test_a_library_report_carries_the_packs_rule_catalogue(bundled: svcpolicy.Policy, report: Report) -> None:
    assert report.rules == bundled.catalog()


def test_a_library_report_written_in_chinese_shows_the_rules_chinese_titles(report: Report) -> None:
    out = io.StringIO()
    write_text(report, out, "zh")
    assert "SVC-016-unauthorized-operation  未经客户事先授权进行涉及客户权益的操作" in out.getvalue()
    assert "Operation affecting customer rights" not in out.getvalue()


def test_a_rule_whose_message_alone_calls_percent_stays_on_durable_rules(write_pack: Callable[..., Path]) -> None:
    from svcpolicy.engines.durable import durable_coverage

    pack = MINI_PACK.replace("{op.kind}", "{op.kind}（{percent(params.min_score / 4)}）")
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": pack}))
    assert durable_coverage(policy) == []
    (finding,) = policy.evaluate([{"id": "R1", "operations": [operation(None)]}], engine="durable").findings
    assert finding.message_zh.endswith("（75%）")
