"""The HTML views of a report: a standalone file to hand on, and the summary Jupyter shows.

``render_html`` makes one self-contained page: summary counts, three charts (inline SVG, drawn here, so
neither matplotlib nor a network is needed), and every finding with its article's verbatim text and its
evidence, filterable by article, severity, branch, month and outcome. The page loads nothing: its Content
Security Policy allows no network at all, and only the page's own style and script (by hash), so even a
record that slipped past escaping could not run code.

Everything taken from records is escaped. Customer identifiers are masked unless ``show_customer_ids`` is
set: 《银行客户服务规章制度》第十条 and 第十五条 require customer information to be protected, and a report
travels further than the data it was made from. Masking covers ``customer.id`` and any other party's
identifier that authorised an operation (``authorization.by`` when it is not the serving employee), wherever
they appear: the customer column, messages, evidence and group keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import importlib.resources
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from svcpolicy.pack.schema import Severity
from svcpolicy.reporting.rows import (
    SEVERITIES,
    SEVERITY_COLOURS,
    UNDETERMINED_COLOUR,
    citation_heading,
    local_time,
    month_of,
    months_between,
    primary,
    worst,
)
from svcpolicy.results.findings import Citation, Finding, Outcome
from svcpolicy.results.report import Report

__all__ = ["Masker", "mask_identifier", "render_html", "summary_html", "write_html"]

NONE = "(none)"
"""The filter value of a finding whose record has no branch (or no time)."""

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "客户服务合规审计报告",
        "pack": "规则包",
        "as_of": "判定时点",
        "generated": "生成时间",
        "inputs": "输入",
        "records": "记录",
        "compliant": "合规",
        "with_violations": "有违规",
        "undetermined": "无法判定",
        "invalid": "无效记录",
        "violations": "违规项",
        "undetermined_findings": "无法判定项",
        "group_violations": "违规群组",
        "group_undetermined": "无法判定群组",
        "input_errors": "未能读取的输入",
        "reconciled": "记录数已核对：合规 + 有违规 + 无法判定 + 无效 = 记录",
        "not_reconciled": "记录数未能核对",
        "charts": "概览",
        "per_article": "各条款违规数",
        "per_branch": "各网点违规数",
        "per_month": "各月发现数",
        "findings": "发现",
        "article": "条款",
        "severity": "严重程度",
        "branch": "网点",
        "month": "月份",
        "outcome": "结论",
        "all": "全部",
        "reset": "重置",
        "shown": "条显示，共",
        "no_match": "没有符合筛选条件的发现。",
        "rule": "规则",
        "document": "文件",
        "record": "记录",
        "where": "位置",
        "who": "网点 / 员工 / 客户",
        "time": "时间",
        "message": "说明",
        "details": "条文与证据",
        "evidence": "证据",
        "missing": "缺少字段",
        "cited": "引用条文",
        "violation": "违规",
        "no_branch": "（无网点）",
        "no_time": "（无时间）",
        "invalid_records": "无效记录",
        "error": "错误",
        "input_failures": "未能读取的输入",
        "masked": "客户标识已脱敏（《银行客户服务规章制度》第十条、第十五条）；如需显示，请使用 --show-customer-ids。",
        "revealed": "本报告显示客户标识：请按客户信息保护要求妥善保管。",
        "click": "点击柱形可筛选",
        "no_findings": "没有发现。",
        "more": "更多：report.to_pandas()、report.by('branch_id')、report.over_time('M')、report.to_html(path)",
        "unconfirmed": "条号未经核实",
    },
    "en": {
        "title": "Customer-service compliance report",
        "pack": "pack",
        "as_of": "as of",
        "generated": "generated",
        "inputs": "inputs",
        "records": "records",
        "compliant": "compliant",
        "with_violations": "with violations",
        "undetermined": "undetermined",
        "invalid": "invalid",
        "violations": "violations",
        "undetermined_findings": "undetermined findings",
        "group_violations": "groups in breach",
        "group_undetermined": "undetermined groups",
        "input_errors": "inputs not read",
        "reconciled": "Records reconcile: compliant + with violations + undetermined + invalid = records",
        "not_reconciled": "Records do not reconcile",
        "charts": "Overview",
        "per_article": "Violations per article",
        "per_branch": "Violations per branch",
        "per_month": "Findings per month",
        "findings": "Findings",
        "article": "Article",
        "severity": "Severity",
        "branch": "Branch",
        "month": "Month",
        "outcome": "Outcome",
        "all": "all",
        "reset": "Reset",
        "shown": "shown of",
        "no_match": "No finding matches these filters.",
        "rule": "Rule",
        "document": "Document",
        "record": "Record",
        "where": "Where",
        "who": "Branch / employee / customer",
        "time": "Time",
        "message": "Message",
        "details": "Article text and evidence",
        "evidence": "Evidence",
        "missing": "missing field",
        "cited": "Cited provisions",
        "violation": "violation",
        "no_branch": "(no branch)",
        "no_time": "(no time)",
        "invalid_records": "Invalid records",
        "error": "Error",
        "input_failures": "Inputs not read",
        "masked": "Customer identifiers are masked (svc-rules 第十条/第十五条); --show-customer-ids reveals them.",
        "revealed": "This report shows customer identifiers: keep it as customer information.",
        "click": "click a bar to filter",
        "no_findings": "No findings.",
        "more": "More: report.to_pandas(), report.by('branch_id'), report.over_time('M'), report.to_html(path)",
        "unconfirmed": "article number unconfirmed",
    },
}


def _e(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _labels(lang: str) -> dict[str, str]:
    return LABELS["en" if lang == "en" else "zh"]


# -- masking customer identifiers ---------------------------------------------------------------------------


def mask_identifier(value: str) -> str:
    """Keep the first two and last two characters of an identifier: ``C880102`` → ``C8***02``."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, path)
    else:
        yield path, value


