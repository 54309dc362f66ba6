"""The HTML report: one standalone, safe file with summary, charts and every finding with its article text."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import zipfile
from contextlib import redirect_stdout
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest

import svcpolicy
from auditing import AS_OF, CUSTOMER_IDS, HOSTILE, RECORDS, audit, write_pack, write_records
from conftest import REPO
from svcpolicy.cli import main
from svcpolicy.reporting.html import mask_identifier, render_html


class Page(HTMLParser):
    """The elements of a page, with their attributes, and the text of its <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


@pytest.fixture
def report(tmp_path: Path) -> svcpolicy.Report:
    return audit(tmp_path)


@pytest.fixture
def page(report: svcpolicy.Report) -> str:
    return render_html(report, lang="en")


def test_the_page_loads_nothing_from_anywhere(page: str) -> None:
    parsed = Page(page)
    fetching = [(t, a) for t, a in parsed.elements if {"src", "href", "srcset", "action", "data"} & set(a)]
    assert fetching == []
    assert not parsed.all("link") and not parsed.all("iframe") and not parsed.all("img")
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", page)  # only the SVG namespace name


def test_the_content_security_policy_allows_only_the_pages_own_style_and_script(page: str) -> None:
    parsed = Page(page)
    (meta,) = parsed.all("meta", **{"http-equiv": "Content-Security-Policy"})
    policy = str(meta["content"])
    assert "default-src 'none'" in policy and "connect-src" not in policy
    for kind in ("style", "script"):
        (text,) = parsed.raw[kind]
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    assert len(parsed.all("script")) == 1


def test_the_summary_shows_the_counts_that_reconcile(page: str) -> None:
    counts = dict(re.findall(r'data-count="(\w+)"><span class="n">(\d+)</span>', page))
    assert counts == {
        "records": "7",
        "compliant": "1",
        "with_violations": "4",
        "undetermined": "1",
        "invalid": "1",
        "violations": "6",
        "undetermined_findings": "1",
    }
    assert "Records reconcile" in page


def test_every_finding_is_a_row_with_its_article_texts_and_evidence(report: svcpolicy.Report, page: str) -> None:
    parsed = Page(page)
    rows = parsed.all("tr", **{"class": "finding violation"}) + parsed.all("tr", **{"class": "finding undetermined"})
    assert len(rows) == len(report.findings) == 7
    assert sorted(str(r["data-article"]) for r in rows) == ["svc-rules/16"] * 4 + ["svc-rules/9"] * 3
    assert {r["data-branch"] for r in rows} == {"SH-001", "SH-002", "(none)"}
    assert {r["data-month"] for r in rows} == {"2026-09", "2026-11"}
    # SVC-016 cites 第十六条 and 第十条: both texts, verbatim, in every one of its rows
    assert page.count("本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。") >= 4 * 2  # hover + quote
    assert page.count('<blockquote data-citation="svc-rules/10">') == 4
    # evidence as a (field, value) table, the rule's expression kept as the field's tooltip
    assert '<td title="op.affects_customer_rights">op.affects_customer_rights</td><td>yes</td>' in page
    assert "missing field: <code>wait_minutes</code>" in page


def test_a_finding_about_a_group_of_records_shows_its_key_branch_and_month(tmp_path: Path) -> None:
    page = render_html(audit(tmp_path, aggregate=True), lang="en")
    rows = [a for t, a in Page(page).elements if t == "tr" and a.get("data-rule") == "AGG-branch-average-wait"]
    assert [(r["data-branch"], r["data-month"], r["data-outcome"]) for r in rows] == [
        ("SH-001", "2026-11", "violation"),
        ("SH-002", "2026-11", "violation"),
        ("(none)", "(none)", "undetermined"),
    ]
    assert '<code data-col="record">group branch=SH-001, month=2026-11</code>' in page
    counts = dict(re.findall(r'data-count="(\w+)"><span class="n">(\d+)</span>', page))
    assert (counts["group_violations"], counts["group_undetermined"]) == ("2", "1")


def test_the_filters_offer_each_article_severity_branch_month_and_outcome_with_counts(page: str) -> None:
    options = dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>', page))
    assert options["svc-rules/16"] == "第十六条 银行客户服务规章制度 (4)"
    assert options["svc-rules/9"] == "第九条 银行客户服务规章制度 (3)"
    assert options["critical"] == "critical (4)" and options["low"] == "low (3)"
    assert options["SH-002"] == "SH-002 (4)" and options["(none)"] == "(no branch) (1)"
    assert options["2026-09"] == "2026-09 (1)" and options["2026-11"] == "2026-11 (6)"
    assert options["violation"] == "violation (6)" and options["undetermined"] == "undetermined (1)"


