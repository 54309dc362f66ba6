"""Issue 14: the library as a bank system imports it, and the command line as a new user meets it."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import svcpolicy
from svcpolicy.cli.check_summary import ThresholdTally
from svcpolicy.cli.config import load_config
from svcpolicy.cli.main import main
from svcpolicy.cli.progress import RecordProgress, estimate_records
from svcpolicy.cli.walk import record_files
from svcpolicy.engines.durable import DurableUnavailable, durable_coverage
from svcpolicy.expr import parse
from svcpolicy.results.dispositions import Disposition, GateVerdict, Status
from svcpolicy.results.report import Counts
from svcpolicy.severity import Severity

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "records.jsonl"
AS_OF = dt.datetime(2026, 11, 27, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def example(n: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(EXAMPLES.read_text(encoding="utf-8").splitlines()[n])
    return record


# -- errors ---------------------------------------------------------------------------------------------------


def test_a_misspelt_record_file_raises_input_error_unless_failures_are_collected(bundled: svcpolicy.Policy) -> None:
    with pytest.raises(svcpolicy.InputError, match=r"typo\.jsonl: no such file"):
        bundled.evaluate("typo.jsonl", as_of=AS_OF)
    report = bundled.evaluate("typo.jsonl", as_of=AS_OF, on_input_error="report")
    assert [f.source for f in report.input_failures] == ["typo.jsonl"]


def test_bytes_and_none_are_refused_as_records_inside_the_hierarchy(bundled: svcpolicy.Policy) -> None:
    for wrong in (b'{"id": "R1"}', None, 42):
        with pytest.raises(svcpolicy.InputTypeError) as caught:
            bundled.evaluate(wrong, as_of=AS_OF)  # type: ignore[arg-type]
        assert isinstance(caught.value, svcpolicy.SvcPolicyError) and isinstance(caught.value, TypeError)


def test_a_naive_as_of_and_an_unknown_engine_are_usage_errors_that_old_value_error_handlers_still_catch(
    bundled: svcpolicy.Policy,
) -> None:
    with pytest.raises(svcpolicy.UsageError, match="time zone"):
        bundled.evaluate(example(), as_of=dt.datetime(2026, 11, 27))
    with pytest.raises(ValueError, match="engine"):
        bundled.evaluate(example(), as_of=AS_OF, engine="drools")  # type: ignore[arg-type]
    with pytest.raises(svcpolicy.SvcPolicyError):
        bundled.evaluate(example(), as_of=AS_OF, on_input_error="ignore")  # type: ignore[arg-type]


# -- one record, one decision ------------------------------------------------------------------------------------


def test_check_decides_one_record_without_the_group_rules_unless_asked(bundled: svcpolicy.Policy) -> None:
    record = example()
    evaluated = bundled.evaluate(record, as_of=AS_OF)
    decision = bundled.check(record, as_of=AS_OF)
    assert isinstance(decision, svcpolicy.Decision)
    assert all(f.group is None for f in decision.findings)
    assert [f.rule for f in decision.findings] == [f.rule for f in evaluated.findings if f.group is None]
    assert decision.undetermined_fields == tuple(
        dict.fromkeys(f.missing for f in decision.findings if f.missing and f.outcome is svcpolicy.Outcome.UNDETERMINED)
    )
    with_groups = bundled.check(record, as_of=AS_OF, include_aggregates=True)
    assert [f.rule for f in with_groups.findings] == [f.rule for f in evaluated.findings]


def test_check_says_an_invalid_record_is_invalid_and_why(bundled: svcpolicy.Policy) -> None:
    decision = bundled.check({"id": "R1", "wait_minutes": "52"}, as_of=AS_OF)
    assert decision.outcome is svcpolicy.Outcome.INVALID and not decision.compliant
    assert decision.error is not None and "wait_minutes" in decision.error


# -- logging ------------------------------------------------------------------------------------------------------


def test_loading_a_pack_logs_its_id_version_and_rule_counts(
    caplog: pytest.LogCaptureFixture, write_pack: Callable[..., Path]
) -> None:
    with caplog.at_level(logging.INFO, logger="svcpolicy"):
        policy = svcpolicy.load_policy(write_pack())
    (message,) = [r.getMessage() for r in caplog.records if r.name == "svcpolicy.engine.compiled"]
    assert f"pack {policy.id} {policy.version} loaded" in message
    assert f"{len(policy.programs)} record rules, {len(policy.aggregates)} aggregate rules" in message


def test_a_year_without_a_holiday_schedule_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    calendar = svcpolicy.HolidayCalendar.official()
    year = calendar.known_years[1] + 7
    with caplog.at_level(logging.WARNING, logger="svcpolicy"), pytest.raises(svcpolicy.CalendarNotCovered):
        calendar.is_working_day(dt.date(year, 3, 2))
    assert any(f"schedule for {year} is not known" in r.getMessage() for r in caplog.records)


def test_library_code_prints_nothing_and_adds_no_log_handlers() -> None:
    printing = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "src" / "svcpolicy").rglob("*.py")
        if "cli" not in path.relative_to(ROOT / "src" / "svcpolicy").parts
        and re.search(r"(?<![\w.])print\(", path.read_text("utf-8"))
    ]
    assert printing == []
    assert logging.getLogger("svcpolicy").handlers == []


# -- durable-rules is optional ---------------------------------------------------------------------------------


def test_without_durable_rules_the_durable_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, bundled: svcpolicy.Policy
) -> None:
    monkeypatch.setitem(sys.modules, "durable_rules_engine", None)  # an import of it now fails
    monkeypatch.setattr("svcpolicy.engines.durable.program._PROGRAMS", {})
    with pytest.raises(DurableUnavailable, match=r"pip install 'svcpolicy\[durable\]'"):
        durable_coverage(bundled)


def test_without_durable_rules_the_monitor_falls_back_to_python_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, bundled: svcpolicy.Policy
) -> None:
    monkeypatch.setitem(sys.modules, "durable_rules_engine", None)
    with caplog.at_level(logging.WARNING, logger="svcpolicy"):
        monitor = svcpolicy.Monitor(bundled)
    assert monitor.engine == "python"
    assert any("svcpolicy[durable]" in r.getMessage() for r in caplog.records)
    monitor.close()


def test_durable_rules_is_an_extra_and_not_a_core_dependency() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    core = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "durable-rules" not in core
    assert 'durable = [\n    "durable-rules==' in text and '"svcpolicy[durable]"' in text


# -- duplicate ids and strict numbers -----------------------------------------------------------------------


def test_a_second_record_with_an_id_already_seen_is_invalid_and_says_where_the_first_was(
    tmp_path: Path, bundled: svcpolicy.Policy
) -> None:
    first, other = example(0), example(1)
    path = tmp_path / "twice.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (first, other, first)), encoding="utf-8")
    report = bundled.evaluate(path, as_of=AS_OF)
    (invalid,) = report.invalid
    assert invalid.record.line == 3
    assert invalid.error == f"duplicate id {first['id']!r}, first seen at {path}:1"
    assert report.counts.records == 3 and report.counts.invalid == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("wait_minutes", "52"), ("wait_minutes", True), ("customer", {"age": "60"}), ("customer", {"age": 60.5})],
)
def test_numbers_given_as_text_or_booleans_are_invalid_not_coerced(
    field: str, value: object, tmp_path: Path, bundled: svcpolicy.Policy
) -> None:
    record = {**example(), field: value}
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    for source in (record, path):  # as a mapping (pydantic) and as a JSONL line (the msgspec fast path first)
        assert bundled.evaluate(source, as_of=AS_OF).counts.invalid == 1


def test_booleans_given_as_text_or_numbers_are_invalid(bundled: svcpolicy.Policy) -> None:
    for value in ("true", 1):
        decision = bundled.check({**example(), "customer": {"identity_verified": value}}, as_of=AS_OF)
        assert decision.outcome is svcpolicy.Outcome.INVALID


def test_csv_cells_are_read_as_the_numbers_and_booleans_their_columns_hold(
    tmp_path: Path, bundled: svcpolicy.Policy
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,wait_minutes,customer.age,customer.identity_verified\nR1,52,60,true\nR2,soon,,\n", "utf-8")
    report = bundled.evaluate(path, as_of=AS_OF)
    assert [i.record.id for i in report.invalid] == ["R2"]


# -- check DIR -----------------------------------------------------------------------------------------------


def tree(root: Path) -> None:
    for name in ("b/two.jsonl", "a/one.csv", "a/deep/three.yaml", ".hidden/four.jsonl", "notes.txt", "a/skip.json"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("", encoding="utf-8")


def test_a_folder_is_walked_for_record_files_sorted_without_hidden_folders(tmp_path: Path) -> None:
    tree(tmp_path)
    found = [p.relative_to(tmp_path).as_posix() for p in record_files(tmp_path)]
    assert found == ["a/deep/three.yaml", "a/one.csv", "a/skip.json", "b/two.jsonl"]
    narrowed = record_files(tmp_path, include=["**/*.jsonl", "*.csv", "a/*"], exclude=["skip.*"])
    assert [p.relative_to(tmp_path).as_posix() for p in narrowed] == ["a/deep/three.yaml", "a/one.csv", "b/two.jsonl"]


def test_check_dir_reads_every_record_file_below_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "exports" / "nov").mkdir(parents=True)
    shutil.copy(EXAMPLES, tmp_path / "exports" / "nov" / "records.jsonl")
    (tmp_path / "exports" / "README.md").write_text("not records", encoding="utf-8")
    code = main(["check", str(tmp_path / "exports"), "--as-of", AS_OF.isoformat(), "--lang", "en", "--no-config"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"Checking 1 record file ({tmp_path / 'exports' / 'nov' / 'records.jsonl'}) against pack")


def test_check_dir_keeps_only_the_configured_record_globs(tmp_path: Path) -> None:
    tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.svcpolicy.records]\ninteraction = ["b/*.jsonl"]\n', "utf-8")
    config = load_config(tmp_path / "pyproject.toml")
    found = record_files(tmp_path, configured=config.record_file_set())
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["b/two.jsonl"]


# -- a pack that lint rejects is refused -----------------------------------------------------------------


def test_check_refuses_a_pack_with_a_misspelt_field_with_lints_located_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(svcpolicy.bundled_pack_path(), pack)
    rules = pack / "rules" / "service-standards.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "wait_minutes >" in text
    rules.write_text(text.replace("wait_minutes >", "wait_minuts >", 1), encoding="utf-8")
    code = main(["check", str(EXAMPLES), "--pack", str(pack), "--as-of", AS_OF.isoformat(), "--no-config"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{rules}:" in err and "unknown field `wait_minuts`; did you mean `wait_minutes`?" in err


def test_a_single_equals_sign_says_use_double_equals_to_compare() -> None:
    with pytest.raises(svcpolicy.ExpressionError, match="use == to compare") as caught:
        parse("channel = 'counter'")
    assert caught.value.location is not None and caught.value.location.column == 9


# -- --fail-on summary, progress -----------------------------------------------------------------------------


def test_with_fail_on_high_the_summary_counts_the_violations_below_it_and_says_why_the_exit_is_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["check", str(EXAMPLES), "--as-of", AS_OF.isoformat(), "--fail-on", "critical", "--lang", "en"]
    code = main([*args, "--no-config"])
    out = capsys.readouterr().out
    below = [line for line in out.splitlines() if "below --fail-on critical" in line]
    assert len(below) == 1
    if code == 0:
        assert "so the exit code is 0" in below[0]


def test_the_threshold_tally_counts_only_open_violations_below_the_threshold(bundled: svcpolicy.Policy) -> None:
    finding = next(f for f in bundled.evaluate(EXAMPLES, as_of=AS_OF).findings if f.severity is Severity.MEDIUM)
    tally = ThresholdTally(Severity.HIGH)
    tally.observe(finding, Disposition(Status.OPEN, blocking=False))
    tally.observe(finding, Disposition(Status.WAIVED, blocking=False))
    assert tally.below == 1
    assert tally.summary(GateVerdict(), "en") == (
        "1 violation is below --fail-on high (info, low, medium) and do not fail the run; "
        "no open violation at high or above, so the exit code is 0"
    )
    assert ThresholdTally(Severity.INFO).summary(GateVerdict(), "en") is None


def test_progress_has_a_total_estimated_from_file_sizes_and_an_eta(tmp_path: Path) -> None:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()
    assert estimate_records([EXAMPLES]) == len(lines)
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines * 200) + "\n", encoding="utf-8")
    assert abs(estimate_records([big]) - len(lines) * 200) < len(lines) * 200 * 0.1
    shown = io.StringIO()
    progress = RecordProgress(1000, shown, mininterval=0)
    progress(Counts(records=250))
    progress.close()
    assert "250/1.00k" in shown.getvalue() and "<" in shown.getvalue()  # done/total, elapsed<remaining
