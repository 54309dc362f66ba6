"""Round six of the hostile-input sweep, kept as tests: a record or event that gives one key twice is invalid
(its value is ambiguous), found exactly at little cost; SARIF points at a non-UTF-8 record file by its real bytes;
and the hostile waivers, baselines, configurations, report values, event streams and environments of this round."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MINI_PACK
from gatekit import svcpolicy as run_cli
from svcpolicy import Policy
from svcpolicy.cli.exits import EXIT_ERROR
from svcpolicy.records import fast_decode
from svcpolicy.records.duplicate_keys import may_repeat_keys, repeated_key
from svcpolicy.records.events import parse_event
from svcpolicy.records.readers import Locator, RawRecord, validate

AS_OF = "2026-11-27T00:00:00+08:00"
AS_OF_TIME = dt.datetime.fromisoformat(AS_OF)


def _unauthorised(record_id: str) -> dict[str, Any]:
    """A record the mini pack finds in violation: an operation without the customer's authorisation."""
    operation = {"kind": "close_account", "affects_customer_rights": True, "at": "2026-01-05T10:00:00+08:00"}
    return {"id": record_id, "kind": "interaction", "operations": [{**operation, "authorization": None}]}


def _pack(root: Path) -> Path:
    pack = root / "pack"
    pack.mkdir(exist_ok=True)
    (pack / "pack.yaml").write_text(MINI_PACK, encoding="utf-8")
    return pack


def _check(pack: Path, *args: str | Path) -> tuple[int, str, str]:
    return run_cli("check", *args, "--pack", pack, "--no-config", "--no-progress", "--lang", "en", "--as-of", AS_OF)


# -- a key given twice ---------------------------------------------------------------------------------------

_TWICE = {
    "customer.consent": '{"id": "R1", "kind": "interaction", "customer": {"id": "C1", "consent": false, '
    '"consent": true}}',
    "kind": '{"id": "R1", "kind": "interaction", "kind": "complaint"}',
    "operations.0.authorization.by": '{"id": "R1", "kind": "interaction", "operations": [{"kind": "close_account", '
    '"authorization": {"by": "C1", "by": "C2"}}]}',
    "extra.branch_note": '{"id": "R1", "kind": "interaction", "extra": {"branch_note": "a", "branch_note": "b"}}',
    "customer.age": '{"id": "R1", "kind": "interaction", "customer": {"age" :30, "age":30}}',  # space before :
}


