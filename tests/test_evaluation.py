"""Every record gets an outcome, findings cite their article, and the counts reconcile."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pydantic
import pytest

import svcpolicy
from conftest import AS_OF, MINI_PACK, operation


def test_an_operation_without_authorisation_is_a_violation_citing_article_16(mini: svcpolicy.Policy) -> None:
    report = mini.evaluate({"id": "R1", "operations": [operation(None)]}, as_of=AS_OF)
    (finding,) = report.findings
    assert finding.outcome is svcpolicy.Outcome.VIOLATION
    assert finding.rule == "SVC-016-unauthorized-operation"
    assert finding.record.path == "operations[0]"
    citation = finding.citations[0]
    assert citation.label == "第十六条"
    assert citation.text == "本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。"
    assert finding.message_zh == "未经客户授权执行了涉及客户权益的操作：close_account"
    assert finding.evidence["op.authorization"] is None


def test_an_authorisation_given_after_the_operation_is_a_violation(mini: svcpolicy.Policy) -> None:
    report = mini.evaluate({"id": "R1", "operations": [operation("2026-01-05T10:05:00+08:00")]}, as_of=AS_OF)
    assert [f.outcome for f in report.findings] == [svcpolicy.Outcome.VIOLATION]
    assert report.findings[0].evidence["op.authorization.at"] == "2026-01-05T10:05:00+08:00"


def test_an_operation_authorised_beforehand_is_compliant(mini: svcpolicy.Policy) -> None:
    report = mini.evaluate({"id": "R1", "operations": [operation()]}, as_of=AS_OF)
    assert report.findings == []
    assert report.counts.compliant == 1


def test_a_record_that_does_not_say_whether_an_operation_affects_rights_is_undetermined(
    mini: svcpolicy.Policy,
) -> None:
    op = operation(None)
    del op["affects_customer_rights"]
    report = mini.evaluate({"id": "R1", "operations": [operation(), op]}, as_of=AS_OF)
    (finding,) = report.findings
    assert finding.outcome is svcpolicy.Outcome.UNDETERMINED
    assert finding.missing == "operations[1].affects_customer_rights"
    assert report.counts.undetermined == 1


def test_an_invalid_record_is_reported_with_its_line_and_the_run_goes_on(
    mini: svcpolicy.Policy, tmp_path: Path
) -> None:
    path = tmp_path / "records.jsonl"
    lines = [
        {"id": "R1", "operations": [operation()]},
        {
            "id": "R2",
            "operations": [{"kind": "x", "affects_customer_rights": True, "at": "2026-01-05T10:00:00"}],
        },
        {"id": "R3", "operations": [operation(None)]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n", encoding="utf-8")
    report = mini.evaluate(path, as_of=AS_OF)
    assert [(i.record.line, i.record.id) for i in report.invalid] == [(2, "R2"), (4, None)]
    assert "operations.0.at" in report.invalid[0].error
    assert [f.record.id for f in report.findings] == ["R3"]
    assert report.findings[0].record.locator == f"{path}:3"
    counts = report.counts
    assert (counts.records, counts.compliant, counts.with_violations, counts.invalid) == (4, 1, 1, 2)
    assert counts.reconciled


def test_a_missing_input_file_is_reported_and_the_other_inputs_are_still_checked(
    mini: svcpolicy.Policy, tmp_path: Path
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "R1", "operations": [operation(None)]}) + "\n", encoding="utf-8")
    report = mini.evaluate([tmp_path / "absent.jsonl", good], as_of=AS_OF, on_input_error="report")
    assert [f.source for f in report.input_failures] == [str(tmp_path / "absent.jsonl")]
    assert report.counts.with_violations == 1


def test_findings_stream_in_input_order_and_counts_fill_as_they_go(mini: svcpolicy.Policy) -> None:
    records = (
        {"id": f"R{i}", "operations": [operation(None if i % 3 == 0 else "2026-01-05T09:00:00+08:00")]}
        for i in range(30)
    )
    run = mini.iter_findings(records, as_of=AS_OF)
    ids = [f.record.id for f in run]
    assert ids == [f"R{i}" for i in range(0, 30, 3)]
    assert run.counts.records == 30 and run.counts.reconciled


def test_the_fingerprint_is_the_same_across_runs_and_line_moves(mini: svcpolicy.Policy) -> None:
    record = {"id": "R1", "operations": [operation(), operation(None)]}
    first = mini.evaluate([record], as_of=AS_OF).findings[0]
    second = mini.evaluate([{"id": "R0", "operations": []}, record], as_of=AS_OF).findings[0]
    assert first.record.line != second.record.line
    assert first.fingerprint == second.fingerprint
    assert first.fingerprint.startswith("sha256:")


def test_pydantic_models_are_accepted_as_records(mini: svcpolicy.Policy) -> None:
    class Authorization(pydantic.BaseModel):
        by: str
        at: str

    class Operation(pydantic.BaseModel):
        kind: str
        affects_customer_rights: bool
        at: str
        authorization: Authorization | None = None

    class Record(pydantic.BaseModel):
        id: str
        operations: list[Operation]

    record = Record(
        id="M1",
        operations=[
            Operation(
                kind="close_account",
                affects_customer_rights=True,
                at="2026-01-05T10:00:00+08:00",
                authorization=None,
            )
        ],
    )
    (finding,) = mini.evaluate(record, as_of=AS_OF).findings
    assert finding.record.id == "M1"


def test_a_report_serialises_to_json_with_everything_a_finding_carries(mini: svcpolicy.Policy) -> None:
    report = mini.evaluate({"id": "R1", "operations": [operation(None)]}, as_of=AS_OF)
    data = json.loads(json.dumps(report.to_dict()))
    finding = data["findings"][0]
    assert set(finding) >= {
        "rule",
        "severity",
        "outcome",
        "record",
        "citations",
        "message",
        "evidence",
        "pack",
        "fingerprint",
    }
    assert finding["pack"] == {"id": "mini", "version": "1"}
    assert data["counts"]["reconciled"] is True


def test_as_of_without_a_time_zone_is_refused(mini: svcpolicy.Policy) -> None:
    with pytest.raises(ValueError, match="time zone"):
        mini.evaluate([], as_of=dt.datetime(2026, 1, 1))


LET_PACK_RULES = """\
rules:
  - id: SVC-016-late-authorisation
    title: Authorisation given after the operation
    cite: [svc-rules/16]
    severity: high
    for_each: op in operations
    let:
      auth: op.authorization
      late: auth.at > op.at
    when: auth is not None and late
    message:
      zh: "授权晚于操作 {op.kind}"
      en: "authorised after {op.kind}"
