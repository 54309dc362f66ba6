"""The HTML report speaks to a Chinese auditor: severity words, rule titles where the pack has them, evidence as
(field, value) text, counts with thousands separators, rates per branch, and a findings table that pages."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import svcpolicy
from auditing import RECORDS, audit, record
from svcpolicy.reporting.html import PAGE_SIZE, render_html
from svcpolicy.reporting.html_evidence import evidence_lines
from svcpolicy.reporting.html_labels import labels, rule_title
from svcpolicy.reporting.masking import Masker


def test_rule_titles_come_in_the_report_language_where_the_pack_gives_one() -> None:
    plain = SimpleNamespace(title="Customer kept waiting")
    assert rule_title(plain, "zh") == "Customer kept waiting"
    assert rule_title(SimpleNamespace(title="T", title_zh="客户等候过久"), "zh") == "客户等候过久"
    both = SimpleNamespace(title="T", titles={"zh": "未经授权的操作", "en": "Unauthorised operation"})
    assert (rule_title(both, "zh"), rule_title(both, "en")) == ("未经授权的操作", "Unauthorised operation")


def test_evidence_reads_as_fields_in_words_and_values_as_text(tmp_path: Path) -> None:
    mask = Masker(audit(tmp_path))
    evidence = {
        "op.authorization.at": "2026-11-02T09:18:00+08:00",
        "op.authorization": None,
        "affects_rights": True,
        "params.max_wait_minutes": 12000,
        "params.kinds": ["close_account", "transfer_out"],
        "problem_zh": "没有任何授权",
        "problem_en": "there was no authorisation",
        "op.authorization.by": "C100002",
    }
    lines = {line.field: line.value for line in evidence_lines(evidence, labels("zh"), "zh", mask)}
    assert lines == {
        "操作 · 授权 · 时间": "2026-11-02 09:18",
        "操作 · 授权": "未提供",
        "affects_rights": "是",
        "参数 · max_wait_minutes": "12,000",
        "参数 · kinds": "close_account、transfer_out",
        "problem": "没有任何授权",  # the English text is left out of a Chinese report
        "操作 · 授权 · 授权人": "C1***02",  # a customer's identifier, masked
    }
    english = evidence_lines(evidence, labels("en"), "en", mask)
    assert [line.expression for line in english][:2] == ["op.authorization.at", "op.authorization"]
    assert "problem_zh" not in [line.expression for line in english]


def test_the_chinese_page_names_severities_in_chinese_and_shows_rates_per_branch(tmp_path: Path) -> None:
    page = render_html(audit(tmp_path), lang="zh")
    assert '<span class="badge sev-critical" data-col="severity">严重</span>' in page
    assert '<span><i class="sev-low"></i>低</span>' in page  # the legend
    assert '<option value="critical">严重 (4)</option>' in page
    rows = re.findall(
        r'<tr data-value="(SH-00\d)"><td>\1</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', page
    )
    assert rows == [("SH-002", "2", "2"), ("SH-001", "3", "2")]  # highest rate first
    assert '<option value="E2">E2 (4)</option>' in page  # the employee filter, with its count


def test_counts_have_thousands_separators_and_rows_past_the_first_page_start_hidden(tmp_path: Path) -> None:
    waiting = [
        record(f"R{i:04d}", "SH-001", "E1", f"C{200000 + i}", "2026-11-03T09:00:00+08:00", wait=45) for i in range(1200)
    ]
    report: svcpolicy.Report = audit(tmp_path, [*RECORDS, *waiting])
    page = render_html(report, lang="zh", generated=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    assert '<div class="card " data-count="records"><span class="n">1,207</span>' in page
    assert f"发现 ({len(report.findings):,})" in page
    rows = re.findall(r'<tr class="finding [^"]*"[^>]*>', page)
    assert len(rows) == len(report.findings) > PAGE_SIZE
    assert [row.endswith(" hidden>") for row in rows] == [i >= PAGE_SIZE for i in range(len(rows))]