@pytest.mark.parametrize("path", list(_TWICE))
def test_a_record_giving_a_key_twice_is_invalid_at_its_file_and_line_naming_the_key_and_the_rest_are_judged(
    tmp_path: Path, path: str
) -> None:
    records = tmp_path / "records.jsonl"
    lines = [json.dumps(_unauthorised("R0")), _TWICE[path], json.dumps(_unauthorised("R2"))]
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = _check(_pack(tmp_path), records, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [(i["record"]["line"], i["error"].split(": ")[0]) for i in report["invalid"]] == [(2, path)], err
    assert "given twice" in report["invalid"][0]["error"]
    counts = report["counts"]
    assert (counts["records"], counts["invalid"], counts["with_violations"], counts["reconciled"]) == (3, 1, 2, True)


def test_a_key_given_twice_in_a_json_array_or_a_yaml_file_makes_only_that_record_invalid(
    tmp_path: Path, mini: Policy
) -> None:
    array = tmp_path / "records.json"
    array.write_text(f"[{json.dumps(_unauthorised('R0'))},\n{_TWICE['customer.consent']}]", encoding="utf-8")
    listed = tmp_path / "records.yaml"
    listed.write_text("- id: Y1\n  kind: interaction\n  customer: {id: C1, age: 30, age: 31}\n- id: Y2\n")
    report = mini.evaluate([array, listed], as_of=AS_OF_TIME)
    invalid = {(i.record.locator, i.error.split(": ")[0]) for i in report.invalid}
    assert invalid == {(f"{array}:2", "customer.consent"), (f"{listed}:1", "customer.age")}
    assert report.counts.records == 4
    assert report.counts.reconciled


def test_the_library_reading_a_record_file_counts_a_record_giving_a_key_twice_as_invalid(
    tmp_path: Path, mini: Policy
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(_TWICE["kind"] + "\n" + json.dumps(_unauthorised("R2")) + "\n", encoding="utf-8")
    report = mini.evaluate(records, as_of=AS_OF_TIME)
    assert (report.counts.invalid, report.counts.with_violations) == (1, 1)
    assert report.invalid[0].error.startswith("kind: the key is given twice")


def test_an_event_giving_a_key_twice_is_an_invalid_event_naming_the_key_and_the_next_event_is_read(
    bundled: Policy,
) -> None:
    from pydantic import ValidationError

    from svcpolicy.monitor import Monitor
    from svcpolicy.results.findings import InvalidRecord

    twice = '{"id": "E1", "type": "clock", "at": "2026-01-01T09:00:00+08:00", "at": "2026-01-09T09:00:00+08:00"}'
    clock = '{"id": "E2", "type": "clock", "at": "2026-01-02T09:00:00+08:00"}'
    with pytest.raises(ValidationError, match="given twice"):
        parse_event(twice)
    with Monitor(bundled, engine="python") as monitor:
        alerts = [*monitor.feed(twice), *monitor.feed(clock.encode())]
        assert (monitor.counts.invalid, monitor.counts.events) == (1, 1)
    assert isinstance(alerts[0].item, InvalidRecord)
    assert alerts[0].item.error.startswith("at: the key is given twice")


def test_a_key_given_twice_cannot_be_hidden_from_the_cheap_test_by_escapes_offsets_or_unknown_fields() -> None:
    """The attacks on the count: a ``\\u0022`` that the encoder writes as a ``"``, an offset without a colon that
    it writes with one, a field the model drops, a key with a colon written as an escape."""
    lines = [
        b'{"id":"R1","kind":"interaction","kind":"interaction","stated_need":"\\u0022\\u0022"}',
        b'{"id":"R1","kind":"interaction","started_at":"2026-01-01T09:00:00+0800","id":"R1"}',
        b'{"id":"R1","kind":"interaction","unknown":1,"unknown":2}',
        b'{"id":"R1","kind":"interaction","extra":{"a\\u003a":1,"a:":2}}',
        b'{"id":"R1","kind":"interaction","customer":{"id"\t:"C1","id":"C2"}}',
    ]
    for line in lines:
        assert repeated_key(line) is not None, line
        record, error, _ = validate(RawRecord(Locator("records.jsonl", 1), line))
        assert record is None, line
        assert error is not None
        assert "given twice" in error, line


_KEYS = st.sampled_from(["id", "at", "by", "a", "consent", 'q"x', "k:", "空", "\\"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=6), st.sampled_from(['":', '"'])
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12
)


def _written_with_a_key_twice(value: Any, target: int, spacing: str) -> tuple[str, str | None]:
    """``value`` as JSON text in which the ``target``-th object (depth first) gives its first key again at its
    end, spaced as ``spacing`` says, with its path; the path is None when there is no such object."""
    count = 0
    found: list[str] = []

    def write(item: Any, path: str) -> str:
        nonlocal count
        if isinstance(item, dict):
            index = count
            count += 1
            pairs = [f"{json.dumps(k)}{spacing}:{write(v, f'{path}.{k}' if path else k)}" for k, v in item.items()]
            if index == target and item:
                key = next(iter(item))
                found.append(f"{path}.{key}" if path else key)
                pairs.append(f"{json.dumps(key)}{spacing}:{json.dumps(item[key])}")
            return "{" + ",".join(pairs) + "}"
        if isinstance(item, list):
            return "[" + ",".join(write(v, f"{path}.{i}") for i, v in enumerate(item)) + "]"
        return json.dumps(item, ensure_ascii=spacing == "")

    text = write(value, "")
    return text, found[0] if found else None


@settings(max_examples=300, deadline=None)
@given(
    body=st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=5),
    target=st.integers(0, 6),
    spacing=st.sampled_from(["", " ", "\t", "\r "]),
)
def test_no_key_given_twice_at_any_depth_escapes_the_cheap_test_however_the_line_is_written(
    body: dict[str, Any], target: int, spacing: str
) -> None:
    """One object, somewhere in a record, gives a key twice, in compact or spaced JSON, with Chinese as is or
    escaped: the cheap test sends the line to the exact check, which names the key."""
    text, path = _written_with_a_key_twice(body, target, spacing)
    line = text.encode()
    if path is not None:
        assert may_repeat_keys(line, orjson.dumps(orjson.loads(line)))
        assert repeated_key(line) is not None
    else:
        assert repeated_key(line) is None


def test_records_giving_every_key_once_never_take_the_exact_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost stays at the cheap test: records as exports write them (quotes and colons in text, nested extra
    data, an offset written Z, a decimal amount) are decoded by the fast path and never parsed a second time."""
    exact_checks: list[bytes] = []
    monkeypatch.setattr(fast_decode, "repeated_key", exact_checks.append)
    records = [
        _unauthorised("R1"),
        {"id": "R2", "kind": "interaction", "stated_need": '理财 "咨询": 12:00', "extra": {"k": [1, {"a": None}]}},
        {"id": "R3", "kind": "interaction", "started_at": "2026-01-01T09:00:00Z", "fees": [{"amount": "10.50"}]},
    ]
    for record in records:
        assert fast_decode.decode_fast(orjson.dumps(record)) is not None
    assert exact_checks == []


# -- SARIF links to a file whose name is not UTF-8 -------------------------------------------------------------


@pytest.mark.parametrize("inside", [True, False], ids=["relative-to-the-working-folder", "absolute-file-uri"])
def test_a_sarif_location_of_a_record_file_whose_name_is_not_utf8_decodes_back_to_the_file_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    pack = _pack(tmp_path)
    records = tmp_path / "n\udcff 空.jsonl"  # the bytes n, 0xff: a Latin-1 name on a UTF-8 system
    records.write_text(json.dumps(_unauthorised("R1")) + "\n", encoding="utf-8")
    unread = tmp_path / "loop\udcfe.jsonl"
    unread.symlink_to(unread)
    out = tmp_path / "report.sarif"
    monkeypatch.chdir(tmp_path if inside else pack)
    code, _, err = _check(pack, records, unread, "--output", f"sarif={out}", "--format", "text")
    assert code == EXIT_ERROR, err
    sarif = json.loads(out.read_text(encoding="utf-8"))
    run = sarif["runs"][0]
    uris = [
        loc["physicalLocation"]["artifactLocation"] for result in run["results"] for loc in result.get("locations", [])
    ]
    uris += [
        loc["physicalLocation"]["artifactLocation"]
        for invocation in run["invocations"]
        for note in invocation.get("toolExecutionNotifications", [])
        for loc in note.get("locations", [])
    ]
    files = set()
    for location in uris:
        parsed = urllib.parse.urlsplit(location["uri"])
        raw = urllib.parse.unquote_to_bytes(parsed.path)
        base = os.fsencode(Path.cwd()) + b"/" if location.get("uriBaseId") else b""
        files.add(base + raw)
    assert files == {os.fsencode(records), os.fsencode(unread)}
    assert os.path.exists(os.fsencode(records))


def test_a_utf8_file_name_that_holds_the_text_of_an_escape_is_linked_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = _pack(tmp_path)
    records = tmp_path / "n\\xff.jsonl"  # a backslash, an x and two letters: UTF-8, never escaped
    records.write_text(json.dumps(_unauthorised("R1")) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report.sarif"
    _check(pack, records, "--output", f"sarif={out}", "--format", "text")
    location = json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "n%5Cxff.jsonl"


# -- waivers, baselines and the project configuration ---------------------------------------------------------


def _records(root: Path) -> Path:
    records = root / "records.jsonl"
    records.write_text("".join(json.dumps(_unauthorised(f"R{i}")) + "\n" for i in range(3)), encoding="utf-8")
    return records


def test_a_waiver_file_linked_to_a_secret_file_is_refused_without_printing_its_lines(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("auditor:$6$salt$0123456789abcdef:20228:0:99999:7:::\n", encoding="utf-8")
    waivers = tmp_path / "waivers.yaml"
    waivers.symlink_to(secret)
    code, out, err = _check(_pack(tmp_path), _records(tmp_path), "--waivers", waivers)
    assert code == EXIT_ERROR
    assert "waivers.yaml:1:" in err
    assert "$6$salt" not in err + out
    assert "auditor" not in err + out


@pytest.mark.parametrize("role", ["pack", "holiday year file"])
def test_a_pack_or_holiday_file_linked_to_a_secret_file_is_refused_without_printing_its_lines(
    tmp_path: Path, role: str
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("auditor:$6$salt$0123456789abcdef:20228:0:99999:7:::\n", encoding="utf-8")
    if role == "pack":
        pack = tmp_path / "linked-pack"
        pack.mkdir()
        (pack / "pack.yaml").symlink_to(secret)
        code, out, err = _check(pack, _records(tmp_path))
    else:
        holidays = tmp_path / "cn-2027.yaml"
        holidays.symlink_to(secret)
        code, out, err = _check(_pack(tmp_path), _records(tmp_path), "--holidays", holidays)
    assert code == EXIT_ERROR
    assert "(a key that is no field name, not shown)" in err
    assert "$6$salt" not in err + out
    assert "auditor" not in err + out


def test_a_misspelt_waiver_field_is_still_named_in_the_error(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - rule: SVC-016-unauthorized-operation\n    record: R0\n    reason: r\n    approver: a\n"
        "    expries: 2027-01-01\n",
        encoding="utf-8",
    )
    code, _, err = _check(_pack(tmp_path), _records(tmp_path), "--waivers", waivers)
    assert code == EXIT_ERROR
    assert "waivers.0.expries: Extra inputs are not permitted" in err


def test_a_waiver_file_that_cannot_be_read_is_called_a_waiver_file_not_a_pack_file(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_bytes("waivers: []\nnote: 客户\n".encode("gbk"))
    code, _, err = _check(_pack(tmp_path), _records(tmp_path), "--waivers", waivers)
    assert code == EXIT_ERROR
    assert "a waiver file must be UTF-8" in err
    assert "pack" not in err


def _baseline(tmp_path: Path, pack: Path, records: Path) -> dict[str, Any]:
    written = tmp_path / "baseline.json"
    _check(pack, records, "--write-baseline", written)
    baseline: dict[str, Any] = json.loads(written.read_text(encoding="utf-8"))
    return baseline


def test_a_baseline_that_says_it_is_for_another_pack_lets_no_finding_through_as_its_note_says(
    tmp_path: Path,
) -> None:
    pack, records = _pack(tmp_path), _records(tmp_path)
    baseline = _baseline(tmp_path, pack, records)
    baseline["pack"] = {"id": "another", "version": "1"}  # its fingerprints still those of this pack's findings
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(baseline), encoding="utf-8")
    code, out, _ = _check(pack, records, "--baseline", edited, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report["counts"]["baselined"] == 0
    assert "none of it applies" in json.dumps(report["gate"])


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text[: text.rindex("}")] + ', "findings": []}',
        lambda text: text.replace('"svcpolicy_baseline": 1', '"svcpolicy_baseline": true'),
        lambda text: text.replace('"svcpolicy_baseline": 1', '"svcpolicy_baseline": "1"'),
    ],
    ids=["findings-given-twice", "version-true", "version-as-text"],
)
def test_an_ambiguous_or_mistyped_baseline_is_an_input_error_not_a_silent_choice(tmp_path: Path, edit: Any) -> None:
    pack, records = _pack(tmp_path), _records(tmp_path)
    baseline = _baseline(tmp_path, pack, records)
    edited = tmp_path / "edited.json"
    edited.write_text(edit(json.dumps(baseline)), encoding="utf-8")
    code, _, err = _check(pack, records, "--baseline", edited)
    assert code == EXIT_ERROR
    assert err.startswith(f"svcpolicy: {edited}: not a svcpolicy baseline: ")


def _configured_check(folder: Path, *args: str | Path) -> tuple[int, str, str]:
    return run_cli("check", *args, "--no-progress", "--lang", "en", "--as-of", AS_OF)


def test_a_configuration_every_user_may_write_above_the_working_folder_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "pyproject.toml"
    planted.write_text('[tool.svcpolicy]\npack = "a pack that passes everything"\n', encoding="utf-8")
    planted.chmod(0o666)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, _, err = _configured_check(work, _records(work))
    assert code == EXIT_ERROR
    assert f"{planted}: not used: every user may write it" in err
    assert "--config" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away takes root")
def test_a_configuration_of_another_user_above_the_working_folder_is_not_used_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = _pack(tmp_path)
    planted = tmp_path / "pyproject.toml"
    planted.write_text(f'[tool.svcpolicy]\npack = "{pack}"\n', encoding="utf-8")
    os.chown(planted, 54321, 54321)
    work = tmp_path / "work"
    work.mkdir()
    records = _records(work)
    monkeypatch.chdir(work)
    code, _, err = _configured_check(work, records)
    assert code == EXIT_ERROR
    assert "it belongs to another user (uid 54321)" in err
    code, out, _ = _configured_check(work, records, "--config", planted)
    assert code == 1
    assert "pack mini" in out


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("jobs = true", "jobs: Input should be a valid integer"),
        ('fail_on_undetermined = "no"', "fail_on_undetermined: Input should be a valid boolean"),
    ],
)
def test_a_configuration_value_of_the_wrong_toml_type_is_an_error_not_converted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, problem: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.svcpolicy]\npack = "pack"\n{line}\n', encoding="utf-8")
    _pack(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = _configured_check(tmp_path, _records(tmp_path))
    assert code == EXIT_ERROR
    assert f"pyproject.toml:3: [tool.svcpolicy] {problem}" in err


def test_a_tool_svcpolicy_that_is_no_table_is_an_error_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\nsvcpolicy = 5\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = _configured_check(tmp_path, _records(tmp_path))
    assert code == EXIT_ERROR
    assert "[tool.svcpolicy] is a table of keys (pack = …), not a number" in err
    assert "ProjectConfig" not in err


# -- record values in reports -----------------------------------------------------------------------------------

_FORGED = "R1\n::error file=app.py,line=1::forged\r\n  ::add-mask::secret"


@pytest.mark.parametrize("fmt", ["junit", "html", "github", "text", "markdown", "sarif", "gitlab", "json"])
def test_a_line_break_in_a_record_value_cannot_start_a_workflow_command_line_in_any_format_printed_to_a_ci_log(
    tmp_path: Path, fmt: str
) -> None:
    records = tmp_path / "records.jsonl"
    operation = {**_unauthorised("x")["operations"][0], "kind": "close_account\n::warning::forged too"}
    records.write_text(json.dumps({**_unauthorised(_FORGED), "operations": [operation]}) + "\n", encoding="utf-8")
    code, out, err = _check(_pack(tmp_path), records, "--format", fmt, "--show-customer-ids")
    assert code == 1, err
    forged = ("::error file=app.py", "::add-mask::", "::warning::forged")
    assert not [line for line in out.splitlines() if line.lstrip().startswith(forged)]
    assert "forged" in out  # the value is shown, only not as a line of its own


def test_junit_shows_a_record_ids_terminal_escape_visibly_rather_than_as_a_replacement_character(
    tmp_path: Path,
) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(_unauthorised("R\x1b[2J")) + "\n", encoding="utf-8")
    _, out, _ = _check(_pack(tmp_path), records, "--format", "junit", "--show-customer-ids")
    assert "R\\x1b[2J" in out
    assert "\x1b" not in out
    assert "\ufffd" not in out


def test_a_line_break_in_a_record_value_reads_back_the_same_from_the_html_report(tmp_path: Path) -> None:
    """Written as a character reference, the line break is still in the page's text, for the auditor."""
    import html.parser

    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(_unauthorised("R1\nR1-bis")) + "\n", encoding="utf-8")
    _, out, _ = _check(_pack(tmp_path), records, "--format", "html", "--show-customer-ids")
    texts: list[str] = []

    class Texts(html.parser.HTMLParser):
        def handle_data(self, data: str) -> None:
            texts.append(data)

    Texts().feed(out)
    assert any("R1\nR1-bis" in text for text in texts)
    assert "R1&#10;R1-bis" in out