class Masker:
    """Replaces the customer identifiers of a report, wherever they occur in text, by masked forms."""

    def __init__(self, report: Report, *, reveal: bool = False) -> None:
        self.reveal = reveal
        found: set[str] = set()
        for context in report.records.values():
            value = context.get("customer.id")
            if value not in (None, ""):
                found.add(str(value))
        for finding in report.findings:
            employee = report.context(finding).get("employee.id")
            for path, value in _walk(finding.evidence):
                if not isinstance(value, str | int) or isinstance(value, bool) or value in ("", None):
                    continue
                leaf = path.rsplit(".", 1)[-1]
                if path.endswith("customer.id") or (leaf == "by" and str(value) != str(employee)):
                    found.add(str(value))
            group: Mapping[str, Any] | None = getattr(finding, "group", None)
            for key, value in (group or {}).items():
                if "customer" in str(key) and value not in (None, ""):
                    found.add(str(value))
        self.identifiers = frozenset(found)
        alternatives = "|".join(re.escape(i) for i in sorted(found, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![0-9A-Za-z_-])(?:{alternatives})(?![0-9A-Za-z_])") if found else None

    def __call__(self, text: Any) -> str:
        """The text with every customer identifier masked (unchanged when revealing); not yet escaped."""
        plain = "" if text is None else str(text)
        if self.reveal or self._pattern is None:
            return plain
        return self._pattern.sub(lambda match: mask_identifier(match.group(0)), plain)


# -- the rows of the findings table -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    finding: Finding
    branch: str | None
    employee: str | None
    customer: str | None
    time: dt.datetime | None
    month: str | None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _group_month(value: Any) -> str | None:
    """A group's ``month`` key (``month(started_at)`` gives ``2026-11``), for findings about a branch-month."""
    return value if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value) else None


def _rows(report: Report) -> list[_Row]:
    rows = []
    for finding in report.findings:
        context = report.context(finding)
        when = context.get("started_at")
        rows.append(
            _Row(
                finding=finding,
                branch=_text(context.get("branch_id", context.get("branch"))),
                employee=_text(context.get("employee.id", context.get("employee"))),
                customer=_text(context.get("customer.id", context.get("customer"))),
                time=local_time(when),
                month=month_of(when) or _group_month(context.get("month")),
            )
        )
    return rows


