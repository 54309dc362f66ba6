"""Issue 14, as a new user types it: ``svcpolicy check DIR --include/--exclude`` and the demo's header."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from svcpolicy.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "records.jsonl"
AS_OF = dt.datetime(2026, 11, 27, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    for name in ("branch-a/nov.jsonl", "branch-a/nov-draft.jsonl", "branch-b/nov.jsonl"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES, tmp_path / name)
    return tmp_path


def test_check_dir_with_include_and_exclude_reads_only_the_files_they_leave(
    exports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check", str(exports), "--include", "branch-a/*", "--exclude", "*-draft.*", "--lang", "en"]
    main([*args, "--as-of", AS_OF.isoformat(), "--no-config"])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"Checking 1 record file ({exports / 'branch-a' / 'nov.jsonl'}) against pack")


def test_the_demo_starts_with_a_chinese_header_naming_the_files_and_the_pack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["check", str(EXAMPLES), "--as-of", AS_OF.isoformat(), "--no-config"])
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith(f"检查 1 个记录文件（{EXAMPLES}），规则包 cn-bank-service ")
    assert header.endswith("条规则）")
