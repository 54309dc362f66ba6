"""``svcpolicy watch`` and ``svcpolicy event-schema`` on the command line."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import jsonschema
import orjson
import pytest

from monitor_streams import ev, tick
from svcpolicy.cli import main
from svcpolicy.records.events import event_json_schema

EVENTS = [
    ev("r1", "complaint.received", "03-02 10:00", complaint_id="A"),
    ev("o1", "operation.performed", "03-03 10:00", customer_id="C1", kind="transfer", affects_customer_rights=True),
    ev("o1", "operation.performed", "03-03 10:00", customer_id="C1", kind="transfer", affects_customer_rights=True),
    tick("03-18 00:00"),
]


def write(path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in EVENTS) + b"\n")
    return path


def test_watch_prints_one_json_line_per_finding_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["watch", str(write(tmp_path / "events.jsonl")), "--engine", "python"]) == 1
    captured = capsys.readouterr()
    lines = [orjson.loads(line) for line in captured.out.splitlines()]
    assert [(line["seq"], line["outcome"], line["rule"]) for line in lines] == [
        (1, "violation", "EVT-AUTH-001-authorisation-before-operation"),
        (2, "violation", "EVT-CMP-001-decided-within-period"),
        (3, "violation", "EVT-CMP-002-decision-told-to-complainant"),
    ]
    assert lines[0]["citations"][0]["label"] == "第十六条"
    assert "3 events, 1 duplicates, 0 late, 0 invalid; 3 violations" in captured.err
    assert "EVT-CMP-004-progress-reported is not run by itself" in captured.err


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_watch_masks_the_customer_id_of_each_finding_unless_asked_to_show_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    """A watch's findings go to alert queues and logs: the case's customer id is masked in its key, messages
    and evidence by default, as ``check`` masks a report."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        orjson.dumps(
            ev("o1", "operation.performed", "03-03 10:00", customer_id="C7654321", kind="transfer",
               affects_customer_rights=True, operation_id="OP-C7654321")
        ) + b"\n"
    )  # fmt: skip
    assert main(["watch", str(events), "--engine", engine]) == 1
    masked = capsys.readouterr().out
    (finding,) = [orjson.loads(line) for line in masked.splitlines()]
    assert "C7654321" not in masked
    assert finding["record"]["id"] == "C7****21/transfer" and finding["evidence"]["customer_id"] == "C7****21"
    assert "C7****21" in finding["message"]["zh"] and finding["fingerprint"].startswith("sha256:")
    assert main(["watch", str(events), "--engine", engine, "--show-customer-ids"]) == 1
    (shown,) = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert shown["record"]["id"] == "C7654321/transfer" and shown["fingerprint"] == finding["fingerprint"]


def test_watch_reads_stdin_and_warns_before_deadlines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(orjson.dumps(e).decode() for e in [EVENTS[0], tick("03-16 00:00")]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["watch", "-", "--lead-days", "2"]) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["outcome"], line["evidence"]["due"]) for line in lines] == [("due-soon", "2026-03-17")] * 2


def test_watch_refuses_a_bad_duration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["watch", "--allowance", "soon"])
    assert "not a duration" in capsys.readouterr().err


def test_event_schema_is_valid_json_schema_and_accepts_the_documented_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["event-schema"]) == 0
    schema = orjson.loads(capsys.readouterr().out)
    assert schema == orjson.loads(orjson.dumps(event_json_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for event in EVENTS:
        validator.validate(event)
    assert not validator.is_valid({"id": "x", "type": "complaint.sold", "at": "2026-03-02T10:00:00+08:00"})
