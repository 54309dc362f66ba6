"""CI formats as their consumers read them: JUnit with one case per finding, GitHub annotations most severe
first with a summary notice (and the job summary), GitLab Code Quality in the structure GitLab documents."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gatekit import (
    DISCLOSURE,
    UNAUTHORISED,
    authorised,
    disclosed,
    svcpolicy,
    unauthorised,
    write_gate_pack,
    write_records,
)
from svcpolicy.reporting.ci import STEP_SUMMARY
from svcpolicy.reporting.gitlab import GITLAB_SEVERITIES

AS_OF = "2026-11-27T00:00:00+08:00"
GITLAB_SEVERITY_NAMES = {"info", "minor", "major", "critical", "blocker"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STEP_SUMMARY, raising=False)
    write_gate_pack(tmp_path / "pack")
    write_records(tmp_path / "records.jsonl", disclosed("R1"), unauthorised("R2"), unauthorised("R3"), authorised("R4"))
    with (tmp_path / "records.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "R5", "started_at": "not a time"}\n')
    return tmp_path


def check(*extra: str) -> tuple[int, str, str]:
    return svcpolicy(
        "check", "records.jsonl", "--pack", "pack", "--as-of", AS_OF, "--no-config", "--no-progress", *extra
    )


def test_junit_has_one_testcase_per_finding_and_one_passing_case_per_quiet_rule(project: Path) -> None:
    _, out, _ = check("--format", "junit")
    suite = ET.fromstring(out).find("testsuite")  # noqa: S314 - our own output
    assert suite is not None
    cases = list(suite.iter("testcase"))
    failing = [c for c in cases if c.find("failure") is not None]
    assert sorted(c.get("name") or "" for c in failing) == [
        f"{DISCLOSURE} R1 disclosures[0]",
        f"{UNAUTHORISED} R2 operations[0]",
        f"{UNAUTHORISED} R3 operations[0]",
    ]
    assert all(len(c.findall("failure")) == 1 for c in failing)
    assert {c.get("classname") for c in failing} == {f"gate.{UNAUTHORISED}", f"gate.{DISCLOSURE}"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "3", "1")


def test_junit_lists_a_finding_the_gate_accepts_as_a_skipped_case(project: Path) -> None:
    _, out, _ = check("--format", "junit", "--fail-on", "critical")
    suite = ET.fromstring(out).find("testsuite")  # noqa: S314 - our own output
    assert suite is not None
    (case,) = [c for c in suite.iter("testcase") if (c.get("name") or "").startswith(DISCLOSURE)]
    skipped = case.find("skipped")
    assert skipped is not None and "低于 --fail-on 阈值" in (skipped.get("message") or "")
    assert suite.get("skipped") == "1"


def test_github_opens_with_a_summary_notice_then_errors_most_severe_first(project: Path) -> None:
    _, out, _ = check("--format", "github", "--lang", "en")
    lines = out.splitlines()
    assert lines[0].startswith("::notice title=svcpolicy gate%3A failed%3A 4 blocking::")
    assert "3 errors" not in lines[0] and "4 errors" in lines[0] and "full report: this step's log" in lines[0]
    errors = [line for line in lines[1:] if line.startswith("::error")]
    assert len(errors) == 4
    assert [UNAUTHORISED in e for e in errors[:2]] == [True, True]  # critical before medium
    assert DISCLOSURE in errors[2] and "invalid" in errors[3].lower()


def test_github_writes_the_markdown_report_to_the_job_summary(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = project / "summary.md"
    monkeypatch.setenv(STEP_SUMMARY, str(summary))
    _, out, _ = check("--format", "github")
    assert summary.read_text(encoding="utf-8").startswith("## svcpolicy: gate 1 — 未通过：4 项阻断")
    assert "完整报告见 作业摘要" in out.splitlines()[0]


def test_gitlab_code_quality_has_the_keys_gitlab_requires(project: Path) -> None:
    code, out, _ = check("--format", "gitlab")
    assert code == 1
    issues = json.loads(out)
    assert isinstance(issues, list) and len(issues) == 4
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in GITLAB_SEVERITY_NAMES
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int) and issue["location"]["lines"]["begin"] >= 1
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    assert [i["check_name"] for i in issues[:2]] == [UNAUTHORISED, UNAUTHORISED]  # most severe first
    assert issues[0]["severity"] == "blocker" and issues[0]["location"] == {
        "path": "records.jsonl",
        "lines": {"begin": 2},
    }
    assert issues[-1]["check_name"] == "svcpolicy/invalid-record"


def test_gitlab_leaves_out_waived_findings_and_keeps_fingerprints_across_runs(project: Path) -> None:
    (project / "waivers.yaml").write_text(
        f"waivers:\n  - id: W-1\n    rule: {UNAUTHORISED}\n    record: R2\n    reason: 已补录\n"
        "    approver: 合规部\n    expires: 2026-12-31\n",
        encoding="utf-8",
    )
    _, first, _ = check("--format", "gitlab")
    _, waived, _ = check("--format", "gitlab", "--waivers", "waivers.yaml")
    before = {i["fingerprint"] for i in json.loads(first)}
    after = {i["fingerprint"] for i in json.loads(waived)}
    assert after < before and len(before - after) == 1


def test_every_severity_maps_to_a_gitlab_severity() -> None:
    assert set(GITLAB_SEVERITIES.values()) == GITLAB_SEVERITY_NAMES
