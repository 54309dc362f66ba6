"""A report as an Excel workbook (``report.to_excel(path)``, ``svcpolicy[notebook]``): what auditors pass on.

Three sheets, each the frame of the notebook view of the same name, so the workbook and the notebook agree:
``findings`` (:func:`~svcpolicy.reporting.notebook.to_pandas`), ``per article``
(:func:`~svcpolicy.reporting.notebook.by_article`) and ``per branch`` (``by("branch_id")``, with the records
checked and the violation rate of each branch). Excel has no time zones, so times are written as the wall clock
of the report's zone; headers are frozen and filterable, rates formatted as percentages. Record text that starts
like a formula (``=HYPERLINK(…)``, ``+``, ``-``, ``@``, a tab or CR) is stored as quoted text, as Excel stores a cell
typed with a leading ``'``: shown as written, never run. Control characters a worksheet cannot hold (ESC, NUL)
are written as visible escapes (``\\x1b``), as the ``text`` format writes them, rather than refusing the workbook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from svcpolicy.extras import needs
from svcpolicy.reporting.escaping import cell_storable
from svcpolicy.reporting.notebook import by, by_article, to_pandas

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.worksheet.worksheet import Worksheet

    from svcpolicy.results.report import Report

__all__ = ["SHEETS", "write_excel"]

SHEETS: tuple[str, ...] = ("findings", "per article", "per branch")
"""The workbook's sheets, in order."""

_WIDEST = 60
"""Columns grow with their content up to this many characters (article texts and messages wrap past it)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP CSV injection); the same list as the CSV format's."""


def write_excel(report: Report, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the workbook; returns its path."""
    with needs("openpyxl", "Report.to_excel()"):
        import openpyxl  # noqa: F401  (pandas writes through it)
    with needs("pandas", "Report.to_excel()"):
        import pandas as pd

    frames = {
        "findings": _wall_clock(to_pandas(report, lang=lang)),
        "per article": by_article(report),
        "per branch": by(report, "branch_id"),
    }
    frames = {name: _storable(frame) for name, frame in frames.items()}
    target = Path(path)
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=name != "findings")
            _tidy(writer.sheets[name], frame)
            _quote_formulas(writer.sheets[name])
    return target


def _wall_clock(frame: pd.DataFrame) -> pd.DataFrame:
    """Times with an offset as naive wall-clock times of their zone (Excel cannot store the offset)."""
    import pandas as pd

    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_localize(None)
    return frame


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text a worksheet refuses (a control character but tab, LF, CR) made visible."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    for column in frame.columns:
        if is_object_dtype(frame[column].dtype) or is_string_dtype(frame[column].dtype):
            frame[column] = frame[column].map(_visible)
    return frame.rename(index=_visible, columns=_visible)


def _visible(value: object) -> object:
    return cell_storable(value) if isinstance(value, str) else value


def _quote_formulas(sheet: Worksheet) -> None:
    """Every text cell that starts like a formula becomes quoted text (openpyxl writes ``=…`` as a formula)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                cell.data_type = "s"
                cell.quotePrefix = True


def _tidy(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Frozen, filterable header; columns as wide as their content; rates as percentages."""
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    from openpyxl.utils import get_column_letter

    for number, cells in enumerate(sheet.iter_cols(min_row=1, max_row=min(sheet.max_row, 200)), start=1):
        longest = max((len(str(cell.value)) for cell in cells if cell.value is not None), default=8)
        sheet.column_dimensions[get_column_letter(number)].width = min(_WIDEST, longest + 2)
    offset = 1 + (frame.index.nlevels if sheet.title != "findings" else 0)
    for position, column in enumerate(frame.columns):
        if str(column).endswith("_rate"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=position + offset, max_col=position + offset):
                cell.number_format = "0.0%"
