"""The gate alone decides whether a run passes: the exit code of ``svcpolicy check`` is its verdict, and every
format tells the same verdict.

Each case runs the command in-process over the bundled examples, once with ``--format json`` (the verdict the
gate reports) and once per format offered by ``--format``, with the same flags. The exit code must follow the
verdict (0 passed, 2 an input could not be read, 1 any other failure) and each format's own rendering of the
verdict (Markdown heading, JUnit failures and errors, SARIF invocation, GitHub notice, blocking rows) must
agree with it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import svcpolicy
from conftest import REPO
from gatekit import svcpolicy as run_cli
from svcpolicy.cli.commands import check as check_command
from svcpolicy.gate.baseline import write_baseline
from svcpolicy.reporting.ci import write_markdown

AS_OF = "2026-11-27T00:00:00+08:00"
EXAMPLES = REPO / "examples" / "records.jsonl"


def _check_formats() -> list[str]:
    """The formats ``svcpolicy check --format`` offers, read from the command's own arguments."""
    parser = argparse.ArgumentParser()
    check_command.add_arguments(parser)
    option = next(a for a in parser._actions if "--format" in a.option_strings)
    assert option.choices is not None
    return sorted(option.choices)


FORMATS = _check_formats()

SCENARIOS: dict[str, list[str]] = {
    "no flags": [],
    "--fail-on high": ["--fail-on", "high"],
    "--fail-on critical": ["--fail-on", "critical"],
    "--fail-on-undetermined": ["--fail-on-undetermined"],
    "waivers for every finding": ["--waivers", "{all_waived}"],
    "a stale waiver, --fail-on-stale-waivers": ["--waivers", "{stale}", "--fail-on-stale-waivers"],
    "every finding waived, one stale waiver": ["--waivers", "{all_waived_and_stale}"],
    "every finding waived, one stale waiver, --fail-on-stale-waivers": [
        "--waivers",
        "{all_waived_and_stale}",
        "--fail-on-stale-waivers",
    ],
    "a baseline of every finding": ["--baseline", "{baseline}"],
    "--write-baseline": ["--write-baseline", "{written}"],
    "an unreadable extra input": ["{absent}"],
    "a baseline of every finding and an unreadable extra input": ["{absent}", "--baseline", "{baseline}"],
}
"""Flags per case; an extra input comes first, so that it follows the records on the command line."""

INPUTS = ("examples", "examples without the invalid record")

