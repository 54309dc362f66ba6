"""The geometry of the HTML report's three charts, drawn as inline SVG by templates/charts.html.

Drawn without matplotlib or a network: horizontal stacked bars for violations per article and per branch
(every branch: the page scrolls the chart), and columns per month. Every bar carries the filter of the findings
table it sets when clicked. Only positions and texts are made here; the template writes (and escapes) the markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from svcpolicy.reporting.html_rows import NONE, PageRow, article_label, grouped, ranked
from svcpolicy.reporting.masking import Masker
from svcpolicy.reporting.rows import (
    SEVERITIES,
    SEVERITY_COLOURS,
    UNDETERMINED_COLOUR,
    citation_heading,
    months_between,
    primary,
)
from svcpolicy.results.findings import Finding, Outcome
from svcpolicy.severity import Severity

__all__ = ["Chart", "article_chart", "branch_chart", "month_chart"]

WIDTH = 620
"""The width of every chart's view box; the page scales them to their figure."""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str


@dataclass(frozen=True)
class Text:
    """A ``<text>`` of class ``label`` (a name) or ``count`` (a number)."""

    kind: str
    x: float
    y: float
    text: str
    anchor: str | None = None


@dataclass(frozen=True)
class Bar:
    """One bar (or column): its stacked segments and texts, and the filter it sets."""

    filter: str
    value: str
    tooltip: str
    total: int
    rects: tuple[Rect, ...]
    texts: tuple[Text, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    caption: str
    click: str
    axis: tuple[float, float, float, float]
    ticks: tuple[Text, ...]
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class _Item:
    label: str
    tooltip: str
    filter: str
    value: str
    segments: tuple[tuple[int, str], ...]  # (count, colour)


def _at(value: float) -> float:
    """A coordinate to a tenth of a unit, as the page has always written them."""
    return round(value, 1)


def _width(text: str) -> float:
    """Approximate rendered width in em: CJK and full-width characters count 1, others about 0.56."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.56 for ch in text)


def _fit(text: str, ems: float) -> str:
    if _width(text) <= ems:
        return text
    while text and _width(text) > ems - 1:
        text = text[:-1]
    return text + "…"


def _segments(findings: Iterable[Finding]) -> tuple[tuple[int, str], ...]:
    """Violations per severity (most serious first), then undetermined findings."""
    counts: Counter[Severity | None] = Counter(f.severity if f.outcome is Outcome.VIOLATION else None for f in findings)
    segments = [(counts[s], SEVERITY_COLOURS[s]) for s in SEVERITIES]
    segments.append((counts[None], UNDETERMINED_COLOUR))
    return tuple(segments)


def _bars(items: Sequence[_Item], caption: str, click: str, label_width: int) -> Chart:
    """Horizontal stacked bars, one per item, labelled on the left and counted on the right."""
    row, top = 24, 6
    area = WIDTH - label_width - 56
    biggest = max((sum(c for c, _ in item.segments) for item in items), default=0) or 1
    height = top * 2 + row * len(items)
    bars = []
    for i, item in enumerate(items):
        y = top + i * row
        baseline = round(y + row / 2 + 4)
        rects = []
        x = float(label_width + 5)
        for count, colour in item.segments:
            if count:
                span = area * count / biggest
                rects.append(Rect(_at(x), y + 3, _at(span), row - 6, colour))
                x += span
        total = sum(count for count, _ in item.segments)
        label = Text("label", label_width - 2, baseline, _fit(item.label, label_width / 12.5), "end")
        bars.append(
            Bar(
                filter=item.filter,
                value=item.value,
                tooltip=item.tooltip,
                total=total,
                rects=tuple(rects),
                texts=(label, Text("count", _at(x + 4), baseline, f"{total:,}")),
            )
        )
    axis = label_width + 4
    return Chart(WIDTH, height, caption, click, (axis, 0, axis, height), (), tuple(bars))


def article_chart(rows: Sequence[PageRow], words: dict[str, str], limit: int = 12) -> Chart:
    """Findings per article cited first, most violations on top."""
    items = []
    for ref, findings in ranked(grouped(rows, lambda r: primary(r.finding).ref))[:limit]:
        cited = primary(findings[0])
        items.append(
            _Item(
                label=f"{article_label(cited, words)} {cited.title}",
                tooltip=f"{citation_heading(cited)} [{ref}]",
                filter="article",
                value=ref,
                segments=_segments(findings),
            )
        )
    return _bars(items, words["per_article"], words["click"], label_width=230)


def branch_chart(
    rows: Sequence[PageRow], words: dict[str, str], mask: Masker, checked: Iterable[str | None] = ()
) -> Chart:
    """Findings per branch, most violations on top; findings without a branch under their own bar; then every
    other branch ``checked`` (records judged, no finding) with an empty bar, so the chart shows all branches."""
    groups = grouped(rows, lambda r: r.branch or NONE)
    items = []
    for branch, findings in [*ranked(groups), *((b, []) for b in checked if b is not None and b not in groups)]:
        name = mask(words["no_branch"] if branch == NONE else branch)
        items.append(_Item(name, name, "branch", mask(branch), _segments(findings)))
    return _bars(items, words["per_branch"], words["click"], label_width=150)


def month_chart(rows: Sequence[PageRow], words: dict[str, str]) -> Chart | None:
    """Columns per month from the first to the last, stacked by severity; None when no finding has a time."""
    groups = grouped((r for r in rows if r.month), lambda r: r.month or "")
    if not groups:
        return None
    months = months_between(min(groups), max(groups))
    height, bottom, left = 220, 40, 34
    floor = height - bottom
    step = (WIDTH - left - 8) / len(months)
    column = max(4.0, min(36.0, step * 0.7))
    biggest = max(len(groups.get(m, [])) for m in months) or 1
    scale = (floor - 12) / biggest
    ticks = (
        Text("count", left - 6, round(floor - biggest * scale + 4), f"{biggest:,}", "end"),
        Text("count", left - 6, floor + 4, "0", "end"),
    )
    every = max(1, len(months) // 12)
    bars = []
    for i, month in enumerate(months):
        x = left + i * step + (step - column) / 2
        found = groups.get(month, [])
        rects = [Rect(_at(x), 12, _at(column), floor - 12, "transparent")]  # the whole column takes the click
        y = float(floor)
        for count, colour in _segments(found):
            if count:
                span = count * scale
                y -= span
                rects.append(Rect(_at(x), _at(y), _at(column), _at(span), colour))
        texts = []
        if found:
            texts.append(Text("count", _at(x + column / 2), _at(y - 3), f"{len(found):,}", "middle"))
        if i % every == 0:
            texts.append(Text("label", _at(x + column / 2), floor + 16, month, "middle"))
        bars.append(Bar("month", month, month, len(found), tuple(rects), tuple(texts)))
    return Chart(WIDTH, height, words["per_month"], words["click"], (left, floor, WIDTH, floor), ticks, tuple(bars))
