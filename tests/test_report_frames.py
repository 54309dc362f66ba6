"""Reports as pandas frames: one row per finding, summaries by article, field and period, and DataFrame input."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import svcpolicy
from auditing import AS_OF, RECORDS, audit, write_pack, write_records
from conftest import REPO
from svcpolicy.engine.record_context import record_context
from svcpolicy.errors import InputError
from svcpolicy.reporting.notebook import frame_records
from svcpolicy.reporting.rows import FINDING_COLUMNS


@pytest.fixture
def report(tmp_path: Path) -> svcpolicy.Report:
    return audit(tmp_path)


def rows(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A frame as {label: {column: value}} with labels as text (periods read 2026-11), for plain comparisons."""
    return {str(label): {str(k): v for k, v in values.items()} for label, values in table.to_dict("index").items()}


def counts(row: dict[str, Any], *columns: str) -> list[int]:
    return [int(row[c]) for c in columns]


def test_a_record_context_keeps_scalar_fields_as_dotted_paths_and_leaves_lists_out() -> None:
    context = record_context({"id": "R", "employee": {"id": "E1"}, "extra": {"vip": {"level": 3}}, "operations": [{}]})
    assert context == {"id": "R", "employee.id": "E1", "extra.vip.level": 3}


def test_the_report_keeps_the_context_of_records_with_findings_only(report: svcpolicy.Report) -> None:
    assert {line for _, line in report.records} == {2, 3, 4, 5, 7}  # not the compliant 1 nor the invalid 6
    finding = report.findings[0]
    assert report.context(finding)["branch_id"] == "SH-001"
    assert report.context(finding)["employee.id"] == "E1"


def test_a_streaming_evaluation_keeps_no_record_context_unless_asked(tmp_path: Path) -> None:
    policy = svcpolicy.load_policy(write_pack(tmp_path / "pack"))
    records = write_records(tmp_path / "records.jsonl")
    streamed = policy.iter_findings(records, as_of=AS_OF)
    assert len(list(streamed)) == 8 and streamed.records == {}  # constant memory, as before
    kept = policy.iter_findings(records, as_of=AS_OF, keep_context=True)
    list(kept)
    assert sorted(line for _, line in kept.records) == [2, 3, 4, 5, 7]


def test_to_pandas_has_one_row_per_finding_with_the_citation_flattened(report: svcpolicy.Report) -> None:
    frame = report.to_pandas()
    assert len(frame) == len(report.findings) == 7
    assert list(frame.columns[: len(FINDING_COLUMNS)]) == list(FINDING_COLUMNS)
    first = frame.iloc[0]
    assert first["rule"] == "SVC-016-unauthorized-operation"
    assert first["citation"] == "svc-rules/16"
    assert first["article"] == "第十六条"
    assert first["document"] == "银行客户服务规章制度"
    assert first["article_text"].startswith("本行员工应遵守客户申请和授权原则")
    assert first["also_cites"] == "svc-rules/10"
    assert first["line"] == 2 and first["item"] == "operations[0]"
    assert first["branch_id"] == "SH-001" and first["employee.id"] == "E1"
    assert json.loads(first["evidence"])["op.authorization"] is None
    assert "id" not in frame.columns  # the record id is record_id


