"""Hostile and careless inputs: each bad record, event or pack file is a clear, located error and the run goes on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import orjson
import pytest

import svcpolicy
from conftest import MINI_PACK
from monitor_streams import ev, tick
from svcpolicy.cli import main
from svcpolicy.cli.commands import schema as schema_command
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL
from svcpolicy.errors import ExpressionError, InputError, PackError, PackErrors
from svcpolicy.expr.parser import parse
from svcpolicy.records.readers import read_records, validate

AS_OF = "2026-11-27T00:00:00+08:00"


def svcpolicy_cli(*args: str | Path) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def outcomes(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(file:line, record id, error) of every item read from a file."""
    result = []
    for raw in read_records(path):
        record, error, record_id = validate(raw)
        result.append((str(raw.locator), record["id"] if record else record_id, error))
    return result


def output_formats() -> list[str]:
    """The formats `check` writes, as its --help lists them."""
    out = StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main(["check", "--help"])
    choices = re.search(r"--format \{([a-z,]+)\}", out.getvalue())
    assert choices is not None
    return choices.group(1).split(",")


# -- records ---------------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_json_record_makes_it_invalid_with_its_field_path(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('[{"id": "R1", "channel": "\\ud800"},\n {"id": "R2"}]', encoding="utf-8")
    (first, second) = outcomes(path)
    assert first[0] == f"{path}:1" and first[1] == "R1"
    assert first[2] is not None and first[2].startswith("channel: ") and "surrogate" in first[2]
    assert second == (f"{path}:2", "R2", None)


def test_a_lone_surrogate_in_a_key_or_the_id_never_reaches_a_report(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('[{"id": "R1", "extra": {"\\ud800": 1}},\n {"id": "\\udc80"}]', encoding="utf-8")
    (in_key, in_id) = outcomes(path)
    assert in_key == (f"{path}:1", "R1", in_key[2]) and str(in_key[2]).startswith("extra.\\ud800: ")
    assert in_id[1] is None and in_id[2] is not None and "\udc80" not in in_id[2]


def test_every_output_format_survives_a_lone_surrogate_and_still_reports_the_good_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "R1", "channel": "\\ud800"}]', encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "R2", "operations": [{"kind": "x", "affects_customer_rights": true}]}\n')
    formats = output_formats()
    assert {"text", "json", "sarif", "html"} <= set(formats)
    outputs = [f"--output={fmt}={tmp_path / ('out.' + fmt)}" for fmt in formats]
    code, _, err = svcpolicy_cli("check", good, bad, "--no-config", "--as-of", AS_OF, "--no-progress", *outputs)
    assert code == EXIT_FINDINGS, err
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    assert any(good.name in json.dumps(result) for result in sarif["runs"][0]["results"])
    assert f"{bad.name}:1  R1  channel" in (tmp_path / "out.text").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "problem"),
    [("2026-02-30", "day is out of range"), ("2026-13-01", "month must be in 1..12"), ("9" * 5000, "digits")],
)
def test_a_yaml_record_with_an_impossible_value_is_invalid_and_the_rest_are_read(
    tmp_path: Path, value: str, problem: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"- id: R1\n  started_at: {value}\n- id: R2\n", encoding="utf-8")
    (first, second) = outcomes(path)
    assert first[0] == f"{path}:1" and first[2] is not None and problem in first[2]
    assert second == (f"{path}:3", "R2", None)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "R1", "amount_nan": 1, "operations": [{"kind": "x", "amount": NaN}]}',
        '{"id": "R1", "extra": {"deep": ' + "[" * 3000 + "]" * 3000 + "}}",
        '{"extra": {"deep": ' + "[" * 3000 + "]" * 3000 + '}, "employee": {"id": "E9"}, "id": 77}',
    ],
    ids=["nan", "deep-before", "deep-after"],
)
def test_an_invalid_jsonl_record_keeps_its_id_recovered_from_the_raw_text(tmp_path: Path, line: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    ((_, record_id, error),) = outcomes(path)
    assert error is not None and record_id in ("R1", "77")


def test_an_id_in_a_nested_object_is_not_taken_for_the_records_id(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"employee": {"id": "E9"}, "x": NaN, "operations": 5}\n', encoding="utf-8")
    ((_, record_id, error),) = outcomes(path)
    assert error is not None and record_id is None


def test_a_csv_header_with_non_ascii_digits_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,customer.²\nR1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape("column 2 'customer.²'")) as raised:
        read_records(path)
    assert str(raised.value).startswith(f"{path}:1: ")
    code, _, err = svcpolicy_cli("check", path, "--no-config", "--as-of", AS_OF, "--no-progress")
    assert code == EXIT_ERROR and f"{path}: CSV header: column 2 'customer.²'" in err


