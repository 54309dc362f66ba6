"""CI formats: SARIF 2.1.0 (validated against the OASIS schema), JUnit XML, CSV, Markdown, GitHub workflow
commands, and several of them written in one run."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import REPO
from gatekit import (
    ARTICLE_15,
    ARTICLE_16,
    AS_OF,
    DISCLOSURE,
    UNAUTHORISED,
    authorised,
    disclosed,
    svcpolicy,
    unauthorised,
    write_gate_pack,
    write_records,
)
from svcpolicy.reporting.registry import FORMATS

SCHEMA = json.loads((REPO / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


def assert_valid_sarif(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the gate pack, records (two violations, one invalid) and a waiver."""
    monkeypatch.chdir(tmp_path)
    write_gate_pack(tmp_path / "pack")
    write_records(
        tmp_path / "data" / "records.jsonl",
        unauthorised("R1"),
        authorised("R2"),
        disclosed("R3"),
        unauthorised("R4"),
    )
    with (tmp_path / "data" / "records.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "R5", "started_at": "not a time"}\n')
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n"
        "  - id: W-1\n"
        f"    rule: {UNAUTHORISED}\n"
        "    record: R4\n"
        "    reason: 客户书面授权已补录\n"
        "    approver: 合规部 张三\n"
        "    expires: 2026-12-31\n"
        "    ticket: CMP-7\n",
        encoding="utf-8",
    )
    return tmp_path


def check(*extra: str) -> tuple[int, str, str]:
    return svcpolicy(
        "check", "data/records.jsonl", "--pack", "pack", "--as-of", AS_OF, "--no-config", "--no-progress", *extra
    )


def test_every_format_is_offered_by_the_check_command() -> None:
    assert {"text", "json", "jsonl", "sarif", "junit", "csv", "markdown", "github"} <= set(FORMATS)


