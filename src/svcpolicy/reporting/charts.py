"""Charts of a report for notebooks (matplotlib and pandas, ``svcpolicy[notebook]``).

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: it shows itself once in Jupyter
(as PNG), it is never drawn a second time by an inline backend, and nothing global changes. Save one with
``fig.savefig("articles.svg")``. ``Report`` delegates here: ``report.plot_articles()``,
``report.plot_by("branch_id")``, ``report.plot_trend("M")``.

Article labels are Chinese (第十六条); a CJK font is looked for among the installed fonts, and when there is
none the labels fall back to the citation (``svc-rules/16``) rather than drawing empty boxes.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.extras import needs
from svcpolicy.reporting.notebook import by, by_article, over_time
from svcpolicy.reporting.rows import SEVERITIES, SEVERITY_COLOURS, UNDETERMINED_COLOUR
from svcpolicy.severity import Severity

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from svcpolicy.results.report import Report

__all__ = ["SEVERITY_COLOURS", "UNDETERMINED_COLOUR", "articles_chart", "by_chart", "cjk_font", "trend_chart"]

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Droid Sans Fallback",
)
_CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


@functools.cache
def cjk_font() -> str | None:
    """The name of an installed font that draws Chinese, or None."""
    with needs("matplotlib", "charts"):
        from matplotlib import font_manager

    names = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in names:
            return family
    for file in _CJK_FILES:  # installed after matplotlib built its font cache
        if Path(file).is_file():
            font_manager.fontManager.addfont(file)
            name: str = font_manager.FontProperties(fname=file).get_name()
            return name
    return None


@functools.cache
def _chart_class() -> type[Figure]:
    with needs("matplotlib", "charts"):
        from matplotlib.figure import Figure

    class Chart(Figure):
        """A figure that Jupyter shows as PNG whatever the backend."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    return Chart


def _integer_ticks() -> MaxNLocator:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _figure(height: float, width: float = 8.0) -> tuple[Figure, Axes]:
    figure = _chart_class()(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _finish(figure: Figure) -> Figure:
    """Fonts: the CJK font where there is one (DejaVu Sans for the rest of the text)."""
    from matplotlib.text import Text

    families = [family for family in (cjk_font(), "DejaVu Sans") if family]
    for text in figure.findobj(Text):
        if isinstance(text, Text):
            text.set_fontfamily(families)
    return figure


def _label(text: str, fallback: str) -> str:
    """A tick label from record data, its dollars escaped: matplotlib reads ``$…$`` as mathtext, so a branch named
    ``$^$`` would fail the whole drawing and ``$\\sqrt{x}$`` would be typeset rather than shown."""
    shown = text if text.isascii() or cjk_font() else fallback
    return shown.replace("$", r"\$")


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _empty(axes: Axes, what: str) -> None:
    axes.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=axes.transAxes, color="#666666")
    axes.set_axis_off()


