"""Round four of the hostile-input sweep, kept as tests: record text that starts like a spreadsheet formula or
holds a control character is stored as plain text in the Excel workbook; a carriage return or a bidi override
cannot forge or reorder a line of text, GitHub or Markdown output; file names, example names and year-file notes
are shown with their control characters visible; `explain`, `watch`, the configuration and the files named by
options answer hostile input with a clear, located error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditing import RECORDS, audit, op, record
from conftest import MINI_PACK
from gatekit import svcpolicy
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS
from svcpolicy.cli.main import main
from svcpolicy.gate import baseline

AS_OF = "2026-11-27T00:00:00+08:00"
FORMULA = '=HYPERLINK("http://evil.example","click")'
RLO = "\u202e"
FORGED_ROW = "| open | critical | FORGED |"


def _mini_pack(root: Path) -> Path:
    pack = root / "pack"
    pack.mkdir(exist_ok=True)
    (pack / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    return pack


def _unauthorised(record_id: str, kind: str = "close_account") -> dict[str, Any]:
    """A record the mini pack finds in violation: an operation without the customer's authorisation."""
    operation = {"kind": kind, "affects_customer_rights": True, "at": "2026-01-05T10:00:00+08:00"}
    return {"id": record_id, "kind": "interaction", "operations": [{**operation, "authorization": None}]}


def _check(root: Path, records: list[dict[str, Any]], fmt: str, name: str = "records.jsonl") -> str:
    path = root / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, out, _ = svcpolicy(
        "check", path, "--pack", _mini_pack(root), "--no-config", "--format", fmt, "--lang", "en", "--as-of", AS_OF
    )
    assert code == EXIT_FINDINGS
    return out


# -- the Excel workbook ------------------------------------------------------------------------------------


def _workbook_cells(tmp_path: Path, hostile: dict[str, Any]) -> list[Any]:
    pytest.importorskip("pandas")
    openpyxl = pytest.importorskip("openpyxl")
    report = audit(tmp_path, [*RECORDS, hostile], aggregate=True)
    workbook = openpyxl.load_workbook(report.to_excel(tmp_path / "audit.xlsx"))
    return [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]


def test_a_record_text_that_starts_like_a_formula_is_stored_as_quoted_text_in_the_excel_workbook(
    tmp_path: Path,
) -> None:
    hostile = record(
        FORMULA,
        "=cmd|' /C calc'!A0",
        "+E1",
        "C100009",
        "2026-11-23T09:00:00+08:00",
        wait=99,
        operations=[op(False, kind="=1+1")],
    )
    cells = _workbook_cells(tmp_path, hostile)
    assert [c for c in cells if c.data_type == "f"] == []
    shown = [c for c in cells if c.value in (FORMULA, "=cmd|' /C calc'!A0", "+E1")]
    assert {c.value for c in shown} == {FORMULA, "=cmd|' /C calc'!A0", "+E1"}  # readable, as written
    assert all(c.data_type == "s" and c.quotePrefix for c in shown)


def test_a_control_character_in_a_record_is_shown_visibly_in_the_excel_workbook_rather_than_refusing_it(
    tmp_path: Path,
) -> None:
    hostile = record("R\x1b[31m99\x00", "SH-\x07001", "E1", "C100009", "2026-11-23T09:00:00+08:00", wait=99)
    values = [c.value for c in _workbook_cells(tmp_path, hostile) if isinstance(c.value, str)]
    assert "R\\x1b[31m99\\x00" in values and "SH-\\x07001" in values


# -- text, GitHub and Markdown ------------------------------------------------------------------------------


def test_a_carriage_return_in_a_record_cannot_split_a_markdown_table_row(tmp_path: Path) -> None:
    out = _check(tmp_path, [_unauthorised(f"R1\r{FORGED_ROW}", kind="close\x1b[31m")], "markdown")
    assert "\r" not in out and "\x1b" not in out
    assert "R1\\x0d\\| open \\| critical \\| FORGED \\|" in out and "close\\x1b\\[31m" in out


@pytest.mark.parametrize("fmt", ["text", "github", "markdown"])
def test_a_bidi_override_in_a_record_is_shown_as_an_escape_and_cannot_reverse_the_line(
    tmp_path: Path, fmt: str
) -> None:
    out = _check(tmp_path, [_unauthorised(f"R1{RLO}gnp.exe", kind=f"close{RLO}\u2066x\u2069")], fmt)
    assert RLO not in out and "\u2066" not in out and "\u2069" not in out
    assert "R1\\u202egnp.exe" in out and "close\\u202e\\u2066x\\u2069" in out


def test_a_file_name_holding_a_terminal_escape_is_shown_visibly_in_the_header_and_in_the_unread_input_error(
    tmp_path: Path,
) -> None:
    hostile_name = "export\x1b]0;pwned\x07.jsonl"
    out = _check(tmp_path, [_unauthorised("R1")], "text", name=hostile_name)
    assert "\x1b" not in out and "export\\x1b]0;pwned\\x07.jsonl" in out
    missing = tmp_path / "gone\x1b[2J.jsonl"
    code, _, err = svcpolicy("check", missing, "--pack", _mini_pack(tmp_path), "--no-config", "--as-of", AS_OF)
    assert code == EXIT_ERROR
    assert "\x1b" not in err and "gone\\x1b[2J.jsonl: no such file" in err


