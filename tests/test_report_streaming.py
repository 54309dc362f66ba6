"""JSON and SARIF are written as findings come, the HTML report lists a bounded number of them (issue 10)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import AS_OF, REPO
from gatekit import svcpolicy
from svcpolicy.policy import load_policy
from svcpolicy.reporting.json import JsonStream
from svcpolicy.reporting.sarif import SarifStream
from svcpolicy.results.dispositions import default_disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Report

EXAMPLES = REPO / "examples" / "records.jsonl"


def _empty_report_of_examples() -> tuple[Report, Report]:
    """A finished report of the example records, and a fresh one for the same run whose findings are to come."""
    policy = load_policy()
    finished = policy.evaluate(EXAMPLES, as_of=AS_OF)
    fresh = Report(pack=finished.pack, as_of=finished.as_of, counts=finished.counts, rules=policy.catalog())
    return finished, fresh


def test_json_writes_each_finding_before_the_run_ends() -> None:
    finished, fresh = _empty_report_of_examples()
    out = io.StringIO()
    stream = JsonStream(fresh, out)
    first = finished.findings[0]
    stream.write(first, default_disposition(first))
    assert first.fingerprint in out.getvalue()
    rest: list[Finding | InvalidRecord] = [*finished.findings[1:], *finished.invalid]
    for item in rest:
        stream.write(item, default_disposition(item))
    stream.close()
    assert json.loads(out.getvalue()) == json.loads(json.dumps(finished.to_dict()))


def test_sarif_writes_each_result_before_the_run_ends_and_the_rules_at_the_end() -> None:
    finished, fresh = _empty_report_of_examples()
    out = io.StringIO()
    stream = SarifStream(fresh, out)
    first = finished.findings[0]
    stream.write(first, default_disposition(first))
    assert first.fingerprint in out.getvalue()
    rest: list[Finding | InvalidRecord] = [*finished.findings[1:], *finished.invalid]
    for item in rest:
        stream.write(item, default_disposition(item))
    stream.close()
    run = json.loads(out.getvalue())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(finished.findings) + len(finished.invalid)
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])


def test_html_lists_at_most_html_max_findings_with_a_note_and_exact_counts(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, _ = svcpolicy(
        "check", EXAMPLES, "--as-of", AS_OF.isoformat(), "--no-config", "--lang", "en",
        "--format", "html", "-o", page, "--html-max-findings", "5",
    )  # fmt: skip
    assert code == 1
    html = page.read_text(encoding="utf-8")
    total = load_policy().evaluate(EXAMPLES, as_of=AS_OF).findings
    assert html.count('<tr class="finding ') == 5
    assert 'id="capped"' in html and f"the first 5 of {len(total)} findings" in html


def test_html_is_not_capped_when_the_findings_fit(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    svcpolicy("check", EXAMPLES, "--as-of", AS_OF.isoformat(), "--no-config", "--format", "html", "-o", page)
    assert 'id="capped"' not in page.read_text(encoding="utf-8")


def test_text_alongside_a_capped_html_still_lists_every_finding(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    _, out, _ = svcpolicy(
        "check", EXAMPLES, "--as-of", AS_OF.isoformat(), "--no-config", "--format", "jsonl",
        "-o", f"html={page}", "-o", f"csv={tmp_path / 'all.csv'}", "--html-max-findings", "2",
    )  # fmt: skip
    rows = (tmp_path / "all.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) - 1 == len(out.splitlines())
    assert page.read_text(encoding="utf-8").count('<tr class="finding ') == 2