# -- watch -----------------------------------------------------------------------------------------------


def test_watch_reports_a_line_with_invalid_utf8_as_an_invalid_event_and_goes_on(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    good = ev("r1", "complaint.received", "03-02 10:00", complaint_id="A")
    events.write_bytes(orjson.dumps(good) + b"\n" + b'{"id": "b\xff"}\n' + orjson.dumps(tick("03-18 00:00")) + b"\n")
    for _ in range(2):  # a restart on the same state resumes past the bad line, not into it
        code, out, err = svcpolicy_cli("watch", events, "--engine", "python", "--state", tmp_path / "state.db")
        assert code in (0, EXIT_FINDINGS), err
    code, out, err = svcpolicy_cli("watch", events, "--engine", "python")
    assert code == EXIT_FINDINGS
    assert "1 invalid" in err
    assert [orjson.loads(line)["rule"] for line in out.splitlines() if "rule" in orjson.loads(line)][:1] == [
        "EVT-CMP-001-decided-within-period"
    ]


# -- packs -----------------------------------------------------------------------------------------------

PACK_BREAKERS: dict[str, tuple[Callable[[str], str], str]] = {
    "deep-flow": (lambda p: p + "x: " + "[" * 700 + "]" * 700 + "\n", "nested"),
    "deep-block": (lambda p: p + "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(700)), "nested"),
    "nul": (lambda p: p.replace("测试规则包", "测试\x00规则包"), "U+0000"),
    "u0001": (lambda p: p.replace("测试规则包", "测试\x01规则包"), "U+0001"),
    "ufffe": (lambda p: p.replace("测试规则包", "测试\ufffe规则包"), "U+FFFE"),
    "date-key": (lambda p: p.replace("    value: 3\n", "    values: {2026-02-30: 3}\n"), "2026-02-30"),
    "month-13": (lambda p: p.replace('version: "1"', "version: 2026-13-01"), "month"),
    "huge-int-key": (lambda p: p.replace("    value: 3\n", f"    value: 3\n    ? {'9' * 5000}\n    : 1\n"), "digits"),
    "bad-bool-tag": (lambda p: p.replace("bank_set: true", "bank_set: !!bool maybe"), "maybe"),
    "bad-timestamp-tag": (lambda p: p.replace("bank_set: true", "bank_set: !!timestamp soon"), "soon"),
    "parser-overflow": (
        lambda p: p.replace("    when: op.affects", "    when: " + "[-" * 200 + "1" + "]" * 200 + " or op.affects"),
        "too complex",
    ),
}


@pytest.mark.parametrize("breaker", list(PACK_BREAKERS), ids=list(PACK_BREAKERS))
@pytest.mark.parametrize("command", ["check", "lint", "test"])
def test_a_broken_pack_file_is_a_located_error_with_exit_2_in_every_command(
    tmp_path: Path, breaker: str, command: str
) -> None:
    make, problem = PACK_BREAKERS[breaker]
    if breaker == "parser-overflow":  # an expression is a plain scalar that may not hold flow characters
        make = _quote_when(make)
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(make(MINI_PACK), encoding="utf-8")
    records = tmp_path / "r.jsonl"
    records.write_text('{"id": "R1"}\n', encoding="utf-8")
    args = ("check", records, "--pack", pack, "--as-of", AS_OF) if command == "check" else (command, pack)
    code, out, err = svcpolicy_cli(*args, "--no-config")
    assert code == EXIT_ERROR, out + err
    located = re.compile(re.escape(str(pack / "pack.yaml")) + r":\d+:\d+: .*" + re.escape(problem))
    assert located.search(out + err), out + err


def _quote_when(make: Callable[[str], str]) -> Callable[[str], str]:
    def quoted(pack: str) -> str:
        text = make(pack)
        start = text.index("    when: ") + len("    when: ")
        end = text.index("\n", start)
        return text[:start] + json.dumps(text[start:end]) + text[end:]

    return quoted


def test_lint_still_exits_1_for_lint_findings_in_a_pack_that_loads(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(MINI_PACK.replace("op.affects_customer_rights", "op.affects_rights"))
    assert svcpolicy_cli("lint", pack, "--no-config")[0] == EXIT_FINDINGS


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside", "../../../etc", "sub/../../outside"])
def test_extends_outside_the_pack_folder_is_refused_like_include(tmp_path: Path, target: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "sub").mkdir()
    (pack / "pack.yaml").write_text(f'pack: o\ntitle: t\nversion: "1"\nextends: {target}\n', encoding="utf-8")
    with pytest.raises(PackError, match="must stay inside the pack directory") as raised:
        svcpolicy.load_policy(pack)
    assert str(raised.value).startswith(f"{pack / 'pack.yaml'}:4:")


def test_extends_through_a_symlink_leaving_the_pack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "base").symlink_to(outside)
    (pack / "pack.yaml").write_text('pack: o\ntitle: t\nversion: "1"\nextends: base\n', encoding="utf-8")
    with pytest.raises(PackError, match="outside the pack"):
        svcpolicy.load_policy(pack)


def test_extends_a_bundled_pack_by_name_and_a_pack_inside_the_folder_still_work(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    (pack / "base").mkdir(parents=True)
    (pack / "base" / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    (pack / "pack.yaml").write_text('pack: o\ntitle: t\nversion: "1"\nextends: base\n', encoding="utf-8")
    assert svcpolicy.load_policy(pack).definition.base is not None
    (pack / "pack.yaml").write_text('pack: o\ntitle: t\nversion: "1"\nextends: cn-bank-service\n', encoding="utf-8")
    assert svcpolicy.load_policy(pack).definition.base is not None


# -- expressions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "spelled", "read_as"),
    [
        ("customer.ᵢd == 'C1'", "ᵢd", "id"),
        ("ｃｕｓｔｏｍｅｒ.id == 'C1'", "ｃｕｓｔｏｍｅｒ", "customer"),
        ("any(ｓ.name == 'a' for ｓ in steps)", "ｓ", "s"),
        ("ᵘpper(channel) == 'A'", "ᵘpper", "upper"),
        ("params.ﬁrst_days > 1", "ﬁrst_days", "first_days"),
    ],
)
def test_identifiers_are_taken_literally_not_folded_by_unicode_normalisation(
    source: str, spelled: str, read_as: str
) -> None:
    with pytest.raises(ExpressionError, match=f"`{spelled}`.*`{read_as}`"):
        parse(source)


def test_identifiers_in_other_scripts_and_strings_with_compatibility_characters_are_fine() -> None:
    parse("客户.编号 == 'ｆｕｌｌ，ｗｉｄｔｈ' and customer . id == 'C1'")


def test_an_expression_that_overflows_pythons_parser_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="too complex"):
        parse("[-" * 200 + "1" + "]" * 200)


# -- internal errors -------------------------------------------------------------------------------------


def _crash(*_: object, **__: object) -> None:
    raise ZeroDivisionError("boom")


def test_an_internal_error_has_its_own_exit_code_and_a_one_line_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_command, "run", _crash)
    code, _, err = svcpolicy_cli("schema")
    assert code == EXIT_INTERNAL and EXIT_INTERNAL not in (0, EXIT_FINDINGS, EXIT_ERROR)
    assert err.count("\n") == 1 and "internal error" in err and "ZeroDivisionError: boom" in err
    assert "Traceback" not in err and "--debug" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_of_an_internal_error(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.setattr(schema_command, "run", _crash)
    args = ["--debug", "schema"] if where == "before" else ["schema", "--debug"]
    code, _, err = svcpolicy_cli(*args)
    assert code == EXIT_INTERNAL and "Traceback" in err and "ZeroDivisionError: boom" in err


def test_pack_errors_are_unchanged_by_the_internal_error_handler(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK.replace("when: ", "when: ) ")})
    with pytest.raises((PackError, PackErrors)):
        svcpolicy.load_policy(pack)
    assert svcpolicy_cli("lint", pack, "--no-config")[0] == EXIT_ERROR