# -- charts as inline SVG -----------------------------------------------------------------------------------


def _width(text: str) -> float:
    """Approximate rendered width in em: CJK and full-width characters count 1, others about 0.56."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.56 for ch in text)


def _fit(text: str, ems: float) -> str:
    if _width(text) <= ems:
        return text
    while text and _width(text) > ems - 1:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class _Bar:
    label: str
    tooltip: str
    filter: str
    value: str
    segments: tuple[tuple[int, str], ...]  # (count, colour)


def _bars_svg(bars: Sequence[_Bar], caption: str, click: str, label_width: int = 190) -> str:
    """Horizontal stacked bars, one per item; each bar sets a filter of the findings table when clicked."""
    row, width, top = 24, 620, 6
    area = width - label_width - 56
    biggest = max((sum(c for c, _ in bar.segments) for bar in bars), default=0) or 1
    height = top * 2 + row * len(bars)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{label_width + 4}" y1="0" x2="{label_width + 4}" y2="{height}"/>',
    ]
    for i, bar in enumerate(bars):
        y = top + i * row
        total = sum(count for count, _ in bar.segments)
        parts.append(
            f'<g class="bar" tabindex="0" role="button" data-filter="{_e(bar.filter)}" data-value="{_e(bar.value)}">'
            f"<title>{_e(bar.tooltip)} — {total} ({_e(click)})</title>"
            f'<text class="label" x="{label_width - 2}" y="{y + row / 2 + 4:.0f}" text-anchor="end">'
            f"{_e(_fit(bar.label, label_width / 12.5))}</text>"
        )
        x = float(label_width + 5)
        for count, colour in bar.segments:
            if count:
                span = area * count / biggest
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{span:.1f}" height="{row - 6}" fill="{colour}"/>')
                x += span
        parts.append(f'<text class="count" x="{x + 4:.1f}" y="{y + row / 2 + 4:.0f}">{total}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _segments(findings: Iterable[Finding]) -> tuple[tuple[int, str], ...]:
    """Violations per severity (most serious first), then undetermined findings."""
    counts: Counter[Severity | None] = Counter(f.severity if f.outcome is Outcome.VIOLATION else None for f in findings)
    segments = [(counts[s], SEVERITY_COLOURS[s]) for s in SEVERITIES]
    segments.append((counts[None], UNDETERMINED_COLOUR))
    return tuple(segments)


def _grouped(rows: Iterable[_Row], key: Callable[[_Row], str]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row.finding)
    return groups


def _ranked(groups: dict[str, list[Finding]]) -> list[tuple[str, list[Finding]]]:
    """Most violations first, then most findings; ties keep the order first found."""

    def weight(item: tuple[str, list[Finding]]) -> tuple[int, int]:
        findings = item[1]
        return (-sum(f.outcome is Outcome.VIOLATION for f in findings), -len(findings))

    return sorted(groups.items(), key=weight)


def _article_chart(rows: Sequence[_Row], words: dict[str, str], limit: int = 12) -> str:
    groups = _ranked(_grouped(rows, lambda r: primary(r.finding).ref))
    bars = []
    for ref, findings in groups[:limit]:
        cited = primary(findings[0])
        bars.append(
            _Bar(
                label=f"{_article_label(cited, words)} {cited.title}",
                tooltip=f"{citation_heading(cited)} [{ref}]",
                filter="article",
                value=ref,
                segments=_segments(findings),
            )
        )
    return _bars_svg(bars, words["per_article"], words["click"], label_width=230)


def _branch_chart(rows: Sequence[_Row], words: dict[str, str], mask: Masker, limit: int = 12) -> str:
    groups = _ranked(_grouped(rows, lambda r: r.branch or NONE))
    bars = [
        _Bar(
            label=mask(words["no_branch"] if branch == NONE else branch),
            tooltip=mask(words["no_branch"] if branch == NONE else branch),
            filter="branch",
            value=mask(branch),
            segments=_segments(findings),
        )
        for branch, findings in groups[:limit]
    ]
    return _bars_svg(bars, words["per_branch"], words["click"], label_width=150)


def _month_chart(rows: Sequence[_Row], words: dict[str, str]) -> str:
    """Columns per month from the first to the last, stacked by severity; each sets the month filter."""
    groups = _grouped((r for r in rows if r.month), lambda r: r.month or "")
    if not groups:
        return f'<p class="note">{_e(words["no_time"])}</p>'
    months = months_between(min(groups), max(groups))
    width, height, bottom, left = 620, 220, 40, 34
    step = (width - left - 8) / len(months)
    column = max(4.0, min(36.0, step * 0.7))
    totals = {m: len(groups.get(m, [])) for m in months}
    biggest = max(totals.values()) or 1
    scale = (height - bottom - 12) / biggest
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(words["per_month"])}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}"/>',
        f'<text class="count" x="{left - 6}" y="{height - bottom - biggest * scale + 4:.0f}" '
        f'text-anchor="end">{biggest}</text>',
        f'<text class="count" x="{left - 6}" y="{height - bottom + 4}" text-anchor="end">0</text>',
    ]
    every = max(1, len(months) // 12)
    for i, month in enumerate(months):
        x = left + i * step + (step - column) / 2
        found = groups.get(month, [])
        parts.append(
            f'<g class="bar" tabindex="0" role="button" data-filter="month" data-value="{_e(month)}">'
            f"<title>{_e(month)} — {len(found)} ({_e(words['click'])})</title>"
            f'<rect x="{x:.1f}" y="12" width="{column:.1f}" height="{height - bottom - 12}" fill="transparent"/>'
        )
        y = float(height - bottom)
        for count, colour in _segments(found):
            if count:
                span = count * scale
                y -= span
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{column:.1f}" height="{span:.1f}" fill="{colour}"/>'
                )
        if found:
            parts.append(
                f'<text class="count" x="{x + column / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{len(found)}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text class="label" x="{x + column / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{_e(month)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(words: dict[str, str]) -> str:
    items = [f'<span><i class="sev-{s}"></i>{_e(s)}</span>' for s in SEVERITIES]
    items.append(f'<span><i class="sev-undetermined"></i>{_e(words["undetermined"])}</span>')
    return f'<div class="legend">{"".join(items)}</div>'


# -- the page -----------------------------------------------------------------------------------------------


def _article_label(citation: Citation, words: dict[str, str]) -> str:
    if citation.label:
        return citation.label if citation.confidence == "confirmed" else f"{citation.label}?"
    return words["unconfirmed"]


def _cards(report: Report, words: dict[str, str]) -> str:
    counts = report.counts
    cards = [
        ("records", counts.records, ""),
        ("compliant", counts.compliant, "ok"),
        ("with_violations", counts.with_violations, "bad" if counts.with_violations else ""),
        ("undetermined", counts.undetermined, "warn" if counts.undetermined else ""),
        ("invalid", counts.invalid, "bad" if counts.invalid else ""),
        ("violations", counts.violations, "bad" if counts.violations else ""),
        ("undetermined_findings", counts.undetermined_findings, ""),
    ]
    groups_in_breach = int(getattr(counts, "group_violations", 0))
    groups_undetermined = int(getattr(counts, "group_undetermined", 0))
    if groups_in_breach or groups_undetermined:  # findings of aggregate rules, about groups of records
        cards.append(("group_violations", groups_in_breach, "bad" if groups_in_breach else ""))
        cards.append(("group_undetermined", groups_undetermined, ""))
    if report.input_failures:
        cards.append(("input_errors", len(report.input_failures), "bad"))
    html_cards = "".join(
        f'<div class="card {cls}" data-count="{key}"><span class="n">{value}</span>'
        f'<span class="k">{_e(words[key])}</span></div>'
        for key, value, cls in cards
    )
    check = words["reconciled"] if counts.reconciled else words["not_reconciled"]
    return f'<section id="summary"><div class="cards">{html_cards}</div><p class="note">{_e(check)}</p></section>'


def _options(name: str, label: str, choices: Sequence[tuple[str, str, int]], words: dict[str, str]) -> str:
    options = [f'<option value="">{_e(words["all"])}</option>']
    options.extend(f'<option value="{_e(value)}">{_e(text)} ({n})</option>' for value, text, n in choices)
    return f'<label>{_e(label)}<select name="{name}" id="filter-{name}">{"".join(options)}</select></label>'


def _filters(rows: Sequence[_Row], words: dict[str, str], mask: Masker) -> str:
    articles = _ranked(_grouped(rows, lambda r: primary(r.finding).ref))
    article_choices = [
        (ref, f"{_article_label(primary(fs[0]), words)} {primary(fs[0]).title}", len(fs)) for ref, fs in articles
    ]
    severity_counts = Counter(str(r.finding.severity) for r in rows)
    severity_choices = [(str(s), str(s), severity_counts[str(s)]) for s in SEVERITIES if severity_counts[str(s)]]
    branches = _ranked(_grouped(rows, lambda r: r.branch or NONE))
    branch_choices = [(mask(b), words["no_branch"] if b == NONE else mask(b), len(fs)) for b, fs in branches]
    month_counts = Counter(r.month or NONE for r in rows)
    month_choices = [
        (m, words["no_time"] if m == NONE else m, n)
        for m, n in sorted(month_counts.items(), key=lambda item: (item[0] == NONE, item[0]))
    ]
    outcome_counts = Counter(str(r.finding.outcome) for r in rows)
    outcome_choices = [
        (str(o), words[str(o)], outcome_counts[str(o)])
        for o in (Outcome.VIOLATION, Outcome.UNDETERMINED)
        if outcome_counts[str(o)]
    ]
    return (
        '<form id="filters" autocomplete="off">'
        + _options("article", words["article"], article_choices, words)
        + _options("severity", words["severity"], severity_choices, words)
        + _options("branch", words["branch"], branch_choices, words)
        + _options("month", words["month"], month_choices, words)
        + _options("outcome", words["outcome"], outcome_choices, words)
        + f'<button type="reset">{_e(words["reset"])}</button>'
        + f'<output id="shown"><span id="shown-count">{len(rows)}</span> {_e(words["shown"])} {len(rows)}</output>'
        + "</form>"
    )


def _evidence(evidence: Mapping[str, Any], mask: Masker) -> str:
    if not evidence:
        return ""
    items = []
    for key, value in evidence.items():
        shown = value if isinstance(value, str) else _json(value)
        items.append(f"<dt>{_e(mask(key))}</dt><dd>{_e(mask(shown))}</dd>")
    return f'<dl class="evidence">{"".join(items)}</dl>'


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def _citations(citations: Sequence[Citation], words: dict[str, str]) -> str:
    quoted = []
    for c in citations:
        chapter = f" · {c.chapter}" if c.chapter else ""
        source = f"{c.title} {_article_label(c, words)}{chapter} [{c.ref}]"
        if c.confidence != "confirmed":
            source += f" ({words['unconfirmed']})"
        quoted.append(f'<blockquote data-citation="{_e(c.ref)}"><cite>{_e(source)}</cite>{_e(c.text)}</blockquote>')
    return "".join(quoted)


def _where(finding: Finding, mask: Masker) -> str:
    """Record id, file:line and item; for a finding about a group of records, its key and first members."""
    group: Mapping[str, Any] | None = getattr(finding, "group", None)
    if group is None:
        ref = finding.record
        item = f" {ref.path}" if ref.path else ""
        return f"<code>{_e(mask(ref.id or '-'))}</code><br>{_e(ref.locator)}{_e(item)}"
    key = ", ".join(f"{k}={v}" for k, v in group.items()) or "-"
    members = getattr(finding, "members", ())
    total = getattr(finding, "members_total", len(members))
    shown = "<br>".join(f"{_e(mask(m.id or '-'))} {_e(m.locator)}" for m in members[:3])
    more = f"<br>… +{total - 3}" if total > 3 else ""
    return f"<code>group {_e(mask(key))}</code> ({total})<br>{shown}{more}"


def _tag(report: Report, finding: Finding) -> str:
    """The compliance gate's word on a finding (``waived W-7 until …``, ``baselined``), if any."""
    disposition = getattr(report, "disposition", None)
    if disposition is None:
        return ""
    tag: str = disposition(finding).tag
    return tag