def test_the_charts_are_inline_svg_whose_bars_set_the_filters(page: str) -> None:
    parsed = Page(page)
    assert len(parsed.all("svg")) == 3
    bars = {(a["data-filter"], a["data-value"]) for a in parsed.all("g", **{"class": "bar"})}
    assert {("article", "svc-rules/16"), ("article", "svc-rules/9")} <= bars
    assert {("branch", "SH-001"), ("branch", "SH-002"), ("branch", "(none)")} <= bars
    assert {("month", "2026-09"), ("month", "2026-10"), ("month", "2026-11")} <= bars  # quiet October too


def test_customer_identifiers_are_masked_everywhere_by_default(report: svcpolicy.Report, page: str) -> None:
    for customer in CUSTOMER_IDS:
        assert customer not in page
    assert mask_identifier("C100002") == "C1***02" and "C1***02" in page
    assert "by C9***99" in page  # another customer who signed, in the message too
    assert "E1" in page and "E2" in page  # employees are not customers
    assert "masked" in page


def test_customer_identifiers_are_shown_when_asked(report: svcpolicy.Report) -> None:
    page = render_html(report, show_customer_ids=True)
    for customer in CUSTOMER_IDS:
        assert customer in page
    assert "C1***02" not in page


def test_record_data_is_escaped_so_markup_in_a_record_is_shown_as_text(tmp_path: Path) -> None:
    page = render_html(audit(tmp_path, [*RECORDS, HOSTILE]), show_customer_ids=True)
    assert "<script>window.pwned" not in page and "<img" not in page and "<b>9</b>" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;" in page
    assert len(Page(page).all("script")) == 1


def test_a_page_without_findings_says_so(tmp_path: Path) -> None:
    page = render_html(audit(tmp_path, [RECORDS[0]]), lang="en")
    assert "No findings." in page and "<svg" not in page


def test_the_page_is_in_chinese_by_default(page: str, report: svcpolicy.Report) -> None:
    chinese = render_html(report)
    assert '<html lang="zh-CN">' in chinese and "客户服务合规审计报告" in chinese
    assert "未经客户授权执行了涉及客户权益的操作" in chinese
    assert '<html lang="en">' in page


def test_report_to_html_writes_the_file_and_returns_the_page(report: svcpolicy.Report, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    text = report.to_html(target)
    assert target.read_text(encoding="utf-8") == text
    assert text.startswith("<!doctype html>")


def _check(*args: str | Path) -> tuple[int, str]:
    out = StringIO()
    with redirect_stdout(out):
        code = main([*(str(a) for a in args), "--no-config"])
    return code, out.getvalue()


def test_check_format_html_writes_the_report_with_customer_ids_masked(tmp_path: Path) -> None:
    pack, records = write_pack(tmp_path / "pack"), write_records(tmp_path / "records.jsonl")
    target = tmp_path / "report.html"
    code, _ = _check("check", records, "--pack", pack, "--as-of", AS_OF.isoformat(), "--format", "html", "-o", target)
    assert code == 1  # violations: the gate still says so
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and 'data-count="violations"><span class="n">6<' in page
    assert "C100002" not in page and "C1***02" in page
    assert 'data-branch="SH-002"' in page  # the check command keeps record context too


def test_check_output_html_alongside_text_and_show_customer_ids(tmp_path: Path) -> None:
    pack, records = write_pack(tmp_path / "pack"), write_records(tmp_path / "records.jsonl")
    target = tmp_path / "report.html"
    code, out = _check(
        "check", records, "--pack", pack, "--as-of", AS_OF.isoformat(), "--output", f"html={target}",
        "--show-customer-ids",
    )  # fmt: skip
    assert code == 1
    assert "第十六条" in out  # the text report still goes to stdout
    assert "C100002" in target.read_text(encoding="utf-8")


def test_the_notebook_summary_shows_counts_and_articles_with_their_text(report: svcpolicy.Report) -> None:
    shown = report._repr_html_()
    parsed = Page(shown)
    assert not parsed.all("script") and not parsed.all("style")  # inline styles only: renders anywhere
    rows = parsed.all("tr", **{"data-citation": "svc-rules/16"})
    assert len(rows) == 1
    assert (
        '<summary title="本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。">第十六条</summary>' in shown
    )
    assert "background:#b71c1c" in shown  # critical
    assert "<td style" in shown and ">7</td>" in shown  # seven records
    for customer in CUSTOMER_IDS:
        assert customer not in shown


def test_the_wheel_ships_the_page_templates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path, REPO],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("svcpolicy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"svcpolicy/reporting/templates/report.{ext}" for ext in ("html", "css", "js")} <= names
