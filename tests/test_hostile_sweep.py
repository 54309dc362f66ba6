"""What a sweep of hostile inputs through `svcpolicy check`, the library and `lint` found, kept as tests: every
line is accounted for, a special file cannot stall a folder walk, an invalid record never shows its customer's
id, a record given as data is bounded in depth and size, and hostile pack text gets a clear located error."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from gatekit import svcpolicy as svcpolicy_cli
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS
from svcpolicy.cli.walk import record_files
from svcpolicy.engines.parallel import runner
from svcpolicy.errors import InputError
from svcpolicy.records import readers
from svcpolicy.records.readers import read_records
from svcpolicy.reporting.registry import FORMATS
from test_report_privacy import CUSTOMER, PHONE, PRIVATE_PACK, RECORD

AS_OF = "2026-11-27T00:00:00+08:00"


def _line(**changes: object) -> str:
    record = json.loads(json.dumps(RECORD))
    record.update(changes)
    return json.dumps(record, ensure_ascii=False)


def _pack(root: Path) -> Path:
    pack = root / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(PRIVATE_PACK, encoding="utf-8")
    return pack


# -- customer identifiers in invalid records ------------------------------------------------------------

INVALID_NAMING_THE_CUSTOMER = {
    "a wrong type": _line(id=f"{CUSTOMER}-1", wait_minutes="52"),
    "a NaN": _line(id=f"{CUSTOMER}-2").replace('"customer"', '"wait_minutes": NaN, "customer"'),
    "a duplicate id": _line(id=f"{CUSTOMER}-3") + "\n" + _line(id=f"{CUSTOMER}-3"),
    "its phone as its id": _line(id=f"{PHONE}", wait_minutes=True),
    "a line cut short": _line(id=f"{CUSTOMER}-5")[:-40],
    "a line nested too deep": _line(id=f"{CUSTOMER}-6")[:-1] + ', "n": ' + "[" * 3000 + "]" * 3000 + "}",
}


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("case", list(INVALID_NAMING_THE_CUSTOMER))
def test_an_invalid_record_built_from_a_customer_id_is_masked_in_every_format(
    tmp_path: Path, case: str, jobs: str
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(INVALID_NAMING_THE_CUSTOMER[case] + "\n", encoding="utf-8")
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in FORMATS}
    code, out, err = svcpolicy_cli(
        "check", records, "--pack", _pack(tmp_path), "--no-config", "--as-of", AS_OF, "--jobs", jobs,
        "--format", "json", *(f"--output={fmt}={path}" for fmt, path in outputs.items()),
    )  # fmt: skip
    assert code == EXIT_FINDINGS, err
    assert json.loads(out)["counts"]["invalid"] >= 1
    shown = {"stdout": out, "stderr": err} | {fmt: p.read_text(encoding="utf-8") for fmt, p in outputs.items()}
    for where, text in shown.items():
        assert CUSTOMER not in text and PHONE not in text, where


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_records_sharing_one_line_of_a_json_array_each_have_their_customer_masked(tmp_path: Path, jobs: str) -> None:
    other = "C7654321"
    first = json.loads(_line(id=f"{CUSTOMER}-1", wait_minutes="52"))
    second = json.loads(_line(id=f"{CUSTOMER}-2"))
    third = json.loads(_line(id=f"{other}-3").replace(CUSTOMER, other))
    records = tmp_path / "records.json"
    records.write_text(json.dumps([first, second, third]), encoding="utf-8")
    code, out, err = svcpolicy_cli(
        "check", records, "--pack", _pack(tmp_path), "--no-config", "--as-of", AS_OF, "--jobs", jobs,
        "--format", "jsonl",
    )  # fmt: skip
    assert code == EXIT_FINDINGS, err
    assert out.count(":1") >= 3 and "C1****67" in out and "C7****21" in out
    assert CUSTOMER not in out and other not in out


def test_an_invalid_record_keeps_its_customer_id_when_identifiers_are_asked_for(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(_line(id=f"{CUSTOMER}-1", wait_minutes="52") + "\n", encoding="utf-8")
    code, out, _ = svcpolicy_cli(
        "check", records, "--pack", _pack(tmp_path), "--no-config", "--as-of", AS_OF, "--format", "jsonl",
        "--show-customer-ids",
    )  # fmt: skip
    assert code == EXIT_FINDINGS and f'"{CUSTOMER}-1"' in out


# -- files a folder walk meets ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_a_record_folder_is_skipped_rather_than_waited_on(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(_line() + "\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nothing.jsonl")
    assert record_files(tmp_path) == [tmp_path / "a.jsonl", tmp_path / "gone.jsonl"]


def test_a_symbolic_link_loop_is_an_input_error_that_says_so_and_the_other_files_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "loop.jsonl").symlink_to("loop.jsonl")
    (folder / "ok.jsonl").write_text(_line() + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="symbolic links"):
        read_records(folder / "loop.jsonl")
    code, out, err = svcpolicy_cli(
        "check", folder, "--pack", _pack(tmp_path), "--no-config", "--as-of", AS_OF, "--format", "json"
    )
    assert code == EXIT_ERROR and "loop.jsonl: cannot open: Too many levels of symbolic links" in err
    assert json.loads(out)["counts"]["records"] == 1


# -- every line accounted for ----------------------------------------------------------------------------

HOSTILE_LINES = st.sampled_from(
    [
        _line(),
        _line(wait_minutes="52"),
        _line(operations=5),
        _line(customer="x"),
        '{"id": "R", ',
        "[1, 2]",
        "null",
        '"text"',
        _line().replace('"customer"', '"wait_minutes": NaN, "customer"'),
        _line().replace('"customer"', '"wait_minutes": -Infinity, "customer"'),
        _line().replace('"customer"', '"wait_minutes": 1e999, "customer"'),
        _line().replace('"customer"', '"wait_minutes": ' + "9" * 5000 + ', "customer"'),
        _line(id="\\ud800").replace("\\\\", "\\"),
        _line(stated_need="nul\u0000 and \x1b[31m red \u2028"),
        '{"id": "R", "extra": ' + "[" * 3000 + "]" * 3000 + "}",
        '{"id": "R", "id": "S"}',
    ]
).map(str.encode) | st.sampled_from([b"\x00\x00", b"\xef\xbb\xbf{}", '{"id": "国"}'.encode("gbk"), b"\xff\xfe"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(HOSTILE_LINES, min_size=1, max_size=12), ending=st.sampled_from([b"\n", b"\r\n"]))
def test_every_line_of_a_hostile_file_gets_one_outcome_and_the_counts_reconcile(
    tmp_path: Path, lines: list[bytes], ending: bytes
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join(line + ending for line in lines))
    policy = svcpolicy.load_policy()
    run = policy.iter_findings(path, as_of=dt.datetime.fromisoformat(AS_OF))
    invalid_lines = {item.record.line for item in run if isinstance(item, svcpolicy.InvalidRecord)}
    assert run.counts.records == len(lines) and run.counts.reconciled
    assert run.counts.invalid == len(invalid_lines) and invalid_lines <= set(range(1, len(lines) + 1))


# -- records given to the library as data ----------------------------------------------------------------


def _evaluated(record: dict[str, object]) -> svcpolicy.Report:
    return svcpolicy.load_policy().evaluate([record], as_of=dt.datetime.fromisoformat(AS_OF))


def test_a_record_that_contains_itself_is_invalid_rather_than_walked_forever() -> None:
    record: dict[str, object] = dict(RECORD, id="R-self")
    record["extra"] = {"self": record}
    report = _evaluated(record)
    assert report.counts.invalid == 1 and report.counts.reconciled
    assert report.invalid[0].error == f"extra: nested more than {readers.MAX_DEPTH} levels deep (or contains itself)"


def test_a_record_nested_deeper_than_the_json_parser_takes_is_invalid_not_a_crash() -> None:
    deep: dict[str, object] = {}
    for _ in range(5000):
        deep = {"a": deep}
    report = _evaluated(dict(RECORD, id="R-deep", extra=deep))
    assert report.counts.invalid == 1 and "nested more than" in report.invalid[0].error
    shallow: dict[str, object] = {}
    for _ in range(readers.MAX_DEPTH - 2):
        shallow = {"a": shallow}
    assert _evaluated(dict(RECORD, id="R-ok", extra=shallow)).counts.invalid == 0


def test_a_record_sharing_its_parts_past_the_value_limit_is_invalid_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(readers, "MAX_VALUES", 1000)
    shared: list[object] = [1]
    for _ in range(12):  # 10**12 values if walked in full
        shared = [shared] * 10
    report = _evaluated(dict(RECORD, id="R-shared", extra={"x": shared}))
    assert [i.error for i in report.invalid] == ["record: holds more than 1,000 values"]


# -- hostile pack text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("placeholder", ["{id:>999999999}", "{id!r}"])
def test_a_format_spec_in_a_message_is_a_located_syntax_error_said_once(tmp_path: Path, placeholder: str) -> None:
    pack = _pack(tmp_path)
    (pack / "pack.yaml").write_text(PRIVATE_PACK.replace("{op.id} 未经授权", placeholder), encoding="utf-8")
    code, out, err = svcpolicy_cli("lint", pack, "--no-config")
    assert code == EXIT_ERROR
    assert f"{pack / 'pack.yaml'}:" in out + err and "invalid syntax" in out + err
    assert "invalid syntax: invalid syntax" not in out + err


def test_a_pack_that_includes_its_own_manifest_is_told_so_at_the_include(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    (pack / "pack.yaml").write_text(PRIVATE_PACK + "include: [pack.yaml]\n", encoding="utf-8")
    with pytest.raises(
        svcpolicy.PackError, match=re.escape("include 'pack.yaml' names the pack's own pack.yaml")
    ) as raised:
        svcpolicy.load_policy(pack)
    assert str(raised.value).startswith(f"{pack / 'pack.yaml'}:")


# -- hostile options -------------------------------------------------------------------------------------


def test_a_codec_that_is_no_text_encoding_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(_line() + "\n", encoding="utf-8")
    for codec in ("rot13", "base64"):
        with pytest.raises(InputError, match=f"'{codec}' is not a text encoding"):
            read_records(records, encoding=codec)
    code, _, err = svcpolicy_cli("check", records, "--no-config", "--as-of", AS_OF, "--encoding", "rot13")
    assert code == EXIT_ERROR and "internal error" not in err


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("check", "--as-of", "9999-12-31T23:59:59+00:00"),
        ("check", "--as-of", "0001-01-01T00:00:00-14:00"),
        ("calendar", "--as-of", "9999-12-31T23:59:59+00:00"),
        ("watch", "--allowance", "99999999999999d"),
        ("watch", "--allowance", "nan"),
    ],
)
def test_a_time_option_past_the_dates_there_are_is_a_usage_error(
    tmp_path: Path, command: str, option: str, value: str
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(_line() + "\n", encoding="utf-8")
    paths = [] if command == "calendar" else [records]
    with pytest.raises(SystemExit) as usage:
        svcpolicy_cli(command, *paths, f"{option}={value}")
    assert usage.value.code == EXIT_ERROR


def test_jobs_far_past_the_cores_start_a_bounded_pool_and_judge_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text("".join(_line(id=f"R-{i}") + "\n" for i in range(3)), encoding="utf-8")
    pack = _pack(tmp_path)
    alone = svcpolicy_cli("check", records, "--pack", pack, "--no-config", "--as-of", AS_OF, "--format", "json")
    pools: list[int] = []
    real_context = multiprocessing.get_context

    class CountedContext:
        def __init__(self, method: str | None = None) -> None:
            self._context = real_context(method)

        def Pool(self, processes: int, **options: Any) -> Any:
            pools.append(processes)
            assert processes <= runner.WORKERS_PER_CORE * runner.available_cores()  # before any is started
            return self._context.Pool(processes, **options)

    monkeypatch.setattr(multiprocessing, "get_context", CountedContext)
    many = svcpolicy_cli(
        "check", records, "--pack", pack, "--no-config", "--as-of", AS_OF, "--format", "json", "--jobs", "100000"
    )
    assert pools == [runner.WORKERS_PER_CORE * runner.available_cores()]
    assert many[:2] == alone[:2]
