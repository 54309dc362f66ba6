"""Issue 14, Chinese that is Chinese: every bundled rule speaks Chinese, lint says when a rule does not, severity
and outcome names have one word per language, and the summary on stderr is in the report's language."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest

import svcpolicy
from svcpolicy.authoring.lint import lint_pack
from svcpolicy.cli.main import main
from svcpolicy.reporting import wording
from svcpolicy.reporting.html_labels import labels
from svcpolicy.results.findings import Outcome
from svcpolicy.severity import Severity

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "svcpolicy"
EXAMPLES = ROOT / "examples" / "records.jsonl"
AS_OF = dt.datetime(2026, 11, 27, tzinfo=dt.timezone(dt.timedelta(hours=8)))
HAN = re.compile(r"[\u4e00-\u9fff]")


ENGLISH_PROSE = re.compile(r"\b[A-Za-z]+ [a-z]+ [a-z]+\b")
"""Three English words in a row: a sentence left untranslated (field names and ids are single tokens)."""


# -- the bundled rules in Chinese -------------------------------------------------------------------------------


def test_every_bundled_rule_has_a_chinese_title_and_description(bundled: svcpolicy.Policy) -> None:
    rules = bundled.catalog()
    assert len(rules) > 40
    for rule in rules:
        assert rule.title_zh and rule.description and rule.description_zh, rule.id
        # Field names and rule ids stay as written; the prose around them is Chinese.
        assert HAN.search(rule.description_zh) and not ENGLISH_PROSE.search(rule.description_zh), rule.id


def test_the_chinese_description_names_the_same_rules_and_fields_the_english_one_does(
    bundled: svcpolicy.Policy,
) -> None:
    for rule in bundled.catalog():
        assert rule.description and rule.description_zh
        english_ids = set(re.findall(r"\b[A-Z]+-[\w-]*[a-z]\b", rule.description))
        chinese_ids = set(re.findall(r"\b[A-Z]+-[\w-]*[a-z]\b", rule.description_zh))
        assert english_ids <= chinese_ids | {rule.id}, rule.id


def test_the_bundled_pack_has_no_rule_without_its_chinese_text() -> None:
    result = lint_pack(ROOT / "rules" / "cn-bank-service")
    assert [m for m in result.messages if m.code == "missing-zh"] == []


PACK = """\
pack: zhless
title: zh test
version: "1"
sources:
  s:
    title: S
    provisions:
      "1": {label: 第一条, class: record, text: 文本}
rules:
  - id: R-1-no-chinese
    title: English only
    description: English only too
    cite: [s/1]
    severity: low
    when: wait_minutes > 3
    message: {zh: "等候过久", en: "waited too long"}
    examples: [{violates: {wait_minutes: 4}}, {complies: {wait_minutes: 2}}]
  - id: R-2-title-only
    title: Titled in both
    title_zh: 两种语言的标题
    cite: [s/1]
    severity: low
    when: wait_minutes > 5
    message: {zh: "等候过久", en: "waited too long"}
    examples: [{violates: {wait_minutes: 6}}, {complies: {wait_minutes: 2}}]
"""


def test_lint_warns_at_a_rule_whose_title_or_description_has_no_chinese(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    missing = [str(m).replace(f"{tmp_path}/", "") for m in lint_pack(tmp_path).messages if m.code == "missing-zh"]
    assert missing == [
        "pack.yaml:11:12: warning: rule R-1-no-chinese has no title_zh: reports in Chinese (--lang zh, the default) "
        "print the English title [missing-zh]",
        "pack.yaml:12:18: warning: rule R-1-no-chinese has no description_zh: reports in Chinese (--lang zh, the "
        "default) print the English description [missing-zh]",
    ]


@pytest.mark.parametrize(("lang", "attribute"), [("zh", "description_zh"), ("en", "description")])
def test_sarif_describes_each_rule_in_the_reports_language(
    lang: str, attribute: str, bundled: svcpolicy.Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", str(EXAMPLES), "--format", "sarif", "--lang", lang, "--as-of", AS_OF.isoformat(), "--no-config"]
    main(args)
    run = json.loads(capsys.readouterr().out)["runs"][0]
    described = {r["id"]: r.get("fullDescription", {}).get("text") for r in run["tool"]["driver"]["rules"]}
    for rule in bundled.catalog():
        assert described[rule.id] == getattr(rule, attribute)


def test_explain_shows_a_rules_chinese_title_and_description_with_the_english(
    bundled: svcpolicy.Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = next(r for r in bundled.catalog() if r.id == "PSBC-C3-loan-declined-without-reason")
    assert main(["explain", rule.id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:4] == [f"  {rule.title_zh}", f"  {rule.description}", f"  {rule.description_zh}"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_findings_frame_titles_rules_in_the_reports_language(lang: str, bundled: svcpolicy.Policy) -> None:
    report = bundled.evaluate(EXAMPLES, as_of=AS_OF)
    titles = {rule.id: wording.rule_title(rule, lang) for rule in bundled.catalog()}
    frame = report.to_pandas(lang=lang)
    assert len(frame) and all(frame["title"] == frame["rule"].map(titles))


# -- one word per severity and outcome ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_severity_and_outcome_has_exactly_one_word_per_language(lang: str) -> None:
    severities = wording.SEVERITY_WORDS[lang]
    outcomes = wording.OUTCOME_WORDS[lang]
    assert set(severities) == set(Severity) and len(set(severities.values())) == len(Severity)
    assert set(outcomes) == set(Outcome) and len(set(outcomes.values())) == len(Outcome)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_html_labels_and_the_writers_words_name_severities_and_outcomes_alike(lang: str) -> None:
    for severity in Severity:
        name = wording.severity_name(severity, lang)
        assert name == wording.SEVERITY_WORDS[lang][severity]
        assert labels(lang)[str(severity)] == wording.words(lang)[str(severity)] == name
    for outcome in Outcome:
        name = wording.outcome_name(outcome, lang)
        assert labels(lang)[str(outcome)] == wording.words(lang)[str(outcome)] == name


def test_no_module_but_wording_spells_a_chinese_severity_name() -> None:
    names = set(wording.SEVERITY_WORDS["zh"].values())
    spelt = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "reporting" / "wording.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                spelt.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value}")
    assert spelt == []


def test_the_html_report_badges_severities_with_the_shared_words(bundled: svcpolicy.Policy) -> None:
    report = bundled.evaluate(EXAMPLES, as_of=AS_OF)
    html = report.to_html(lang="zh")
    badges = set(re.findall(r'<span class="badge sev-(\w+)" data-col="severity">([^<]+)</span>', html))
    assert badges and all(word == wording.SEVERITY_WORDS["zh"][Severity(sev)] for sev, word in badges)


# -- the summary on stderr under a machine format ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "共 1 条记录：合规 0，有违规 0（违规 0 项），无法判定 1，无效 0"),  # Chinese by default
        (("--lang", "en"), "1 record: 0 compliant, 0 with violations (0 violations), 1 undetermined, 0 invalid"),
    ],
)
def test_a_machine_format_prints_the_summary_on_stderr_in_the_reports_language(
    flags: tuple[str, ...], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "one.jsonl"
    records.write_text('{"id": "R1"}\n', encoding="utf-8")
    main(["check", str(records), "--format", "jsonl", *flags, "--as-of", AS_OF.isoformat(), "--no-config"])
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith(expected) for line in lines), lines
