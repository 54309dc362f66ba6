"""Dispositions, verdicts, rule descriptions, report formats and pack sources behave as the frozen dataclasses they
replaced (equal, hashed and shown by their fields, immutable, built with the same defaults, read back from a
pickle unchanged), and the gate is built as the dataclass it was."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest

from svcpolicy.engine.aggregates import AggregateSpec
from svcpolicy.engine.portable import PackSource, ValidatedPack
from svcpolicy.errors import SourceLocation
from svcpolicy.gate.gate import Gate
from svcpolicy.reporting.registry import FORMATS, ReportFormat
from svcpolicy.results.catalog import RuleInfo
from svcpolicy.results.dispositions import (
    OPEN_INVALID,
    Disposition,
    GateNote,
    GateReason,
    GateVerdict,
    Status,
    WaiverNote,
)
from svcpolicy.results.findings import Citation
from svcpolicy.severity import Severity

WAIVER = WaiverNote("W-7", "known gap", "audit", dt.date(2026, 12, 31), None, SourceLocation("waivers.yaml", 4, 3))
CITATION = Citation("reg", "第三条", "title", None, None, "text")


def _values() -> list[object]:
    return [
        WAIVER,
        Disposition(Status.WAIVED, False, WAIVER, "note"),
        GateNote("stale-waiver", "gone", "waivers.yaml:4"),
        GateReason("blocking-finding", 2),
        GateVerdict.of(blocking_findings=2, invalid_records=0, input_failures=1),
        RuleInfo("R-1", "title", Severity.HIGH, (CITATION,), kind="aggregate", waivable=False),
        FORMATS["csv"],
        AggregateSpec("total", "count", None),
    ]


def test_dispositions_and_verdicts_are_equal_and_hash_alike_when_their_fields_are() -> None:
    assert Disposition(Status.OPEN, True) == OPEN_INVALID == Disposition(Status.OPEN, True, None, None)
    assert Disposition(Status.OPEN, True) != Disposition(Status.OPEN, False)
    assert len({Disposition(Status.OPEN, True), OPEN_INVALID}) == 1
    assert (
        GateVerdict() == GateVerdict((), ()) == GateVerdict.of(blocking_findings=0, invalid_records=0, input_failures=0)
    )
    assert GateNote("k", "m") == GateNote("k", "m", None) != GateNote("k", "m", "here")
    assert GateReason("k", 1) != GateNote("k", "1")


def test_a_disposition_and_a_verdict_show_their_fields_as_the_dataclasses_did() -> None:
    assert repr(Disposition(Status.OPEN, True)) == (
        "Disposition(status=<Status.OPEN: 'open'>, blocking=True, waiver=None, note=None)"
    )
    assert repr(GateVerdict()) == "GateVerdict(reasons=(), stale_waivers=())"


def test_a_rule_description_built_by_keyword_takes_the_dataclass_defaults() -> None:
    info = RuleInfo(id="R-1", title="title", severity=Severity.MEDIUM, citations=(CITATION,))
    assert (info.description, info.kind, info.waivable, info.title_zh, info.description_zh) == (
        None,
        "record",
        True,
        None,
        None,
    )
    assert info == RuleInfo("R-1", "title", Severity.MEDIUM, (CITATION,), None, "record", True, None, None)
    assert info.to_dict()["kind"] == "record"


def test_report_formats_keep_their_defaults_and_the_settings_given() -> None:
    jsonl, csv, html = FORMATS["jsonl"], FORMATS["csv"], FORMATS["html"]
    assert (jsonl.encoding, jsonl.stream_name, jsonl.caps_findings, jsonl.showing_customer_ids_name) == (
        "utf-8",
        "JsonlStream",
        False,
        None,
    )
    assert csv.encoding == "utf-8-sig"
    assert html.caps_findings and html.stream is None and html.write_showing_customer_ids is not None
    assert ReportFormat("x", "json", "write_jsonl", ".x") == ReportFormat(
        "x", "json", "write_jsonl", ".x", "utf-8", None, False, None
    )


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_a_value_cannot_be_changed_once_made(value: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.name = "changed"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_a_value_reads_back_from_a_pickle_equal_to_itself(value: object) -> None:
    again = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - pickled just above
    assert again == value and hash(again) == hash(value) and repr(again) == repr(value)


def test_a_pack_source_is_compared_and_shown_by_its_content_not_by_the_definition_it_carries() -> None:
    files = (("/packs/a/pack.yaml", b"id: a"),)
    bare = PackSource("/packs/a/pack.yaml", files, "sha256:0")
    assert isinstance(bare.validated, ValidatedPack) and bare.validated.definition() is None
    assert bare.validated is not PackSource("/packs/a/pack.yaml", files, "sha256:0").validated
    carrying = PackSource("/packs/a/pack.yaml", files, "sha256:0", validated=ValidatedPack(None, "stamp", b"x"))
    assert bare == carrying and hash(bare) == hash(carrying)
    assert bare != PackSource("/packs/a/pack.yaml", files, "sha256:1")
    assert repr(carrying) == f"PackSource(entry='/packs/a/pack.yaml', files={files!r}, digest='sha256:0')"
    again = pickle.loads(pickle.dumps(carrying))  # noqa: S301 - pickled just above
    assert again == carrying and isinstance(again.validated, ValidatedPack)


def test_a_gate_takes_its_settings_in_the_dataclass_order_and_starts_with_no_waivers() -> None:
    gate = Gate(today=dt.date(2026, 1, 5))
    assert (gate.fail_on, gate.fail_on_undetermined, len(gate.waivers), gate.baseline, gate.rules) == (
        Severity.INFO,
        False,
        0,
        None,
        (),
    )
    assert gate.conclude() == GateVerdict() and gate.notes() == []
    strict = Gate(Severity.HIGH, True)
    strict.conclude()
    assert (strict.fail_on, strict.fail_on_undetermined, strict.to_dict()["fail_on"]) == (Severity.HIGH, True, "high")