PASSING = {
    ("examples without the invalid record", "waivers for every finding"),
    ("examples without the invalid record", "every finding waived, one stale waiver"),
    ("examples without the invalid record", "a baseline of every finding"),
    ("examples without the invalid record", "--write-baseline"),
}
"""The only runs that pass: every finding accepted, no invalid record, every input read, no stale waiver judged."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, bundled: svcpolicy.Policy) -> Path:
    """The inputs of every case: the examples without their invalid record, waivers, a baseline."""
    root = tmp_path_factory.mktemp("verdict")
    report = bundled.evaluate(EXAMPLES, as_of=dt.datetime.fromisoformat(AS_OF))
    invalid_lines = {item.record.line for item in report.invalid}
    assert invalid_lines, "the examples have an invalid record, so some runs fail whatever is accepted"
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = "".join(line for number, line in enumerate(lines, start=1) if number not in invalid_lines)
    (root / "valid.jsonl").write_text(kept, encoding="utf-8")
    fingerprints = sorted({f.fingerprint for f in report.findings})
    waived = "".join(
        f"  - fingerprint: {fp}\n    reason: accepted for the test\n    approver: QA\n    expires: 2026-12-31\n"
        for fp in fingerprints
    )
    stale = (
        "  - id: W-STALE\n    rule: SVC-016-unauthorized-operation\n    record: NO-SUCH-RECORD\n"
        "    reason: the record was deleted\n    approver: QA\n    expires: 2026-12-31\n"
    )
    (root / "all_waived.yaml").write_text("waivers:\n" + waived, encoding="utf-8")
    (root / "stale.yaml").write_text("waivers:\n" + stale, encoding="utf-8")
    (root / "all_waived_and_stale.yaml").write_text("waivers:\n" + waived + stale, encoding="utf-8")
    write_baseline(root / "baseline.json", report.findings, bundled.ref, report.as_of)
    return root


@pytest.fixture(autouse=True)
def bundled_pack_loaded_once(monkeypatch: pytest.MonkeyPatch, bundled: svcpolicy.Policy) -> None:
    """Parsing the bundled pack's YAML is most of a run: the command gets the session's copy of it."""
    real = svcpolicy.load_policy

    def load(pack: str | None, calendar: svcpolicy.HolidayCalendar | None = None) -> svcpolicy.Policy:
        return bundled if pack is None else real(pack, calendar=calendar)  # these runs give no --holidays

    monkeypatch.setattr(check_command, "load_policy", load)


def check(workdir: Path, records: str, scenario: str, *extra: str) -> tuple[int, str, str]:
    files = {
        "all_waived": workdir / "all_waived.yaml",
        "stale": workdir / "stale.yaml",
        "all_waived_and_stale": workdir / "all_waived_and_stale.yaml",
        "baseline": workdir / "baseline.json",
        "written": workdir / "written.json",  # read by no other case
        "absent": workdir / "absent.jsonl",
    }
    flags = [flag.format(**files) for flag in SCENARIOS[scenario]]
    path = EXAMPLES if records == "examples" else workdir / "valid.jsonl"
    return run_cli("check", path, *flags, "--as-of", AS_OF, "--no-config", "--no-progress", *extra)


ReportedGate = Callable[[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def reported_gate(workdir: Path) -> ReportedGate:
    """The gate as ``--format json`` reports it for these flags (one run per case, shared by every format)."""

    @functools.cache
    def reported(records: str, scenario: str) -> dict[str, Any]:
        code, out, _ = check(workdir, records, scenario, "--format", "json")
        report = json.loads(out)
        assert code == exit_code_of(report["gate"]), "the json run's own exit code follows its verdict"
        return {**report["gate"], "report": report}

    return reported


def exit_code_of(gate: dict[str, Any]) -> int:
    if gate["passed"]:
        return 0
    return 2 if any(r["kind"] == "input-failure" for r in gate["reasons"]) else 1


CASES = [pytest.param(records, scenario, id=f"{records}|{scenario}") for records in INPUTS for scenario in SCENARIOS]


@pytest.mark.parametrize(("records", "scenario"), CASES)
def test_the_gate_passes_only_when_every_finding_is_accepted_and_every_input_read(
    reported_gate: ReportedGate, records: str, scenario: str
) -> None:
    gate = reported_gate(records, scenario)
    assert gate["passed"] == ((records, scenario) in PASSING)
    assert gate["passed"] == (not gate["reasons"])
    blocking_items = [f for f in gate["report"]["findings"] if f["blocking"]] + gate["report"]["invalid"]
    assert gate["blocking"] == len(blocking_items)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("records", "scenario"), CASES)
def test_the_exit_code_and_every_format_give_the_gates_verdict(
    workdir: Path, reported_gate: ReportedGate, records: str, scenario: str, fmt: str
) -> None:
    gate = reported_gate(records, scenario)
    code, out, _ = check(workdir, records, scenario, "--format", fmt)
    assert code == exit_code_of(gate)
    assert_format_agrees(fmt, out, gate)


def assert_format_agrees(fmt: str, out: str, gate: dict[str, Any]) -> None:
    """The verdict as the format itself renders it, where it renders one."""
    passed, blocking = gate["passed"], gate["blocking"]
    input_failed = any(r["kind"] == "input-failure" for r in gate["reasons"])
    if fmt == "json":
        assert {k: json.loads(out)["gate"][k] for k in ("passed", "blocking", "reasons")} == {
            k: gate[k] for k in ("passed", "blocking", "reasons")
        }
    elif fmt == "jsonl":
        assert sum(1 for line in out.splitlines() if json.loads(line)["blocking"]) == blocking
    elif fmt == "csv":
        assert sum(1 for row in csv.DictReader(io.StringIO(out)) if row["blocking"] == "yes") == blocking
    elif fmt == "sarif":
        (run,) = json.loads(out)["runs"]
        (invocation,) = run["invocations"]
        assert invocation["properties"]["verdict"] == {k: gate[k] for k in ("passed", "blocking", "reasons")}
        assert invocation["executionSuccessful"] is not input_failed
        assert run["properties"]["gate"]["passed"] is passed
    elif fmt == "junit":
        suites = ET.fromstring(out)  # noqa: S314 - our own output
        assert (int(suites.get("failures", "0")) + int(suites.get("errors", "0")) == 0) is passed
    elif fmt == "markdown":  # Chinese, the default language
        heading = out.splitlines()[0]
        assert heading.endswith("— 通过") if passed else "— 未通过：" in heading
    elif fmt == "github":  # the summary notice comes first, so GitHub's 10-per-type limit never hides it
        opening = out.splitlines()[0]
        assert opening.startswith("::notice title=svcpolicy ")
        assert ("%3A 通过::" in opening) if passed else ("%3A 未通过：" in opening)
    elif fmt == "gitlab":  # Code Quality has no verdict: every item that fails the gate is one of its issues
        assert len(json.loads(out)) >= blocking


def test_writing_a_baseline_accepts_the_run_it_writes(workdir: Path) -> None:
    """--write-baseline accepts the current findings: the same run reports them as baselined and passes."""
    code, out, err = check(workdir, "examples without the invalid record", "--write-baseline", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["gate"]["passed"] is True
    assert {f["status"] for f in report["findings"]} == {"baselined"}
    assert report["counts"]["baselined"] == len(report["findings"]) > 0
    assert "wrote a baseline of" in err


def test_an_invalid_record_still_fails_a_run_that_writes_a_baseline(workdir: Path) -> None:
    code, out, _ = check(workdir, "examples", "--write-baseline", "--format", "json")
    gate = json.loads(out)["gate"]
    assert code == 1 and gate["passed"] is False
    assert gate["reasons"] == [{"kind": "invalid-record", "count": 1, "message": "1 invalid record(s)"}]


def test_stale_waivers_fail_junit_under_fail_on_stale_waivers(workdir: Path) -> None:
    scenario = "every finding waived, one stale waiver, --fail-on-stale-waivers"
    code, out, _ = check(workdir, "examples without the invalid record", scenario, "--format", "junit")
    assert code == 1
    case = ET.fromstring(out).find(".//testcase[@name='svcpolicy.waivers']")  # noqa: S314 - our own output
    assert case is not None
    (failure,) = case.findall("failure")
    assert failure.get("type") == "stale-waiver" and "W-STALE" in (failure.text or "")


def test_a_report_without_a_gate_gets_the_default_verdict(bundled: svcpolicy.Policy, tmp_path: Path) -> None:
    """A plain library evaluation: every violation and invalid record blocks, an unread input fails."""
    report = bundled.evaluate(
        [EXAMPLES, tmp_path / "absent.jsonl"], as_of=dt.datetime.fromisoformat(AS_OF), on_input_error="report"
    )
    verdict = report.verdict
    assert not verdict.passed
    assert verdict.blocking == len(report.violations) + len(report.invalid)
    assert verdict.input_failures == 1
    out = io.StringIO()
    write_markdown(report, out)
    assert out.getvalue().splitlines()[0].endswith(f"— 未通过：{verdict.blocking} 项阻断，1 个输入未能读取")
