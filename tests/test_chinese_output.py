"""``--lang zh`` (the default) prints Chinese: headings, summary, severities, rule titles, undetermined reasons,
record errors, empty values and counts; one function prints a citation for every writer."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

import svcpolicy
from conftest import AS_OF, REPO
from svcpolicy.expr.template import format_value
from svcpolicy.records.messages_zh import record_error_zh
from svcpolicy.reporting import wording
from svcpolicy.reporting.ci import write_markdown
from svcpolicy.reporting.registry import FORMATS
from svcpolicy.reporting.text import write_text
from svcpolicy.results.findings import Citation
from svcpolicy.results.report import Counts, Report
from svcpolicy.severity import Severity

EXAMPLES = REPO / "examples" / "records.jsonl"


@pytest.fixture(scope="module")
def report(bundled: svcpolicy.Policy) -> Report:
    found = bundled.evaluate(EXAMPLES, as_of=AS_OF)
    return dataclasses.replace(found, rules=bundled.catalog())


def written(write: object, report: Report, lang: str = "zh") -> str:
    out = io.StringIO()
    write(report, out, lang)  # type: ignore[operator]
    return out.getvalue()


def test_every_bundled_rule_has_a_chinese_title(bundled: svcpolicy.Policy) -> None:
    assert all(rule.title_zh for rule in bundled.catalog())


def test_the_text_report_in_chinese_has_chinese_headings_severities_titles_and_summary(report: Report) -> None:
    out = written(write_text, report)
    assert "[严重] SVC-016-unauthorized-operation: " in out
    assert "SVC-016-unauthorized-operation  未经客户事先授权进行涉及客户权益的操作" in out  # the tally by rule
    assert "无效记录：" in out and "各规则违规数：" in out
    assert out.splitlines()[-1].startswith(f"共 {report.counts.records} 条记录：合规 ")
    assert "Undetermined" not in out and "violations" not in out


def test_the_text_report_in_english_keeps_english_words(report: Report) -> None:
    out = written(write_text, report, "en")
    assert "[critical] SVC-016-unauthorized-operation: " in out
    assert "SVC-016-unauthorized-operation  Operation affecting customer rights" in out
    assert out.splitlines()[-1].startswith(f"{report.counts.records} records: ")


def test_undetermined_reasons_and_record_errors_are_translated(report: Report) -> None:
    assert wording.reason("field complaint.logged_at is absent", "zh") == "记录未提供字段 complaint.logged_at"
    assert wording.reason("no as_of given", "en") == "no as_of given"
    assert wording.reason("something new", "zh") == "something new"  # untranslated reasons stay readable
    error = "started_at: Input should be a valid datetime, input is too short; customer.id: Field required"
    assert record_error_zh(error) == (
        "started_at：应为日期时间（ISO 8601，如 2026-11-02T09:00:00+08:00）：input is too short；"
        "customer.id：缺少必填字段"
    )
    invalid = written(write_text, report).split("无效记录：")[1]
    assert "Input should" not in invalid.split("\n\n")[0]


def test_counts_have_thousands_separators_and_english_plurals_agree() -> None:
    assert wording.counted(1, "violation", "en") == "1 violation"
    assert wording.counted(2, "violation", "en") == "2 violations"
    assert wording.counted(12345, "violation", "zh") == "12,345 项违规"
    counts = Counts(records=1, violations=1, with_violations=1)
    assert wording.summary(counts, "en").startswith("1 record: 0 compliant, 1 with violations (1 violation)")
    assert wording.percent(0.6) == "60%" and wording.percent(0.042) == "4.2%"


def test_message_values_read_as_words_in_chinese_not_question_marks() -> None:
    assert format_value(None, "zh") == "未提供" and format_value(None, "en") == "(not given)"
    assert format_value([], "zh") == "空" and format_value("", "zh") == "空"
    assert format_value(True, "zh") == "是" and format_value(["a", "b"], "zh") == "a、b"
    steps = [{"name": "identity_verification", "at": "09:02"}, {"name": "risk_disclosure", "at": "09:10"}]
    assert format_value(steps, "zh") == "identity_verification → risk_disclosure"
    assert format_value(123456, "zh") == "123,456" and format_value(2026, "zh") == "2026"


def test_a_long_list_in_a_message_shows_its_first_items_and_how_many_more_there_are() -> None:
    steps = [{"name": f"step_{i}", "at": "09:02"} for i in range(25)]
    shown = " → ".join(f"step_{i}" for i in range(20))
    assert format_value(steps, "zh") == shown + "…（另 5 项）"
    assert format_value(steps, "en") == shown + "… (+5 more)"
    assert format_value(list(range(21)), "en") == ", ".join(str(i) for i in range(20)) + "… (+1 more)"
    assert format_value(list(range(20)), "en") == ", ".join(str(i) for i in range(20))


def test_a_record_with_thousands_of_steps_gets_findings_of_bounded_length(bundled: svcpolicy.Policy) -> None:
    """Each finding's message names the record's steps; 2,000 of them in every one of ~1,000 findings made a
    CI log of ~100 MB for a single record."""
    records = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    example = next(r for r in records if r.get("business_type") == "wealth_product_sale" and r.get("steps"))
    # signed first: the steps are out of order from the start, so PROC-020 reports them with the whole list
    names = ["customer_signature", "risk_disclosure", "risk_assessment", "identity_verification"]
    steps = [
        {"name": names[i % 4], "at": f"2026-03-02T{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}+08:00"}
        for i in range(2000)
    ]
    report = bundled.evaluate([example | {"id": "MANY-STEPS", "steps": steps}], as_of=AS_OF)
    messages = [f.message("zh") for f in report.findings] + [f.message("en") for f in report.findings]
    assert any("另 1980 项" in m for m in messages) and any("+1980 more" in m for m in messages)
    assert max(len(m) for m in messages) < 2 * 1000 + 500


def test_bundled_messages_in_chinese_show_no_english_placeholders(report: Report) -> None:
    for finding in report.violations:
        assert "true" not in finding.message("zh") and "false" not in finding.message("zh")
        assert "(name:" not in finding.message("zh")


REPEATED = Citation(
    source="overview-c",
    provision="3.3",
    title="银行客户服务管理制度",
    label="3.",
    chapter="三、服务流程",
    text="…",
    label_repeats=True,
    wording="excerpt",
)


def test_a_citation_names_its_chapter_once_and_marks_an_excerpt() -> None:
    line = wording.citation_line(REPEATED, "zh")
    assert line == "银行客户服务管理制度 三、服务流程 3.（节录） [overview-c/3.3]"
    assert wording.citation_line(REPEATED, "en") == "银行客户服务管理制度 三、服务流程 3. (excerpt) [overview-c/3.3]"


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit", "sarif", "gitlab", "csv", "html"])
def test_no_writer_prints_a_repeated_chapter_twice(report: Report, fmt: str) -> None:
    finding = next(f for f in report.violations)
    cited = dataclasses.replace(finding, citations=(REPEATED,))
    one = dataclasses.replace(report, findings=[cited], invalid=[], input_failures=[], rules=())
    out = written(FORMATS[fmt].write, one)
    if fmt == "sarif":  # the printed texts; properties.citations holds the chapter as data
        (run,) = json.loads(out)["runs"]
        texts = [r["message"]["text"] for r in run["results"]]
        texts += [d["help"]["text"] + d["help"]["markdown"] for d in run["tool"]["driver"]["rules"]]
        out = "\n".join(texts)
    assert out.count("三、服务流程") == out.count("3.（节录）") >= 1


def test_the_markdown_heading_gives_the_verdict_in_chinese(report: Report) -> None:
    heading = written(write_markdown, report).splitlines()[0]
    assert heading.startswith("## svcpolicy: cn-bank-service ") and "— 未通过：" in heading
    assert " 项阻断" in heading


def test_severity_names_cover_every_severity() -> None:
    assert [wording.severity_name(s, "zh") for s in Severity] == ["提示", "低", "中", "高", "严重"]


def test_a_pack_rule_may_give_its_title_and_description_in_chinese(tmp_path: Path) -> None:
    from svcpolicy.pack.schema import Rule

    rule = Rule.model_validate(
        {
            "id": "X-001-thing",
            "title": "Thing",
            "title_zh": "事项",
            "description_zh": "说明",
            "cite": ["svc-rules/16"],
            "severity": "low",
            "when": "false",
            "message": {"zh": "z", "en": "e"},
        }
    )
    assert wording.rule_title(rule, "zh") == "事项" and wording.rule_title(rule, "en") == "Thing"
    assert wording.rule_description(rule, "zh") == "说明" and wording.rule_description(rule, "en") is None


def test_the_html_reports_footer_gives_the_summary_in_the_reports_language(report: Report) -> None:
    from svcpolicy.reporting.html import render_html

    assert f"· {wording.summary(report.counts, 'zh')}</footer>" in render_html(report, lang="zh")
    assert f"· {wording.summary(report.counts, 'en')}</footer>" in render_html(report, lang="en")
