"""Record data cannot act in text, GitHub or Markdown output: no escapes, no forged lines, no live links (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MINI_PACK
from gatekit import svcpolicy

OSC_LINK = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
RED = "\x1b[31m"
FORGED = "svcpolicy: all records compliant"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    record = {
        "id": f"R1\n{FORGED}",
        "kind": "interaction",
        "operations": [
            {
                "kind": f"{RED}close{OSC_LINK} ![pixel](https://evil.example/p.png) [docs](https://evil.example)",
                "affects_customer_rights": True,
                "at": "2026-01-05T10:00:00+08:00",
                "authorization": None,
            }
        ],
    }
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return pack, records


def _check(hostile: tuple[Path, Path], fmt: str) -> str:
    pack, records = hostile
    code, out, _ = svcpolicy("check", records, "--pack", pack, "--no-config", "--format", fmt, "--lang", "en")
    assert code == 1
    return out


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_escape_sequences_from_records_are_shown_not_sent_to_the_terminal(hostile: tuple[Path, Path], fmt: str) -> None:
    out = _check(hostile, fmt)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31m" in out


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_a_newline_in_a_record_id_cannot_forge_a_report_line(hostile: tuple[Path, Path], fmt: str) -> None:
    lines = _check(hostile, fmt).splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    if fmt == "github":
        assert all(line.startswith("::") for line in lines)


def test_links_and_images_from_records_are_inert_in_markdown(hostile: tuple[Path, Path]) -> None:
    out = _check(hostile, "markdown")
    assert "](" not in out.replace("\\](", "")
    assert "https://evil.example" not in out
    assert "evil.example" in out  # shown, defanged