# -- the event monitor's state -------------------------------------------------------------------------------

_EVENTS = [
    {"id": "e1", "type": "complaint.received", "at": "2026-01-03T10:00:00+08:00", "complaint_id": "C1",
     "customer_id": "CUST1", "channel": "phone"},
    {"id": "e2", "type": "complaint.received", "at": "2026-01-04T10:00:00+08:00", "complaint_id": "C2",
     "customer_id": "CUST2", "channel": "phone"},
]  # fmt: skip

_TAMPERED = {
    "a-case-of-the-wrong-type": "UPDATE cases SET body = json_set(body, '$.due', 'not a date')",
    "a-case-that-is-null": "UPDATE cases SET body = 'null'",
    "a-watermark-in-words": "UPDATE meta SET v = json_set(v, '$.watermark', 'soon')",
    "a-negative-sequence-number": "UPDATE meta SET v = json_set(v, '$.seq', -5)",
    "a-remembered-id-without-a-time": "INSERT INTO seen VALUES ('y', 'not a number')",
    "a-buffered-event-that-is-none": "INSERT INTO pending VALUES ('x', 1.0, '{\"id\": 1}')",
    "a-case-nested-past-the-parser": "UPDATE cases SET body = '{\"a\":' || replace(hex(zeroblob(3000)), '00', '[')",
}


