"""The console command as a compliance gate: output grouped by article, exit codes, machine formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, operation
from svcpolicy.cli import main
from svcpolicy.cli.exits import EXIT_OUTPUT_CLOSED

AS_OF = "2026-11-27T00:00:00+08:00"


def write_records(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return write_records(
        tmp_path / "records.jsonl",
        {"id": "R1", "operations": [operation()]},
        {"id": "R2", "operations": [operation(None), operation(None)]},
    )


def run(*args: str | Path) -> tuple[int, str]:
    from contextlib import redirect_stdout
    from io import StringIO

    argv = [str(a) for a in args]
    if argv[0] == "check":  # an ancestor pyproject.toml must not change what the test sees
        argv.append("--no-config")
    out = StringIO()
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_text_output_groups_findings_under_the_article_shown_once(mini_pack: Path, records: Path) -> None:
    code, out = run("check", records, "--pack", mini_pack, "--as-of", AS_OF)
    assert code == 1
    assert out.count("本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。") == 1
    assert out.count("] SVC-016-unauthorized-operation: ") == 2
    assert "各规则违规数：\n       2  SVC-016-unauthorized-operation  " in out
    assert "第十六条" in out
    assert out.strip().endswith("共 2 条记录：合规 1，有违规 1（违规 2 项），无法判定 0，无效 0")


def test_english_messages_on_request(mini_pack: Path, records: Path) -> None:
    _, out = run("check", records, "--pack", mini_pack, "--as-of", AS_OF, "--lang", "en")
    assert "Operation close_account was done without the customer's authorisation" in out


def test_exit_zero_when_nothing_reaches_the_fail_on_severity(mini_pack: Path, tmp_path: Path) -> None:
    clean = write_records(tmp_path / "clean.jsonl", {"id": "R1", "operations": [operation()]})
    assert run("check", clean, "--pack", mini_pack, "--as-of", AS_OF)[0] == 0


def test_exit_two_for_an_unreadable_input_after_checking_the_rest(mini_pack: Path, records: Path) -> None:
    code, out = run("check", records, records.parent / "absent.jsonl", "--pack", mini_pack, "--as-of", AS_OF)
    assert code == 2
    assert "共 2 条记录" in out


def test_exit_two_for_a_broken_pack(tmp_path: Path, records: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "pack.yaml").write_text("pack: [unclosed\n", encoding="utf-8")
    assert run("check", records, "--pack", tmp_path / "bad")[0] == 2


def test_json_output_carries_counts_and_findings(mini_pack: Path, records: Path) -> None:
    _, out = run("check", records, "--pack", mini_pack, "--as-of", AS_OF, "--format", "json")
    data = json.loads(out)
    assert data["counts"]["records"] == 2 and data["counts"]["reconciled"]
    assert [f["record"]["path"] for f in data["findings"]] == ["operations[0]", "operations[1]"]


def test_jsonl_output_is_one_finding_per_line(mini_pack: Path, records: Path) -> None:
    _, out = run("check", records, "--pack", mini_pack, "--as-of", AS_OF, "--format", "jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["rule"] for line in lines] == ["SVC-016-unauthorized-operation"] * 2


def test_schema_prints_the_record_json_schema() -> None:
    code, out = run("schema")
    schema = json.loads(out)
    assert code == 0 and "operations" in schema["properties"]


def test_the_console_script_runs_the_demo_records_with_the_bundled_pack() -> None:
    exe = Path(sys.executable).parent / "svcpolicy"
    result = subprocess.run(
        [str(exe), "check", str(REPO / "examples" / "records.jsonl"), "--as-of", AS_OF, "--no-config"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "有违规" in result.stdout and "无效" in result.stdout


def test_a_report_whose_reader_has_gone_ends_quietly_with_the_broken_pipe_code() -> None:
    """``svcpolicy check … | head``: the reader stops early, so the run has no verdict and no error to tell."""
    exe = Path(sys.executable).parent / "svcpolicy"
    checking = subprocess.Popen(
        [str(exe), "check", str(REPO / "examples" / "records.jsonl"), "--as-of", AS_OF, "--no-config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert checking.stdout is not None and checking.stderr is not None
    checking.stdout.close()  # the only reader: every write of the report now meets a closed pipe
    err = checking.stderr.read().decode()
    assert checking.wait(timeout=120) == EXIT_OUTPUT_CLOSED == 141
    assert err == ""


@pytest.fixture
def mini_pack(write_pack: object) -> Path:
    return write_pack()  # type: ignore[operator, no-any-return]