def test_to_pandas_types_severity_as_ordered_and_times_in_the_report_time_zone(report: svcpolicy.Report) -> None:
    frame = report.to_pandas()
    assert frame["severity"].cat.ordered
    assert frame["severity"].max() == "critical" and frame["severity"].min() == "low"
    assert isinstance(frame["started_at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["started_at"].iloc[0]) == "2026-09-15 09:00:00+08:00"


def test_to_pandas_gives_messages_in_the_language_asked(report: svcpolicy.Report) -> None:
    assert report.to_pandas(lang="en")["message"].iloc[1] == "The customer waited 45 minutes"
    assert report.to_pandas()["message"].iloc[1] == "客户排队等候 45 分钟"


def test_by_article_counts_each_finding_under_its_first_citation(report: svcpolicy.Report) -> None:
    table = report.by_article()
    assert list(table.index) == ["svc-rules/16", "svc-rules/9"]  # most violations first
    articles = rows(table)
    assert counts(articles["svc-rules/16"], "violations", "undetermined", "records") == [4, 0, 3]
    assert counts(articles["svc-rules/9"], "violations", "undetermined", "records") == [2, 1, 3]
    assert articles["svc-rules/16"]["article"] == "第十六条"
    assert articles["svc-rules/16"]["severity"] == "critical"
    assert str(articles["svc-rules/9"]["text"]).startswith("本行员工应遵守服务承诺")
    assert sum(a["violations"] + a["undetermined"] for a in articles.values()) == len(report.findings)


def test_by_article_with_all_citations_also_counts_the_other_provisions(report: svcpolicy.Report) -> None:
    articles = rows(report.by_article(all_citations=True))
    assert articles["svc-rules/10"]["violations"] == 4  # SVC-016 cites 第十条 second
    assert articles["svc-rules/16"]["violations"] == 4


def test_by_branch_counts_findings_records_and_severities_and_keeps_records_without_a_branch(
    report: svcpolicy.Report,
) -> None:
    table = report.by("branch_id")
    branches = rows(table)
    assert list(branches) == ["SH-002", "SH-001", "nan"]  # most violations first; no branch is kept
    assert counts(branches["SH-002"], "violations", "undetermined", "records", "rules", "critical", "low") == [
        4,
        0,
        2,
        2,
        3,
        1,
    ]
    assert counts(branches["SH-001"], "violations", "records", "critical", "low") == [2, 2, 1, 1]
    assert counts(branches["nan"], "violations", "undetermined") == [0, 1]


def test_by_accepts_nested_fields_finding_columns_and_several_keys(report: svcpolicy.Report) -> None:
    assert rows(report.by("employee.id"))["E2"]["violations"] == 4
    assert rows(report.by("rule"))["SVC-016-unauthorized-operation"]["violations"] == 4
    pairs = rows(report.by("branch_id", "rule"))
    assert pairs[str(("SH-002", "SVC-016-unauthorized-operation"))]["violations"] == 3


def test_a_finding_about_a_group_of_records_counts_under_the_record_field_its_key_reads(tmp_path: Path) -> None:
    report = audit(tmp_path, aggregate=True)  # + average wait per branch and month above 20 minutes
    frame = report.to_pandas()
    groups = frame[frame["rule"] == "AGG-branch-average-wait"]
    assert groups["branch_id"].tolist()[:2] == ["SH-001", "SH-002"]  # the key `branch` reads branch_id
    assert groups["branch"].tolist()[:2] == ["SH-001", "SH-002"]
    assert groups["record_id"].isna().all()
    table = report.by("branch_id")
    assert table.loc["SH-001", "violations"] == 2 + 1 and table.loc["SH-002", "violations"] == 4 + 1
    assert table.loc["SH-002", "records"] == 2 + 1  # a group counts once, beside its branch's records
    with pytest.warns(UserWarning) as caught:  # the group has no one time: no warning about it
        report.over_time("M")
        warnings.warn("sentinel", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["sentinel"]


def test_by_an_unknown_column_names_the_columns_there_are(report: svcpolicy.Report) -> None:
    with pytest.raises(KeyError, match=r"'branch'.*record fields kept: .*branch_id"):
        report.by("branch")


def test_top_gives_the_values_with_the_most_violations(report: svcpolicy.Report) -> None:
    assert list(report.top(1).index) == ["SVC-016-unauthorized-operation"]
    assert list(report.top(2, by="employee.id").index) == ["E2", "E1"]


def test_over_time_counts_per_month_in_local_time_and_shows_quiet_months(report: svcpolicy.Report) -> None:
    months = rows(report.over_time("M"))
    assert list(months) == ["2026-09", "2026-10", "2026-11"]
    assert months["2026-10"] == {"violations": 0, "undetermined": 0, "records": 0}
    assert months["2026-11"] == {"violations": 5, "undetermined": 1, "records": 4}
    # R04 started 23:30 on 5 November +08:00 (15:30 UTC): still 5 November in the daily view
    assert rows(report.over_time("D"))["2026-11-05"]["violations"] == 3


def test_over_time_by_a_column_gives_one_column_of_violations_per_value(report: svcpolicy.Report) -> None:
    table = report.over_time("M", by="citation")
    assert list(table.columns) == ["svc-rules/16", "svc-rules/9"]
    months = rows(table)
    assert months["2026-09"] == {"svc-rules/16": 1, "svc-rules/9": 0}
    assert months["2026-11"] == {"svc-rules/16": 3, "svc-rules/9": 2}


def test_summaries_of_a_report_without_findings_are_empty_frames_but_rates_count_its_records(tmp_path: Path) -> None:
    empty = audit(tmp_path, [RECORDS[0]])
    assert empty.to_pandas().empty
    assert empty.by_article().empty
    assert empty.by("rule").empty
    assert empty.over_time("M").empty
    quiet = empty.by("branch_id")  # no finding, but its record was checked: a rate of 0
    assert list(quiet.loc["SH-001", ["violations", "checked", "violation_rate"]]) == [0, 1, 0.0]


def test_frame_records_nests_dotted_columns_and_treats_missing_cells_as_absent() -> None:
    frame = pd.DataFrame(
        {
            "id": ["A", "B"],
            "customer.risk_tolerance": [3, None],
            "operations.0.kind": ["close_account", None],
            "started_at": [pd.Timestamp("2026-11-02T09:00:00+08:00"), pd.NaT],
        }
    )
    first, second = frame_records(frame)
    assert first == {
        "id": "A",
        "customer": {"risk_tolerance": 3.0},
        "operations": [{"kind": "close_account"}],
        "started_at": pd.Timestamp("2026-11-02T09:00:00+08:00").to_pydatetime(),
    }
    assert second == {"id": "B"}


def test_frame_records_reads_back_what_json_normalize_made_of_records() -> None:
    records = [
        {"id": "A", "employee": {"id": "E1", "role": "teller"}, "operations": [{"kind": "close_account"}]},
        {"id": "B", "employee": None},  # json_normalize keeps an `employee` column for this one
    ]
    frame = pd.json_normalize(records, max_level=1)  # type: ignore[arg-type]
    assert {"employee", "employee.id"} <= set(frame.columns)
    assert list(frame_records(frame)) == [records[0], {"id": "B"}]  # a missing cell is an absent field


def test_frame_records_refuses_a_value_with_fields_inside_it() -> None:
    with pytest.raises(InputError, match=r"row 0: customer has a value and also fields inside it"):
        list(frame_records(pd.DataFrame({"customer": ["x"], "customer.id": ["y"]})))


def test_evaluate_frame_joins_findings_back_to_the_rows_they_came_from(tmp_path: Path) -> None:
    policy = svcpolicy.load_policy(write_pack(tmp_path / "pack"))
    frame = pd.json_normalize(RECORDS, max_level=1)
    frame.index = [f"row-{i}" for i in range(len(frame))]
    found = svcpolicy.evaluate_frame(frame, policy, as_of=AS_OF)
    assert list(found.index) == ["row-1", "row-2", "row-3", "row-3", "row-3", "row-4", "row-5", "row-6"]
    by_row = {label: row for label, row in zip(found.index, found.to_dict("records"), strict=True)}
    assert by_row["row-2"]["rule"] == "SVC-009-wait-too-long"
    assert by_row["row-2"]["branch_id"] == "SH-001"  # the row's own columns come along
    assert by_row["row-5"]["outcome"] == "invalid"
    assert "started_at" in str(by_row["row-5"]["message"])
    assert (found["record_id"].dropna() == found["id"][found["record_id"].notna()]).all()


def test_evaluate_frame_can_keep_the_rows_with_nothing_to_report(tmp_path: Path) -> None:
    policy = svcpolicy.load_policy(write_pack(tmp_path / "pack"))
    frame = pd.json_normalize(RECORDS, max_level=1)
    found = svcpolicy.evaluate_frame(frame, policy, as_of=AS_OF, all_rows=True)
    assert found.loc[0, "outcome"] == "compliant"
    assert found.index.is_monotonic_increasing
    assert set(found.index) == set(range(len(RECORDS)))


def test_without_pandas_the_frame_views_say_which_extra_to_install(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.modules['pandas'] = None\n"
        "import svcpolicy\n"
        "from svcpolicy.results.report import Report\n"
        "from svcpolicy.results.findings import PackRef\n"
        "report = Report(PackRef('p', '1'), None)\n"
        "print(report._repr_html_()[:4])\n"
        "try:\n"
        "    report.to_pandas()\n"
        "except svcpolicy.SvcPolicyError as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, ImportError), exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "<div"  # the HTML views need no pandas
    assert lines[1] == (
        "MissingDependency True Report.to_pandas() needs pandas, which is not installed: "
        "pip install 'svcpolicy[notebook]'"
    )
