"""Waivers and baselines: what they excuse, what they never hide, when they stop applying."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekit import (
    AS_OF,
    DISCLOSURE,
    UNAUTHORISED,
    authorised,
    disclosed,
    svcpolicy,
    unauthorised,
    write_gate_pack,
    write_records,
)
from svcpolicy.gate.waivers import WaiverFileErrors, load_waivers


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_gate_pack(tmp_path / "pack")
    write_records(tmp_path / "records.jsonl", unauthorised("R1"), authorised("R2"), disclosed("R3"))
    return tmp_path


def waiver_file(path: Path, *entries: str) -> Path:
    path.write_text("waivers:\n" + "".join(entries), encoding="utf-8")
    return path


def waiver(
    rule: str = UNAUTHORISED, record: str = "R1", expires: str = "2026-12-31", wid: str = "W-1", extra: str = ""
) -> str:
    return (
        f"  - id: {wid}\n    rule: {rule}\n    record: {record}\n    reason: 授权书已补录\n"
        f"    approver: 合规部 李四\n    expires: {expires}\n{extra}"
    )


def check(*extra: str | Path, as_of: str = AS_OF) -> tuple[int, str, str]:
    return svcpolicy("check", "records.jsonl", "--pack", "pack", "--as-of", as_of, "--no-config", *extra)


# -- waivers ------------------------------------------------------------------------------------------


def test_a_waived_finding_is_still_reported_and_counted_but_no_longer_fails(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"), authorised("R2"))
    waiver_file(workdir / "waivers.yaml", waiver())
    code, out, _ = check("--waivers", "waivers.yaml")
    assert code == 0
    assert "R1  [严重] SVC-016-unauthorized-operation" in out and "<已豁免 W-1，有效期至 2026-12-31>" in out
    assert out.strip().endswith(
        "共 2 条记录：合规 1，有违规 1（违规 1 项），无法判定 0，无效 0；已豁免 1 项，已列入基线 0 项"
    )
    data = json.loads(check("--waivers", "waivers.yaml", "--format", "json")[1])
    assert data["counts"]["waived"] == 1 and data["counts"]["reconciled"]
    (finding,) = data["findings"]
    assert finding["status"] == "waived" and finding["blocking"] is False
    assert finding["waiver"]["approver"] == "合规部 李四" and finding["waiver"]["file"].endswith("waivers.yaml:2:5")
    streamed = [json.loads(line) for line in check("--waivers", "waivers.yaml", "--format", "jsonl")[1].splitlines()]
    assert [(line["record"]["id"], line["status"], line["blocking"]) for line in streamed] == [("R1", "waived", False)]


def test_a_waiver_can_name_the_item_or_the_fingerprint(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1", n_ops=2))
    findings = json.loads(check("--format", "json")[1])["findings"]
    waiver_file(
        workdir / "waivers.yaml",
        waiver(extra="    path: operations[0]\n"),
        f"  - fingerprint: {findings[1]['fingerprint']}\n    reason: r\n    approver: a\n    expires: 2026-12-31\n",
    )
    code, out, _ = check("--waivers", "waivers.yaml", "--format", "json")
    assert code == 0
    statuses = [(f["record"]["path"], f["status"], f["waiver"]["id"]) for f in json.loads(out)["findings"]]
    assert statuses == [("operations[0]", "waived", "W-1"), ("operations[1]", "waived", "waivers.yaml:9")]


def test_an_expired_waiver_stops_applying_and_says_so(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"))
    waiver_file(workdir / "waivers.yaml", waiver(expires="2026-11-30"))
    assert check("--waivers", "waivers.yaml", as_of="2026-11-30T23:59:00+08:00")[0] == 0  # the last day counts
    code, out, _ = check("--waivers", "waivers.yaml", as_of="2026-12-01T00:00:00+08:00")
    assert code == 1
    assert "<waiver W-1 expired on 2026-11-30>" in out
    assert (
        f"waivers.yaml:2:5: waiver W-1 for {UNAUTHORISED} on R1 expired on 2026-11-30; "
        "1 finding(s) it covered fail again"
    ) in out


def test_expiry_is_judged_on_the_as_of_date_in_the_pack_time_zone(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"))
    waiver_file(workdir / "waivers.yaml", waiver(expires="2026-11-30"))
    # 2026-11-30T20:00Z is already 12-01 in +08:00
    assert check("--waivers", "waivers.yaml", as_of="2026-11-30T20:00:00+00:00")[0] == 1


def test_a_waiver_that_matches_nothing_is_reported_as_stale(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"))
    waiver_file(workdir / "waivers.yaml", waiver(), waiver(record="R9", wid="W-2"))
    code, out, _ = check("--waivers", "waivers.yaml")
    assert code == 0
    assert f"waivers.yaml:8:5: waiver W-2 for {UNAUTHORISED} on R9 matched no finding in this run" in out
    code, _, _ = check("--waivers", "waivers.yaml", "--fail-on-stale-waivers")
    assert code == 1


def test_a_waiver_for_a_rule_the_pack_lacks_is_stale_with_a_suggestion(workdir: Path) -> None:
    waiver_file(workdir / "waivers.yaml", waiver(rule="SVC-016-unauthorised-operation"))
    _, out, _ = check("--waivers", "waivers.yaml")
    assert "names rule SVC-016-unauthorised-operation, which the pack does not have" in out
    assert f"did you mean {UNAUTHORISED}?" in out


def test_a_rule_marked_not_waivable_cannot_be_waived(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", disclosed("R3"))
    waiver_file(workdir / "waivers.yaml", waiver(rule=DISCLOSURE, record="R3"))
    code, out, _ = check("--waivers", "waivers.yaml")
    assert code == 1
    assert "<waiver W-1 ignored: rule is not waivable>" in out
    assert f"rule {DISCLOSURE} is marked `waivable: false`; the waiver has no effect" in out
    data = json.loads(check("--waivers", "waivers.yaml", "--format", "json")[1])
    assert data["counts"]["waived"] == 0 and data["findings"][0]["status"] == "open"


def test_waiver_file_errors_are_reported_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "waivers:\n"
        "  - id: W-1\n"
        f"    rule: {UNAUTHORISED}\n"
        "    record: R1\n"
        "    reason: r\n"
        "    approver: a\n"
        "    expires: next year\n"
        "  - id: W-2\n"
        "    rule: nope\n"
        "    record: R1\n"
        "    reason: r\n"
        "    approver: a\n"
        "    expires: 2026-12-01\n"
        "    approved: yes\n",
        encoding="utf-8",
    )
    with pytest.raises(WaiverFileErrors) as caught:
        load_waivers(path)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}:7:14: waivers.0.expires: Input should be a valid date or datetime, input is too short",
        f"{path}:9:11: waivers.1.rule: String should match pattern '^[A-Z][A-Z0-9]*(-[A-Za-z0-9]+)+$'",
        f"{path}:14:15: waivers.1.approved: Extra inputs are not permitted",
    ]


def test_an_impossible_date_is_an_error_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n" + waiver(expires="2026-13-01"), encoding="utf-8")
    with pytest.raises(WaiverFileErrors, match=r"w\.yaml:7:14: '2026-13-01' is not a valid value"):
        load_waivers(path)


def test_a_waiver_without_its_finding_named_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        f"waivers:\n  - rule: {UNAUTHORISED}\n    reason: r\n    approver: a\n    expires: 2026-12-01\n",
        encoding="utf-8",
    )
    with pytest.raises(WaiverFileErrors, match=r"w\.yaml:2:5: waivers\.0: a waiver names its finding"):
        load_waivers(path)


def test_a_waiver_id_used_twice_is_an_error_and_a_broken_file_stops_the_check(workdir: Path) -> None:
    waiver_file(workdir / "waivers.yaml", waiver(), waiver(record="R2"))
    code, _, err = check("--waivers", "waivers.yaml")
    assert code == 2
    assert "waivers.yaml:8:5: waiver id 'W-1' is used twice (first at waivers.yaml:2:5)" in err


# -- baselines ----------------------------------------------------------------------------------------


def test_with_a_baseline_only_new_findings_fail(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"), authorised("R2"))
    code, _, err = check("--write-baseline", "baseline.json")
    assert code == 0  # accepted as of now
    assert "wrote a baseline of 1 finding(s) to baseline.json" in err
    assert check("--baseline", "baseline.json")[0] == 0
    write_records(workdir / "records.jsonl", unauthorised("R1"), unauthorised("R2"))
    code, out, _ = check("--baseline", "baseline.json", "--format", "json")
    assert code == 1
    statuses = {f["record"]["id"]: f["status"] for f in json.loads(out)["findings"]}
    assert statuses == {"R1": "baselined", "R2": "open"}
    assert json.loads(out)["counts"]["baselined"] == 1


def test_the_baseline_keys_on_fingerprints_not_on_files_or_lines(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"))
    check("--write-baseline", "baseline.json")
    moved = write_records(workdir / "moved" / "other.jsonl", authorised("R0"), unauthorised("R1"))
    code, _, _ = svcpolicy(
        "check", moved, "--pack", "pack", "--as-of", AS_OF, "--no-config", "--baseline", "baseline.json"
    )
    assert code == 0


def test_fixed_baseline_findings_are_reported(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"), unauthorised("R2"))
    check("--write-baseline", "baseline.json")
    write_records(workdir / "records.jsonl", unauthorised("R1"), authorised("R2"))
    code, out, _ = check("--baseline", "baseline.json")
    assert code == 0
    assert "baseline.json: 1 of 2 baseline finding(s) no longer occur" in out


def test_unwaivable_and_waived_findings_stay_out_of_a_written_baseline(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"), unauthorised("R2"), disclosed("R3"))
    waiver_file(workdir / "waivers.yaml", waiver(record="R2"))
    code, _, _ = check("--waivers", "waivers.yaml", "--write-baseline", "baseline.json")
    assert code == 1  # R3's rule is not waivable: baselining it is refused, so the gate still fails
    entries = json.loads((workdir / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert [(e["rule"], e["record"]) for e in entries] == [(UNAUTHORISED, "R1")]
    # once the waiver expires, R2 is new again: the baseline did not swallow it
    code, out, _ = check("--waivers", "waivers.yaml", "--baseline", "baseline.json", as_of="2027-01-02T00:00:00+08:00")
    assert code == 1 and "R2" in out and "expired on 2026-12-31" in out


def test_a_baseline_written_for_another_pack_is_flagged(workdir: Path) -> None:
    (workdir / "baseline.json").write_text(
        json.dumps({"svcpolicy_baseline": 1, "pack": {"id": "other", "version": "1"}, "findings": []}),
        encoding="utf-8",
    )
    _, out, _ = check("--baseline", "baseline.json")
    assert "the baseline was written for pack other, not gate" in out


def test_a_file_that_is_not_a_baseline_is_an_error(workdir: Path) -> None:
    (workdir / "baseline.json").write_text('{"findings": [}', encoding="utf-8")
    code, _, err = check("--baseline", "baseline.json")
    assert code == 2 and "baseline.json:1:15: not JSON" in err
    (workdir / "baseline.json").write_text('{"findings": []}', encoding="utf-8")
    code, _, err = check("--baseline", "baseline.json")
    assert code == 2 and "not a svcpolicy baseline: svcpolicy_baseline: Field required" in err


def test_counts_still_reconcile_with_waivers_and_baselines(workdir: Path) -> None:
    write_records(workdir / "records.jsonl", unauthorised("R1"), unauthorised("R2"), authorised("R3"), disclosed("R4"))
    check("--write-baseline", "baseline.json")
    write_records(
        workdir / "records.jsonl", unauthorised("R1"), unauthorised("R2"), authorised("R3"), disclosed("R4"), {"x": 1}
    )
    waiver_file(workdir / "waivers.yaml", waiver(record="R2"))
    counts = json.loads(check("--waivers", "waivers.yaml", "--baseline", "baseline.json", "--format", "json")[1])[
        "counts"
    ]
    assert (
        counts["records"]
        == counts["compliant"] + counts["with_violations"] + counts["undetermined"] + counts["invalid"]
    )
    assert (counts["with_violations"], counts["violations"], counts["waived"], counts["baselined"]) == (3, 3, 1, 1)
