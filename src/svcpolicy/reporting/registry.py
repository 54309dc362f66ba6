"""Every report format by name: its writer, file extension, encoding, and how it treats customer identifiers.

``svcpolicy check --format NAME`` and ``--output NAME=PATH`` offer every name in ``FORMATS``; adding a format
is one ``ReportFormat`` here. Writers only render: the verdict and each finding's status come from the
report's gate (``Report.verdict``, ``Report.disposition``). ``svcpolicy check`` masks customer identifiers in
the findings before any writer sees them (:class:`svcpolicy.reporting.masking.Redactor`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from svcpolicy.reporting.ci import write_csv, write_github, write_markdown
from svcpolicy.reporting.gitlab import write_gitlab
from svcpolicy.reporting.html import html_format, html_format_showing_customer_ids
from svcpolicy.reporting.json import JsonlStream, JsonStream, write_json, write_jsonl
from svcpolicy.reporting.junit import write_junit
from svcpolicy.reporting.sarif import SarifStream, write_sarif
from svcpolicy.reporting.text import write_text
from svcpolicy.results.dispositions import Disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Report

Writer = Callable[[Report, TextIO, str], None]
"""Writes a finished report to the stream, messages in the language given (``zh`` or ``en``)."""


class ItemStream(Protocol):
    """A format written item by item while records still stream, so memory does not grow with the findings."""

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None: ...

    def close(self) -> None:
        """Write what only the finished run knows (counts, the gate's verdict)."""


StreamOpener = Callable[[Report, TextIO, str], ItemStream]
"""Starts a stream on a report whose findings are still to come; counts and gate are complete at ``close``."""


@dataclass(frozen=True)
class ReportFormat:
    """A report format: how to write it, and how to store it in a file."""

    name: str
    write: Writer
    extension: str
    """The usual file name extension (``.sarif``), for ``--output`` and file names."""
    encoding: str = "utf-8"
    """The encoding written to a file (a BOM for CSV, so spreadsheet programs read Chinese as UTF-8)."""
    stream: StreamOpener | None = None
    """For formats written item by item as a run goes (``svcpolicy check`` streams them)."""
    caps_findings: bool = False
    """A format that shows at most ``--html-max-findings`` findings (the counts stay complete)."""
    write_showing_customer_ids: Writer | None = None
    """For formats that mask customer identifiers themselves (html, from the record context): the writer under
    ``--show-customer-ids``."""

    def writer(self, *, show_customer_ids: bool = False) -> Writer:
        """The writer to use; customer identifiers are shown only when asked and only where they are masked."""
        if show_customer_ids and self.write_showing_customer_ids is not None:
            return self.write_showing_customer_ids
        return self.write


FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("text", write_text, ".txt"),
        ReportFormat("json", write_json, ".json", stream=JsonStream),
        ReportFormat("jsonl", write_jsonl, ".jsonl", stream=JsonlStream),
        ReportFormat("sarif", write_sarif, ".sarif", stream=SarifStream),
        ReportFormat("junit", write_junit, ".xml"),
        ReportFormat("csv", write_csv, ".csv", encoding="utf-8-sig"),
        ReportFormat("markdown", write_markdown, ".md"),
        ReportFormat("github", write_github, ".txt"),
        ReportFormat("gitlab", write_gitlab, ".json"),
        ReportFormat(
            "html",
            html_format,
            ".html",
            write_showing_customer_ids=html_format_showing_customer_ids,
            caps_findings=True,
        ),
    )
}
"""Every report format by name, in the order ``--help`` lists them."""