def _finding_row(row: _Row, report: Report, words: dict[str, str], lang: str, mask: Masker) -> str:
    f = row.finding
    cited = primary(f)
    where = _where(f, mask)
    who = [
        _e(mask(row.branch)) if row.branch else _e(words["no_branch"]),
        _e(row.employee or "-"),
        f'<span class="{"customer" if mask.reveal else "customer masked"}">{_e(mask(row.customer or "-"))}</span>',
    ]
    time = row.time.strftime("%Y-%m-%d %H:%M") if row.time else "-"
    outcome = str(f.outcome)
    undetermined = f.outcome is Outcome.UNDETERMINED
    badge = f'<span class="badge sev-{_e(f.severity)}">{_e(f.severity)}</span>'
    if undetermined:
        badge += f'<br><span class="badge sev-undetermined">{_e(words["undetermined"])}</span>'
    missing = f'<p class="note">{_e(words["missing"])}: <code>{_e(f.missing)}</code></p>' if f.missing else ""
    tag = _tag(report, f)
    if tag:
        missing += f'<p class="note gate">{_e(mask(tag))}</p>'
    details = (
        f"<details><summary>{_e(words['details'])}</summary>"
        f"{_citations(f.citations, words)}"
        + (f"<strong>{_e(words['evidence'])}</strong>{_evidence(f.evidence, mask)}" if f.evidence else "")
        + "</details>"
    )
    attributes = {
        "data-article": cited.ref,
        "data-severity": str(f.severity),
        "data-branch": mask(row.branch) if row.branch else NONE,
        "data-month": row.month or NONE,
        "data-outcome": outcome,
        "data-rule": f.rule,
    }
    attrs = " ".join(f'{name}="{_e(value)}"' for name, value in attributes.items())
    return (
        f'<tr class="finding {outcome}" {attrs}>'
        f"<td>{badge}</td>"
        f'<td class="rule"><code>{_e(f.rule)}</code><br>{_e(f.title)}</td>'
        f'<td class="article"><span title="{_e(cited.text)}">{_e(_article_label(cited, words))}</span>'
        f'<span class="doc">{_e(cited.title)}</span></td>'
        f'<td class="where">{where}</td>'
        f'<td class="who">{"<br>".join(who)}</td>'
        f'<td class="time">{_e(time)}</td>'
        f"<td>{_e(mask(f.message(lang)))}{missing}{details}</td>"
        "</tr>"
    )


