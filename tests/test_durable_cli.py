"""`--engine durable` on the command line: the same report and exit code, and the rules left to the closure
engine named on stderr by `check` and `lint`."""

from __future__ import annotations

import pytest

from conftest import REPO
from svcpolicy.cli import main

AS_OF = "2026-11-27T00:00:00+08:00"
EXAMPLES = REPO / "examples" / "records.jsonl"


@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_check_with_the_durable_engine_writes_the_same_report_and_exit_code(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    native = main(["check", str(EXAMPLES), "--as-of", AS_OF, "--format", fmt, "--no-config"])
    native_out = capsys.readouterr().out
    durable = main(["check", str(EXAMPLES), "--as-of", AS_OF, "--format", fmt, "--no-config", "--engine", "durable"])
    captured = capsys.readouterr()
    assert (durable, captured.out) == (native, native_out)
    assert native == 1 and "SVC-016-unauthorized-operation" in native_out
    assert "SVC-018-guaranteed-return-statement runs on the closure engine: " in captured.err
    assert "durable-rules judged" in captured.err


def test_lint_with_the_durable_engine_notes_the_rules_it_cannot_express(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", str(REPO / "rules" / "cn-bank-service"), "--engine", "durable", "--no-config"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: SVC-018-guaranteed-return-statement runs on the closure engine under --engine durable" in out
    assert "note: SVC-016-operation-not-applied-for" not in out
