"""Charts for notebooks: each is a matplotlib Figure drawn from the report's summaries, shown once in Jupyter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import svcpolicy
from auditing import audit
from conftest import REPO
from svcpolicy.reporting.charts import cjk_font
from svcpolicy.reporting.rows import SEVERITY_COLOURS, UNDETERMINED_COLOUR
from svcpolicy.severity import Severity


@pytest.fixture
def report(tmp_path: Path) -> svcpolicy.Report:
    return audit(tmp_path)


def bars(axes: Axes) -> list[Rectangle]:
    return [p for p in axes.patches if isinstance(p, Rectangle)]


def widths_by_colour(axes: Axes, horizontal: bool = True) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for bar in bars(axes):
        size = bar.get_width() if horizontal else bar.get_height()
        if size:
            found.setdefault(matplotlib.colors.to_hex(bar.get_facecolor()), []).append(size)
    return found


def test_the_article_chart_has_a_bar_per_article_coloured_by_its_worst_severity(report: svcpolicy.Report) -> None:
    figure = report.plot_articles()
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    labels = [t.get_text() for t in axes.get_yticklabels()]
    expected = (
        ["第十六条 银行客户服务规章制度", "第九条 银行客户服务规章制度"]
        if cjk_font()
        else ["svc-rules/16", "svc-rules/9"]
    )
    assert labels == expected
    widths = widths_by_colour(axes)
    assert widths[SEVERITY_COLOURS[Severity.CRITICAL]] == [4]
    assert widths[SEVERITY_COLOURS[Severity.LOW]] == [2]
    assert widths[UNDETERMINED_COLOUR] == [1]  # 第九条's undetermined finding


def test_the_branch_chart_stacks_violations_by_severity_per_branch(report: svcpolicy.Report) -> None:
    (axes,) = report.plot_by("branch_id").axes
    assert [t.get_text() for t in axes.get_yticklabels()] == ["SH-002", "SH-001", "(none)"]
    widths = widths_by_colour(axes)
    assert widths[SEVERITY_COLOURS[Severity.CRITICAL]] == [3, 1]
    assert widths[SEVERITY_COLOURS[Severity.LOW]] == [1, 1]
    assert widths[UNDETERMINED_COLOUR] == [1]
    assert axes.get_title() == "Violations per branch_id"


def test_the_trend_chart_has_a_column_per_month_including_quiet_ones(report: svcpolicy.Report) -> None:
    (axes,) = report.plot_trend("M").axes
    assert [t.get_text() for t in axes.get_xticklabels()] == ["2026-09", "2026-10", "2026-11"]
    heights = widths_by_colour(axes, horizontal=False)
    assert heights[SEVERITY_COLOURS[Severity.CRITICAL]] == [1, 3]  # September, November
    assert heights[SEVERITY_COLOURS[Severity.LOW]] == [2]
    assert heights[UNDETERMINED_COLOUR] == [1]


def test_a_chart_shows_itself_as_png_and_is_not_held_by_pyplot(report: svcpolicy.Report) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    figure = report.plot_articles()
    assert plt.get_fignums() == before  # an inline backend will not draw it a second time
    png = figure._repr_png_()  # type: ignore[attr-defined]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_charts_of_a_report_without_findings_say_there_is_nothing(tmp_path: Path) -> None:
    from auditing import RECORDS

    empty = audit(tmp_path, [RECORDS[0]])
    for figure in (empty.plot_articles(), empty.plot_by("branch_id"), empty.plot_trend()):
        texts = [t.get_text() for t in figure.axes[0].texts]
        assert any(t.startswith("no ") for t in texts)


def test_without_matplotlib_a_chart_says_which_extra_to_install() -> None:
    probe = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from svcpolicy.results.report import Report\n"
        "from svcpolicy.results.findings import PackRef\n"
        "try:\n"
        "    Report(PackRef('p', '1'), None).plot_trend()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False)
    assert result.stdout.strip() == (
        "Report.plot_trend() needs matplotlib, which is not installed: pip install 'svcpolicy[notebook]'"
    )