@pytest.mark.parametrize("change", list(_TAMPERED))
def test_a_monitor_state_edited_into_values_no_monitor_writes_is_refused_on_restart_and_left_untouched(
    tmp_path: Path, bundled: Policy, change: str
) -> None:
    import sqlite3

    from svcpolicy.cli.main import main

    state, stream = tmp_path / "state.db", tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(event) + "\n" for event in _EVENTS), encoding="utf-8")
    watch = ["watch", str(stream), "--engine", "python", "--state", str(state)]
    assert main(watch) == 0
    db = sqlite3.connect(state)
    db.execute(_TAMPERED[change])
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = state.read_bytes()
    code, _, err = run_cli(*watch)
    assert code == EXIT_ERROR
    assert err.startswith("svcpolicy: ") and "monitor state" in err
    assert "internal error" not in err
    assert state.read_bytes() == before


def test_a_pack_read_from_a_relative_path_and_cached_still_loads_by_its_absolute_path_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from svcpolicy import load_policy

    monkeypatch.setenv("SVCPOLICY_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    pack = _pack(project)
    monkeypatch.chdir(project)
    load_policy("pack")  # cached, its files recorded as pack/pack.yaml
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = load_policy(pack).evaluate([_unauthorised("R1")], as_of=AS_OF_TIME, jobs=2)
    assert report.counts.with_violations == 1


# -- the environment the command runs in -----------------------------------------------------------------------


def _run(args: list[str], cwd: Path, **options: Any) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, **options.pop("env", {})}
    command = [sys.executable, "-m", "svcpolicy.cli.main", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=False, timeout=60, check=False, **options)