"""


@pytest.fixture
def let_policy(write_pack: Callable[..., Path]) -> svcpolicy.Policy:
    pack_text = MINI_PACK[: MINI_PACK.index("\nrules:") + 1] + LET_PACK_RULES
    return svcpolicy.load_policy(write_pack({"pack.yaml": pack_text}))


def test_a_let_that_the_condition_never_needs_does_not_make_the_rule_undetermined(
    let_policy: svcpolicy.Policy,
) -> None:
    report = let_policy.evaluate({"id": "R1", "operations": [operation(None)]}, as_of=AS_OF)
    assert report.findings == [] and report.counts.compliant == 1


def test_an_absent_field_inside_a_let_is_named_by_its_real_path(let_policy: svcpolicy.Policy) -> None:
    op = operation()
    authorization = op["authorization"]
    assert isinstance(authorization, dict)
    del authorization["at"]
    (finding,) = let_policy.evaluate({"id": "R1", "operations": [operation(), op]}, as_of=AS_OF).findings
    assert finding.missing == "operations[1].authorization.at"


def test_a_violation_shows_the_let_values_as_evidence(let_policy: svcpolicy.Policy) -> None:
    report = let_policy.evaluate({"id": "R1", "operations": [operation("2026-01-05T10:30:00+08:00")]}, as_of=AS_OF)
    (finding,) = report.findings
    assert finding.evidence["late"] is True
    assert finding.evidence["op.authorization.at"] == "2026-01-05T10:30:00+08:00"


def test_one_policy_serves_many_threads_with_the_same_answers(bundled: svcpolicy.Policy) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from conftest import REPO

    examples = REPO / "examples" / "records.jsonl"
    expected = [f.to_dict() for f in bundled.evaluate(examples, as_of=AS_OF).findings]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: bundled.evaluate(examples, as_of=AS_OF), range(16)))
    assert expected, "the bundled examples have findings"
    assert len(results) == 16
    assert all([f.to_dict() for f in r.findings] == expected for r in results)