def _findings(rows: Sequence[_Row], report: Report, words: dict[str, str], lang: str, mask: Masker) -> str:
    if not rows:
        return f'<section id="findings"><h2>{_e(words["findings"])}</h2><p>{_e(words["no_findings"])}</p></section>'
    head = "".join(
        f"<th>{_e(words[key])}</th>" for key in ("severity", "rule", "article", "record", "who", "time", "message")
    )
    body = "".join(_finding_row(row, report, words, lang, mask) for row in rows)
    return (
        f'<section id="findings"><h2>{_e(words["findings"])} ({len(rows)})</h2>'
        + _filters(rows, words, mask)
        + f'<table id="findings-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        + f'<p id="no-match" hidden>{_e(words["no_match"])}</p></section>'
    )


def _invalid(report: Report, words: dict[str, str], mask: Masker) -> str:
    parts = []
    if report.invalid:
        rows = "".join(
            f"<tr><td><code>{_e(item.record.locator)}</code></td><td><code>{_e(mask(item.record.id or '-'))}</code>"
            f"</td><td>{_e(mask(item.error))}</td></tr>"
            for item in report.invalid
        )
        parts.append(
            f'<section id="invalid"><h2>{_e(words["invalid_records"])} ({len(report.invalid)})</h2><table><thead>'
            f"<tr><th>{_e(words['where'])}</th><th>{_e(words['record'])}</th><th>{_e(words['error'])}</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></section>"
        )
    if report.input_failures:
        items = "".join(f"<li><code>{_e(i.source)}</code>: {_e(i.error)}</li>" for i in report.input_failures)
        parts.append(f'<section id="input-failures"><h2>{_e(words["input_failures"])}</h2><ul>{items}</ul></section>')
    return "".join(parts)