def test_a_check_run_with_stdout_closed_still_judges_and_exits_with_the_verdict(tmp_path: Path) -> None:
    pack, records = _pack(tmp_path), _records(tmp_path)
    report = tmp_path / "report.json"
    done = _run(
        ["check", str(records), "--pack", str(pack), "--no-config", "--no-progress", "-o", f"json={report}"],
        tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 1, done.stderr
    assert b"internal error" not in done.stderr
    assert b"stdout is closed" in done.stderr
    assert json.loads(report.read_text(encoding="utf-8"))["counts"]["with_violations"] == 3


def test_watch_reading_a_closed_stdin_reads_no_events_rather_than_crashing(tmp_path: Path) -> None:
    done = _run(
        ["watch", "-", "--engine", "python"],
        tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 0, done.stderr
    assert b"stdin is closed" in done.stderr
    assert b"0 events" in done.stderr


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_a_report_to_a_terminal_that_cannot_show_chinese_is_written_with_escapes_not_a_crash(
    tmp_path: Path, encoding: str
) -> None:
    pack, records = _pack(tmp_path), _records(tmp_path)
    base = ["check", str(records), "--pack", str(pack), "--no-config", "--no-progress", "--as-of", AS_OF]
    env = {"PYTHONIOENCODING": encoding}
    text = _run(base, tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert text.returncode == 1, text.stderr
    assert "\\u94f6\\u884c" in text.stdout.decode("ascii")  # 银行, escaped
    as_json = _run([*base, "--format", "json"], tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(as_json.stdout)["findings"][0]["citations"][0]["title"] == "银行客户服务规章制度"


def test_init_pack_into_a_folder_it_cannot_write_says_so_in_words(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    code, _, err = run_cli("init-pack", "branch", "--dir", str(blocker / "branch"))
    assert code == EXIT_ERROR
    assert err.startswith("svcpolicy init-pack: cannot write ")
    assert "Not a directory" in err
    assert "Errno" not in err


def test_a_branch_named_with_dollar_signs_is_drawn_as_written_in_the_auditors_chart(mini: Policy) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    names = ["$^$", "$\\sqrt{x}$", "a$b$c$"]
    records = [{**_unauthorised(f"R{i}"), "branch_id": name} for i, name in enumerate(names)]
    figure = mini.evaluate(records, as_of=AS_OF_TIME).plot_by("branch_id")
    try:
        figure.canvas.draw()  # mathtext would fail here on `$^$`
        shown = {label.get_text().replace("\\$", "$") for label in figure.axes[0].get_yticklabels()}
    finally:
        plt.close(figure)
    assert shown == set(names)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_waiver_id_holding_a_terminal_escape_is_shown_visibly_in_its_note_and_its_tag(
    tmp_path: Path, fmt: str
) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        'waivers:\n  - id: "W\\e[2J"\n    rule: SVC-016-unauthorized-operation\n    record: R0\n    reason: r\n'
        '    approver: a\n    expires: 2027-01-01\n  - id: "X\\e]0;title\\a"\n'
        "    rule: SVC-016-unauthorized-operation\n    record: R9\n    reason: r\n    approver: a\n"
        "    expires: 2027-01-01\n",
        encoding="utf-8",
    )
    _, out, err = _check(_pack(tmp_path), _records(tmp_path), "--waivers", waivers, "--format", fmt)
    shown = out + err
    assert "\x1b" not in shown and "\x07" not in shown
    assert "X\\x1b]0;title\\x07" in shown  # the stale waiver's note: in the text report, or on stderr
    if fmt == "text":
        assert "<waived W\\x1b[2J until 2027-01-01>" in out
