"""Round three of the hostile-input sweep, kept as tests: an output or baseline pointed at a file the run reads
is refused before it can empty it, a file named twice is checked once, a hostile baseline file is a located input
error, and a waiver's note never shows the customer identifier in the record id it names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gatekit import svcpolicy as svcpolicy_cli
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS
from svcpolicy.reporting.registry import FORMATS
from test_report_privacy import CUSTOMER, PRIVATE_PACK, RECORD

AS_OF = "2026-11-27T00:00:00+08:00"


def _pack(root: Path) -> Path:
    pack = root / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(PRIVATE_PACK, encoding="utf-8")
    return pack


def _records(root: Path, name: str = "records.jsonl") -> Path:
    records = root / name
    records.write_text(json.dumps(RECORD, ensure_ascii=False) + "\n", encoding="utf-8")
    return records


def _check(root: Path, *args: str | Path) -> tuple[int, str, str]:
    return svcpolicy_cli("check", *args, "--pack", _pack(root), "--no-config", "--no-progress", "--as-of", AS_OF)


# -- outputs over inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--output=jsonl={}", "--output={}", "--write-baseline={}"])
def test_an_output_pointed_at_a_record_file_of_the_run_is_refused_and_the_records_are_kept(
    tmp_path: Path, option: str
) -> None:
    records = _records(tmp_path)
    before = records.read_bytes()
    code, _, err = _check(tmp_path, records, option.format(records))
    assert code == EXIT_ERROR
    assert "record file of this run" in err and "Traceback" not in err
    assert records.read_bytes() == before


def test_an_output_pointed_at_the_waiver_file_or_the_baseline_is_refused(tmp_path: Path) -> None:
    records = _records(tmp_path)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers: []\n", encoding="utf-8")
    code, _, err = _check(tmp_path, records, "--waivers", waivers, f"--output=sarif={waivers}")
    assert code == EXIT_ERROR and "waiver file of this run" in err
    assert waivers.read_text(encoding="utf-8") == "waivers: []\n"


def test_two_reports_written_to_one_file_are_a_usage_error(tmp_path: Path) -> None:
    records = _records(tmp_path)
    same = tmp_path / "report.out"
    code, _, err = _check(tmp_path, records, f"--output=json={same}", f"--output=sarif={tmp_path}/./report.out")
    assert code == EXIT_ERROR and "--output json writes that file already" in err
    assert not same.exists()


# -- a file named more than once ---------------------------------------------------------------------------


@pytest.mark.parametrize("again", ["{folder}", "{folder}/*.jsonl", "{folder}/./records.jsonl"])
def test_a_record_file_named_twice_is_checked_once_and_not_reported_as_duplicating_itself(
    tmp_path: Path, again: str
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    records = _records(folder)
    code, out, err = _check(tmp_path, records, again.format(folder=folder), "--format", "json")
    assert code == EXIT_FINDINGS, err
    counts = json.loads(out)["counts"]
    assert counts["records"] == 1 and counts["invalid"] == 0 and counts["reconciled"]


# -- hostile baseline files --------------------------------------------------------------------------------

HOSTILE_BASELINES = {
    "a version number of 5,000 digits": b'{"svcpolicy_baseline": ' + b"9" * 5000 + b', "findings": []}',
    "arrays nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "a GBK pack name": '{"svcpolicy_baseline": 1, "pack": {"id": "包"}, "findings": []}'.encode("gbk"),
    "a lone surrogate as the pack name": b'{"svcpolicy_baseline": 1, "pack": {"id": "\\ud800"}, "findings": []}',
    "a NaN version": b'{"svcpolicy_baseline": NaN, "findings": []}',
}


@pytest.mark.parametrize("case", list(HOSTILE_BASELINES))
def test_a_hostile_baseline_file_is_an_input_error_naming_the_file_not_a_crash(tmp_path: Path, case: str) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(HOSTILE_BASELINES[case])
    code, out, err = _check(tmp_path, _records(tmp_path), "--baseline", baseline, "--format", "json")
    assert code == EXIT_ERROR, err
    assert err.startswith(f"svcpolicy: {baseline}") and "internal error" not in err
    assert out == ""


# -- customer identifiers given with the wrong shape ---------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("shape", [[CUSTOMER], {"number": CUSTOMER}, [[CUSTOMER, "other"]]])
def test_a_customer_id_given_as_a_list_or_an_object_is_still_masked_in_the_invalid_records_id(
    tmp_path: Path, shape: object, jobs: str
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(RECORD | {"customer": {"id": shape}}) + "\n", encoding="utf-8")
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in FORMATS}
    code, out, err = _check(
        tmp_path,
        records,
        "--jobs",
        jobs,
        "--format",
        "json",
        *(f"--output={fmt}={path}" for fmt, path in outputs.items()),
    )
    assert code == EXIT_FINDINGS, err
    assert json.loads(out)["counts"]["invalid"] == 1
    shown = {"stdout": out, "stderr": err} | {fmt: p.read_text(encoding="utf-8") for fmt, p in outputs.items()}
    for where, text in shown.items():
        assert CUSTOMER not in text, where


# -- waiver notes and customer identifiers -----------------------------------------------------------------

STALE_AND_EXPIRED = f"""\
waivers:
  - rule: SVC-016-unauthorized-operation
    record: INT-C7654321
    reason: the record is in another export
    approver: compliance
    expires: 2099-01-01
  - rule: SVC-016-unauthorized-operation
    record: INT-{CUSTOMER}
    reason: authorised on paper
    approver: compliance
    expires: 2001-01-01