# -- options, commands and configuration ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "calendar"])
def test_an_as_of_without_an_offset_is_answered_with_an_example_that_is_itself_accepted(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--no-config", "--as-of", "2026-11-27T00:00"])
    example = capsys.readouterr().err.rsplit("e.g. ", 1)[1].split()[0]
    assert example == "2026-11-27T00:00:00+08:00"
    assert svcpolicy("calendar", "--no-config", "--as-of", example)[0] == 0


def test_explain_with_an_empty_name_is_an_error_rather_than_some_rule_explained() -> None:
    code, out, err = svcpolicy("explain", "  ")
    assert code == EXIT_ERROR and out == ""
    assert "explain needs an article label" in err


def test_explain_with_a_rule_prefix_several_rules_share_names_them_rather_than_explaining_the_first(
    tmp_path: Path,
) -> None:
    pack = _mini_pack(tmp_path)
    second = MINI_PACK.split("\nrules:\n", 1)[1].replace("SVC-016-unauthorized-operation", "SVC-016-second-rule")
    (pack / "pack.yaml").write_text(MINI_PACK + second, encoding="utf-8")
    code, out, err = svcpolicy("explain", "SVC-016", "--pack", pack)
    assert code == EXIT_ERROR and out == ""
    assert "2 rules start with 'SVC-016': SVC-016-unauthorized-operation, SVC-016-second-rule; name one" in err
    assert svcpolicy("explain", "SVC-016-sec", "--pack", pack)[1].startswith("SVC-016-second-rule")


def test_pack_test_output_shows_control_characters_of_example_names_and_messages_visibly(tmp_path: Path) -> None:
    pack = _mini_pack(tmp_path)
    example = (
        "    examples:\n"
        '      - name: "\\e[31mred\\u202e\\r\\nforged"\n'
        '        complies: {operations: [{kind: "\\e]8;;https://evil.example\\a", affects_customer_rights: true,\n'
        '                                 at: "2026-11-02T10:00:00+08:00", authorization: null}]}\n'
    )
    (pack / "pack.yaml").write_text(MINI_PACK + example, encoding="utf-8")
    code, out, _ = svcpolicy("test", pack, "--no-config")
    assert code == EXIT_FINDINGS
    assert "\x1b" not in out and "\r" not in out and RLO not in out and "\x07" not in out
    assert "\\x1b[31mred\\u202e\\x0d\\x0aforged" in out and "\\x1b]8;;https://evil.example\\x07" in out


def test_an_invalid_event_in_the_watch_output_names_the_file_and_line_it_was_read_from(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    valid = {"id": "e1", "type": "clock", "at": "2026-11-02T10:00:00+08:00"}
    events.write_text(json.dumps(valid) + "\n\nnot json\n" + json.dumps({"id": "e3"}) + "\n", encoding="utf-8")
    _, out, _ = svcpolicy("watch", events)
    invalid = [json.loads(line)["record"] for line in out.splitlines() if '"outcome":"invalid"' in line]
    assert [(r["source"], r["line"], r["id"]) for r in invalid] == [(str(events), 3, None), (str(events), 4, "e3")]


@pytest.mark.parametrize("glob", ["/**/*.jsonl", ""])
def test_an_absolute_or_empty_record_glob_in_the_configuration_is_a_located_error(tmp_path: Path, glob: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.svcpolicy.records]\ninteraction = [{json.dumps(glob)}]\n", encoding="utf-8")
    code, _, err = svcpolicy("check", "--config", pyproject)
    assert code == EXIT_ERROR
    assert f"{pyproject}:1: [tool.svcpolicy] records: a record glob is a pattern relative to this file's folder" in err


@pytest.mark.parametrize("option", ["--waivers", "--baseline", "--holidays", "--config"])
def test_a_device_named_as_a_waiver_baseline_holiday_or_configuration_file_is_refused_not_read_forever(
    tmp_path: Path, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(baseline, "MAX_BASELINE_BYTES", 1024 * 1024)  # the refusal, not the size, is tested
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(_unauthorised("R1")) + "\n", encoding="utf-8")
    args: list[str | Path] = ["check", records, "--pack", _mini_pack(tmp_path), "--as-of", AS_OF, option, "/dev/zero"]
    code, _, err = svcpolicy(*args, *([] if option == "--config" else ["--no-config"]))
    assert code == EXIT_ERROR
    assert err.startswith("svcpolicy: /dev/zero: ") and "bytes, the limit" in err


def test_a_holiday_year_file_note_is_shown_with_its_control_characters_visible(tmp_path: Path) -> None:
    year_file = tmp_path / "cn-2027.yaml"
    year_file.write_text(
        'year: 2027\nsource: "notice\\e[31m\\u202e"\ndays_off: [2027-01-01]\nworking_days: [2027-02-06]\n',
        encoding="utf-8",
    )
    code, out, _ = svcpolicy("calendar", "--no-config", "--holidays", year_file, "--as-of", "2026-11-27")
    assert code == 0
    assert "\x1b" not in out and RLO not in out and "notice\\x1b[31m\\u202e" in out


def test_a_bidi_override_in_a_record_is_shown_as_an_escape_in_the_html_report_text_and_attributes(
    tmp_path: Path,
) -> None:
    hostile = record(
        f"R99{RLO}gnp.exe", f"SH-{RLO}9", "E1", "C100009", "2026-11-23T09:00:00+08:00", wait=99, operations=[op(False)]
    )
    page = audit(tmp_path, [*RECORDS, hostile], aggregate=True).to_html(lang="en")
    assert RLO not in page
    assert "R99\\u202egnp.exe" in page and 'data-branch="SH-\\u202e9"' in page