def test_sarif_validates_against_the_oasis_schema_and_points_at_file_and_line(project: Path) -> None:
    code, out, _ = check("--format", "sarif", "--waivers", "waivers.yaml")
    assert code == 1
    log = json.loads(out)
    assert_valid_sarif(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [UNAUTHORISED, DISCLOSURE, "svcpolicy/invalid-record"]
    citation = rules[0]["properties"]["citations"][0]
    assert (citation["label"], citation["text"]) == ("第十六条", ARTICLE_16)
    assert ARTICLE_15 in rules[1]["help"]["text"]
    assert rules[1]["properties"]["waivable"] is False
    by_record = {r["properties"]["recordId"]: r for r in run["results"] if "recordId" in r.get("properties", {})}
    r1 = by_record["R1"]
    assert r1["ruleId"] == UNAUTHORISED and r1["level"] == "error" and r1["kind"] == "fail"
    physical = r1["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "data/records.jsonl", "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == 1
    assert r1["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "R1/operations[0]"
    assert r1["partialFingerprints"]["svcpolicyFingerprint/v1"].startswith("sha256:")
    assert by_record["R3"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert by_record["R3"]["level"] == "warning"  # medium


def test_sarif_marks_a_waived_finding_as_an_accepted_external_suppression(project: Path) -> None:
    _, out, _ = check("--format", "sarif", "--waivers", "waivers.yaml")
    results = json.loads(out)["runs"][0]["results"]
    waived = next(r for r in results if r.get("properties", {}).get("recordId") == "R4")
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == "客户书面授权已补录"
    assert suppression["properties"]["approver"] == "合规部 张三"
    assert suppression["location"]["physicalLocation"]["region"]["startLine"] == 2
    assert "suppressions" not in next(r for r in results if r.get("properties", {}).get("recordId") == "R1")


def test_sarif_says_new_or_unchanged_against_a_baseline_and_invalid_records_are_results(project: Path) -> None:
    write_records(project / "old.jsonl", unauthorised("R1"))
    svcpolicy("check", "old.jsonl", "--pack", "pack", "--as-of", AS_OF, "--no-config", "--write-baseline", "b.json")
    _, out, _ = check("--format", "sarif", "--baseline", "b.json")
    log = json.loads(out)
    assert_valid_sarif(log)
    states = {
        r["properties"]["recordId"]: r["baselineState"]
        for r in log["runs"][0]["results"]
        if r["ruleId"] != "svcpolicy/invalid-record"
    }
    assert states == {"R1": "unchanged", "R3": "new", "R4": "new"}
    invalid = [r for r in log["runs"][0]["results"] if r["ruleId"] == "svcpolicy/invalid-record"]
    assert len(invalid) == 1 and invalid[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 5


def test_sarif_of_the_bundled_pack_on_the_example_records_validates(tmp_path: Path) -> None:
    code, out, _ = svcpolicy(
        "check", REPO / "examples" / "records.jsonl", "--as-of", AS_OF, "--no-config", "--format", "sarif"
    )
    assert code == 1
    log = json.loads(out)
    assert_valid_sarif(log)
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) >= 14  # every rule, fired or not


def test_junit_has_a_testcase_per_finding_and_a_failure_per_blocking_finding(project: Path) -> None:
    code, out, _ = check("--format", "junit", "--waivers", "waivers.yaml")
    assert code == 1
    root = ET.fromstring(out)  # noqa: S314 - our own output
    suite = root.find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    r1, r3, r4 = (
        f"{UNAUTHORISED} R1 operations[0]",
        f"{DISCLOSURE} R3 disclosures[0]",
        f"{UNAUTHORISED} R4 operations[0]",
    )
    assert set(cases) == {r1, r3, r4, "svcpolicy.records"}
    failures = cases[r1].findall("failure")
    assert len(failures) == 1 and "R1" in (failures[0].get("message") or "")
    assert ARTICLE_16 in (failures[0].text or "")
    skipped = cases[r4].find("skipped")  # reported, not a failure
    assert skipped is not None and "已豁免 W-1" in (skipped.get("message") or "")
    assert len(cases[r3].findall("failure")) == 1
    assert len(cases["svcpolicy.records"].findall("error")) == 1
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")


def test_junit_rule_without_findings_is_a_passing_testcase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_gate_pack(tmp_path / "pack")
    write_records(tmp_path / "ok.jsonl", authorised("R1"))
    code, out, _ = svcpolicy(
        "check", "ok.jsonl", "--pack", "pack", "--as-of", AS_OF, "--no-config", "--format", "junit"
    )
    assert code == 0
    root = ET.fromstring(out)  # noqa: S314 - our own output
    assert [(c.get("name") or "").split()[0] for c in root.iter("testcase")] == [UNAUTHORISED, DISCLOSURE]
    assert not list(root.iter("failure"))


def test_csv_has_a_row_per_finding_and_invalid_record(project: Path) -> None:
    _, out, _ = check("--format", "csv", "--waivers", "waivers.yaml")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["record_id"], r["status"], r["outcome"]) for r in rows] == [
        ("R1", "open", "violation"),
        ("R3", "open", "violation"),
        ("R4", "waived", "violation"),
        ("R5", "open", "invalid"),
    ]
    assert rows[0]["line"] == "1" and rows[0]["citations"] == "svc-rules/16" and rows[0]["path"] == "operations[0]"
    assert rows[2]["waiver"] == "W-1" and rows[2]["waiver_expires"] == "2026-12-31"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    write_gate_pack(tmp_path / "pack")
    write_records(tmp_path / "r.jsonl", disclosed("=cmd|' /C calc'!A0"))
    _, out, _ = svcpolicy("check", tmp_path / "r.jsonl", "--pack", tmp_path / "pack", "--no-config", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["record_id"] == "'=cmd|' /C calc'!A0"
    assert row["rule"] == DISCLOSURE  # ordinary cells are left alone


def test_csv_written_to_a_file_starts_with_a_bom_for_spreadsheets(project: Path) -> None:
    check("--output", "csv=out/findings.csv")
    assert (project / "out" / "findings.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_markdown_summary_groups_by_article_and_shows_the_verdict(project: Path) -> None:
    _, out, _ = check("--format", "markdown", "--waivers", "waivers.yaml", "--lang", "en")
    assert out.startswith("## svcpolicy: gate 1 — failed: 3 blocking")
    assert f"> {ARTICLE_16}" in out and f"> {ARTICLE_15}" in out
    assert "| **blocking** | critical | R1 |" in out
    assert "waived W-1 (until 2026-12-31, 合规部 张三: 客户书面授权已补录)" in out
    assert "### Invalid records" in out


def test_github_format_writes_error_annotations_on_the_record_line(project: Path) -> None:
    _, out, _ = check("--format", "github", "--waivers", "waivers.yaml", "--fail-on", "high", "--lang", "en")
    lines = out.splitlines()
    r1 = next(line for line in lines if "R1 operations[0]" in line)
    assert r1.startswith("::error file=data/records.jsonl,line=1,title=SVC-016-unauthorized-operation [critical]::")
    assert "%0A" in r1 and ARTICLE_16 in r1 and "\n" not in r1
    r3 = next(line for line in lines if "R3 disclosures[0]" in line)
    assert r3.startswith("::warning file=data/records.jsonl,line=3,")  # medium, below --fail-on high
    r4 = next(line for line in lines if "R4 operations[0]" in line)
    assert r4.startswith("::notice ") and "waived W-1" in r4
    assert lines[0].startswith("::notice title=svcpolicy gate%3A failed%3A 2 blocking::")


def test_several_outputs_in_one_run_alongside_stdout(project: Path) -> None:
    code, out, _ = check(
        "--output",
        "sarif=reports/out.sarif",
        "--output",
        "junit=reports/out.xml",
        "--output",
        "jsonl=reports/out.jsonl",
        "--output",
        "markdown=reports/summary.md",
    )
    assert code == 1
    assert out.strip().endswith("共 5 条记录：合规 1，有违规 3（违规 3 项），无法判定 0，无效 1")
    reports = project / "reports"
    assert_valid_sarif(json.loads((reports / "out.sarif").read_text(encoding="utf-8")))
    ET.parse(reports / "out.xml")  # noqa: S314 - our own output
    lines = [json.loads(line) for line in (reports / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(line["outcome"], line["status"]) for line in lines] == [("violation", "open")] * 3 + [("invalid", "open")]
    assert (reports / "summary.md").read_text(encoding="utf-8").startswith("## svcpolicy")


def test_a_bare_output_path_receives_the_main_format(project: Path) -> None:
    code, out, _ = check("--format", "json", "-o", "report.json")
    assert code == 1 and out == ""
    assert json.loads((project / "report.json").read_text(encoding="utf-8"))["counts"]["records"] == 5


def test_an_unknown_output_format_is_a_usage_error(project: Path) -> None:
    code, _, err = check("--output", "srif=out.sarif")
    assert code == 2 and "unknown format 'srif'" in err
    assert not (project / "out.sarif").exists()