def _sources(report: Report) -> list[str]:
    seen = dict.fromkeys(
        [f.record.source for f in report.findings if f.record.source]
        + [i.record.source for i in report.invalid if i.record.source]
        + [i.source for i in report.input_failures]
    )
    return [s for s in seen if s]


def _asset(name: str) -> str:
    return (importlib.resources.files("svcpolicy.reporting") / "templates" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render_html(
    report: Report,
    *,
    lang: str = "zh",
    show_customer_ids: bool = False,
    title: str | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The standalone HTML page of a report (UTF-8 text)."""
    from svcpolicy._version import __version__

    words = _labels(lang)
    mask = Masker(report, reveal=show_customer_ids)
    rows = _rows(report)
    generated = generated or dt.datetime.now(report.as_of.tzinfo if report.as_of else dt.UTC).replace(microsecond=0)
    heading = title or words["title"]
    as_of = report.as_of.isoformat() if report.as_of else "-"
    sources = ", ".join(_sources(report)) or "-"
    meta = (
        f'<p class="meta">{_e(words["pack"])} <strong>{_e(report.pack.id)} {_e(report.pack.version)}</strong> · '
        f"{_e(words['as_of'])} {_e(as_of)} · {_e(words['generated'])} {_e(generated.isoformat())} · "
        f"{_e(words['inputs'])} {_e(sources)}</p>"
    )
    privacy = words["revealed"] if show_customer_ids else words["masked"]
    charts = ""
    if rows:
        charts = (
            f'<section id="charts"><h2>{_e(words["charts"])}</h2><div class="charts">'
            f'<figure id="chart-articles"><figcaption>{_e(words["per_article"])}</figcaption>'
            f"{_article_chart(rows, words)}</figure>"
            f'<figure id="chart-branches"><figcaption>{_e(words["per_branch"])}</figcaption>'
            f"{_branch_chart(rows, words, mask)}</figure>"
            f'<figure id="chart-months"><figcaption>{_e(words["per_month"])}</figcaption>'
            f"{_month_chart(rows, words)}</figure>"
            f"</div>{_legend(words)}</section>"
        )
    body = (
        f"<header><h1>{_e(heading)}</h1>{meta}"
        f'<p class="note" id="privacy">{_e(privacy)}</p></header>'
        + _cards(report, words)
        + charts
        + _findings(rows, report, words, lang, mask)
        + _invalid(report, words, mask)
        + f"<footer>svcpolicy {_e(__version__)} · {_e(report.counts.summary())}</footer>"
    )
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        f"default-src 'none'; img-src data:; style-src {_sha256(css)}; script-src {_sha256(js)}; "
        "base-uri 'none'; form-action 'none'"
    )
    values = {
        "lang": "en" if lang == "en" else "zh-CN",
        "csp": _e(csp),
        "version": _e(__version__),
        "title": _e(f"{heading} · {report.pack.id}"),
        "css": css,
        "js": js,
        "body": body,
    }
    # one pass over the template only: text substituted in is never scanned for placeholders again
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], _asset("report.html"))


def write_html(report: Report, out: TextIO, *, lang: str = "zh", show_customer_ids: bool = False) -> None:
    """Write the standalone page of a report to a text stream."""
    out.write(render_html(report, lang=lang, show_customer_ids=show_customer_ids))


def html_format(report: Report, out: TextIO, lang: str) -> None:
    """The ``html`` report format (``svcpolicy check --format html``): customer identifiers masked."""
    write_html(report, out, lang=lang)


def html_format_showing_customer_ids(report: Report, out: TextIO, lang: str) -> None:
    """The ``html`` format under ``--show-customer-ids``."""
    write_html(report, out, lang=lang, show_customer_ids=True)


# -- the summary Jupyter shows (Report._repr_html_) -------------------------------------------------------


def _badge(severity: Severity | None) -> str:
    if severity is None:
        return ""
    colour = SEVERITY_COLOURS[severity]
    ink = "#3d2c00" if severity is Severity.MEDIUM else "#fff"
    return (
        f'<span style="background:{colour};color:{ink};border-radius:3px;padding:0 5px;font-size:11px;'
        f'font-weight:600;text-transform:uppercase">{_e(severity)}</span>'
    )


def summary_html(report: Report, *, lang: str = "en") -> str:
    """Counts and a table of findings per article (text on hover and on expand), with severity colours.

    Inline styles only and no script, so it looks the same in Jupyter, VS Code and rendered notebooks. It
    shows no record data: the findings themselves are in ``report.to_pandas()`` and ``report.to_html()``.
    """
    words = _labels(lang)
    counts = report.counts
    cell = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #e1e4e8"
    numbers: tuple[tuple[str, int], ...] = (
        ("records", counts.records),
        ("compliant", counts.compliant),
        ("with_violations", counts.with_violations),
        ("undetermined", counts.undetermined),
        ("invalid", counts.invalid),
        ("violations", counts.violations),
        ("undetermined_findings", counts.undetermined_findings),
        ("group_violations", int(getattr(counts, "group_violations", 0))),
        ("group_undetermined", int(getattr(counts, "group_undetermined", 0))),
    )
    numbers = tuple(item for item in numbers if item[1] or not item[0].startswith("group_"))
    count_head = "".join(f'<th style="{cell}">{_e(words[k])}</th>' for k, _ in numbers)
    count_row = "".join(f'<td style="{cell}">{v}</td>' for _, v in numbers)
    table: dict[str, list[Finding]] = {}
    for finding in report.findings:
        table.setdefault(primary(finding).ref, []).append(finding)
    ranked = _ranked(table)
    article_rows = []
    for ref, findings in ranked:
        cited = primary(findings[0])
        violations = [f for f in findings if f.outcome is Outcome.VIOLATION]
        records = {(f.record.source, f.record.line, f.record.id) for f in findings}
        rules = ", ".join(dict.fromkeys(f.rule for f in findings))
        article = (
            f'<details><summary title="{_e(cited.text)}">{_e(_article_label(cited, words))}</summary>'
            f'<div style="max-width:40em;color:#444">{_e(cited.text)}</div></details>'
        )
        article_rows.append(
            f'<tr data-citation="{_e(ref)}"><td style="{cell}">{article}</td><td style="{cell}">{_e(cited.title)}'
            f'<br><code style="font-size:11px">{_e(ref)}</code></td>'
            f'<td style="{cell}">{len(violations)}</td><td style="{cell}">{len(findings) - len(violations)}</td>'
            f'<td style="{cell}">{len(records)}</td>'
            f'<td style="{cell}">{_badge(worst(f.severity for f in violations))}</td>'
            f'<td style="{cell}"><code style="font-size:11px">{_e(rules)}</code></td></tr>'
        )
    heads = ("article", "document", "violations", "undetermined", "records", "severity", "rule")
    header = "".join(f'<th style="{cell}">{_e(words[k])}</th>' for k in heads)
    as_of = report.as_of.isoformat() if report.as_of else "-"
    articles = (
        f'<table style="border-collapse:collapse;margin-top:6px"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(article_rows)}</tbody></table>"
        if article_rows
        else f"<p>{_e(words['no_findings'])}</p>"
    )
    return (
        '<div class="svcpolicy-report">'
        f"<p><strong>{_e(report.pack.id)} {_e(report.pack.version)}</strong> · {_e(words['as_of'])} {_e(as_of)}"
        + (f" · {len(report.input_failures)} {_e(words['input_errors'])}" if report.input_failures else "")
        + "</p>"
        f'<table style="border-collapse:collapse"><thead><tr>{count_head}</tr></thead>'
        f"<tbody><tr>{count_row}</tr></tbody></table>"
        f"{articles}"
        f'<p style="color:#666;font-size:12px">{_e(words["more"])}</p></div>'
    )