"""


def test_a_stale_or_expired_waiver_note_masks_the_customer_in_the_record_id_it_names_in_every_format(
    tmp_path: Path,
) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(STALE_AND_EXPIRED, encoding="utf-8")
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in FORMATS}
    code, out, err = _check(
        tmp_path, _records(tmp_path), "--waivers", waivers, "--fail-on-stale-waivers", "--format", "json",
        *(f"--output={fmt}={path}" for fmt, path in outputs.items()),
    )  # fmt: skip
    assert code == EXIT_FINDINGS, err
    assert {note["kind"] for note in json.loads(out)["gate"]["notes"]} == {"stale-waiver", "expired-waiver"}
    shown = {"stdout": out, "stderr": err} | {fmt: p.read_text(encoding="utf-8") for fmt, p in outputs.items()}
    for where, text in shown.items():
        assert CUSTOMER not in text and "C7654321" not in text, where
    assert "IN********21" in err


def test_a_waiver_note_shows_the_record_id_when_identifiers_are_asked_for(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(STALE_AND_EXPIRED, encoding="utf-8")
    code, out, err = _check(tmp_path, _records(tmp_path), "--waivers", waivers, "--show-customer-ids")
    assert code == EXIT_FINDINGS, err
    assert "INT-C7654321" in out and f"INT-{CUSTOMER}" in out


# -- numbers longer than Python converts -----------------------------------------------------------------

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("records.json", f'[{{"id": "A1", "wait_minutes": {HUGE}}},\n {{"id": "A2", "wait_minutes": 3}}]'),
        ("records.yaml", f"- id: A1\n  wait_minutes: {HUGE}\n- id: A2\n  wait_minutes: 3\n"),
        ("one.json", f'{{"id": "A1", "wait_minutes": -{HUGE}}}'),
    ],
)
def test_a_record_holding_a_number_of_thousands_of_digits_is_invalid_and_the_others_are_read(
    tmp_path: Path, name: str, text: str
) -> None:
    """Such a number is valid JSON: its record is refused, in words a data owner can act on, and the records
    after it are still judged (it used to make the whole JSON file unreadable)."""
    records = tmp_path / name
    records.write_text(text, encoding="utf-8")
    code, out, err = _check(tmp_path, records, "--format", "json")
    assert code == EXIT_FINDINGS, err
    report = json.loads(out)
    (invalid,) = report["invalid"]
    assert invalid["error"].endswith("a number of 5,000 digits: no field takes more than 4,300")
    assert "sys." not in out + err
    assert report["counts"]["records"] == (1 if name == "one.json" else 2)
    assert report["counts"]["invalid"] == 1 and report["counts"]["reconciled"]


# -- a waiver's reason ------------------------------------------------------------------------------------


def test_a_waiver_reason_naming_the_customer_is_masked_in_every_format(tmp_path: Path) -> None:
    """The reason is an officer's free text and often names whom it is about; it is shown with the finding it
    excuses, so that finding's identifiers are masked in it too."""
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - rule: SVC-016-unauthorized-operation\n"
        f"    record: INT-{CUSTOMER}\n"
        f"    reason: 客户 {CUSTOMER} 已于柜面书面确认授权\n"
        "    approver: compliance\n"
        "    expires: 2099-01-01\n",
        encoding="utf-8",
    )
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in FORMATS}
    code, out, err = _check(
        tmp_path, _records(tmp_path), "--waivers", waivers, "--format", "json",
        *(f"--output={fmt}={path}" for fmt, path in outputs.items()),
    )  # fmt: skip
    assert code == EXIT_FINDINGS, err
    waived = [f for f in json.loads(out)["findings"] if f.get("waiver")]
    assert waived and all(f["waiver"]["reason"] == "客户 C1****67 已于柜面书面确认授权" for f in waived)
    shown = {"stdout": out, "stderr": err} | {fmt: p.read_text(encoding="utf-8") for fmt, p in outputs.items()}
    for where, text in shown.items():
        assert CUSTOMER not in text, where


# -- numbers where a time belongs ------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["5", '"5"', "1.7e9", '"1700000000.5"', "true"])
def test_a_time_written_as_a_number_makes_its_record_invalid_rather_than_a_1970_date(
    tmp_path: Path, written: str
) -> None:
    """An export whose time column holds numbers (seconds or milliseconds since 1970) is broken: read as seconds
    in UTC, the record would be judged on a date nobody meant."""
    records = tmp_path / "records.jsonl"
    records.write_text(
        f'{{"id": "T1", "kind": "interaction", "started_at": {written}}}\n'
        '{"id": "T2", "kind": "interaction", "started_at": "2026-03-02T10:00:00+08:00"}\n',
        encoding="utf-8",
    )
    code, out, err = _check(tmp_path, records, "--format", "json")
    assert code == EXIT_FINDINGS, err
    report = json.loads(out)
    (invalid,) = report["invalid"]
    assert invalid["record"]["id"] == "T1" and "started_at" in invalid["error"]
    assert invalid["error"].endswith(
        "a time is written as text with its offset (2026-03-02T10:00:00+08:00), not as a number"
    )
    assert report["counts"]["records"] == 2 and report["counts"]["reconciled"]


def test_a_time_given_as_a_number_to_the_library_is_invalid_too() -> None:
    import svcpolicy

    report = svcpolicy.load_policy().evaluate(
        [{"id": "T1", "kind": "interaction", "started_at": 1_700_000_000}], as_of=dt.datetime.fromisoformat(AS_OF)
    )
    (invalid,) = report.invalid
    assert "not as a number" in invalid.error