def articles_chart(report: Report, n: int = 15) -> Figure:
    """Horizontal bars: violations per article (the ``n`` most breached), coloured by the worst severity;
    undetermined findings as a grey extension."""
    with needs("matplotlib", "Report.plot_articles()"):
        from matplotlib.patches import Patch
    table = by_article(report).head(n)
    figure, axes = _figure(max(2.5, 0.42 * len(table) + 1.2))
    if table.empty:
        _empty(axes, "findings")
    else:
        labels = [
            _label(f"{row.article} {_short(str(row.document), 14)}", str(ref))
            for ref, row in zip(table.index, table.itertuples(), strict=True)
        ]
        positions = range(len(table))
        colours = [
            SEVERITY_COLOURS[Severity(str(s))] if isinstance(s, str) else UNDETERMINED_COLOUR for s in table["severity"]
        ]
        axes.barh(positions, table["violations"], color=colours)
        axes.barh(positions, table["undetermined"], left=table["violations"], color=UNDETERMINED_COLOUR, hatch="//")
        for y, (done, open_) in enumerate(zip(table["violations"], table["undetermined"], strict=True)):
            note = f"{done}" + (f" + {open_} undetermined" if open_ else "")
            axes.text(done + open_ + 0.05, y, note, va="center", fontsize=8)
        axes.set_yticks(list(positions), labels)
        axes.invert_yaxis()
        axes.set_xlabel("violations")
        axes.xaxis.set_major_locator(_integer_ticks())
        shown = {str(s) for s in table["severity"] if isinstance(s, str)}
        handles = [Patch(color=SEVERITY_COLOURS[s], label=str(s)) for s in SEVERITIES if str(s) in shown]
        if table["undetermined"].any():
            handles.append(Patch(facecolor=UNDETERMINED_COLOUR, hatch="//", label="undetermined"))
        axes.legend(handles=handles, title="worst severity", loc="lower right", fontsize=8, title_fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    axes.set_title("Violations per article")
    return _finish(figure)


def _stacked(axes: Axes, table: pd.DataFrame, horizontal: bool) -> None:
    """Bars per row of ``table`` stacked by severity (columns critical … info), then undetermined."""
    base = [0] * len(table)
    positions = list(range(len(table)))
    for severity in SEVERITIES:
        values = [int(v) for v in table[str(severity)]]
        if not any(values):
            continue
        colour = SEVERITY_COLOURS[severity]
        if horizontal:
            axes.barh(positions, values, left=base, color=colour, label=str(severity))
        else:
            axes.bar(positions, values, bottom=base, color=colour, label=str(severity))
        base = [b + v for b, v in zip(base, values, strict=True)]
    open_ = [int(v) for v in table["undetermined"]]
    if any(open_):
        if horizontal:
            axes.barh(positions, open_, left=base, color=UNDETERMINED_COLOUR, hatch="//", label="undetermined")
        else:
            axes.bar(positions, open_, bottom=base, color=UNDETERMINED_COLOUR, hatch="//", label="undetermined")
    axes.spines[["top", "right"]].set_visible(False)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)


def by_chart(report: Report, key: str = "branch_id", n: int = 15) -> Figure:
    """Horizontal bars: violations per value of a record field (``branch_id``, ``employee.id``, …) or finding
    column, stacked by severity, for the ``n`` values with the most."""
    with needs("matplotlib", "Report.plot_by()"):
        import matplotlib  # noqa: F401
    table = by(report, key)
    table = table[(table["violations"] + table["undetermined"]) > 0].head(n)  # by() also lists quiet values
    figure, axes = _figure(max(2.5, 0.42 * len(table) + 1.2))
    if table.empty:
        _empty(axes, "findings")
    else:
        names = ["(none)" if _missing(value) else str(value) for value in table.index]
        labels = [_label(_short(name), name) for name in names]
        _stacked(axes, table, horizontal=True)
        axes.set_yticks(list(range(len(table))), labels)
        axes.invert_yaxis()
        axes.set_xlabel("findings")
        axes.xaxis.set_major_locator(_integer_ticks())
    axes.set_title(f"Violations per {key}")
    return _finish(figure)


def trend_chart(report: Report, freq: str = "M", *, on: str = "started_at") -> Figure:
    """Columns per period of the record time ``on``: violations stacked by severity, then undetermined."""
    with needs("matplotlib", "Report.plot_trend()"):
        import matplotlib  # noqa: F401
    totals = over_time(report, freq, on=on)
    figure, axes = _figure(3.6, max(6.0, 0.45 * len(totals) + 2))
    if totals.empty:
        _empty(axes, "dated findings")
    else:
        table = _severity_periods(report, freq, on, totals)
        _stacked(axes, table, horizontal=False)
        labels: Sequence[str] = [str(period) for period in totals.index]
        axes.set_xticks(list(range(len(labels))), labels, rotation=45 if len(labels) > 8 else 0, ha="right")
        axes.set_ylabel("findings")
        axes.yaxis.set_major_locator(_integer_ticks())
    axes.set_title(f"Findings over time (by {on}, per {freq})")
    return _finish(figure)


def _severity_periods(report: Report, freq: str, on: str, totals: pd.DataFrame) -> pd.DataFrame:
    """``totals`` with one column of violations per severity."""
    with warnings.catch_warnings():  # the same undated findings were warned of for ``totals``
        warnings.simplefilter("ignore")
        by_severity = over_time(report, freq, on=on, by="severity")
    table = totals.copy()
    for severity in SEVERITIES:
        name = str(severity)
        table[name] = by_severity[name] if name in by_severity.columns else 0
    return table
