"""Every report format by name: its writer, file extension, encoding, and how it treats customer identifiers.

``svcpolicy check --format NAME`` and ``--output NAME=PATH`` offer every name in ``FORMATS``; adding a format
is one ``ReportFormat`` here. Writers only render: the verdict and each finding's status come from the
report's gate (``Report.verdict``, ``Report.disposition``). ``svcpolicy check`` masks customer identifiers in
the findings before any writer sees them (:class:`svcpolicy.reporting.masking.Redactor`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, TextIO, cast

from svcpolicy.frozen import Frozen
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


class ReportFormat(Frozen):
    """A report format: how to write it, and how to store it in a file.

    The writer is named, not held: its module is imported only when the format is used, so a run that writes
    jsonl never imports Jinja2 (html) or the XML and SARIF writers.
    """

    _fields = (
        "name",
        "module",
        "writer_name",
        "extension",
        "encoding",
        "stream_name",
        "caps_findings",
        "showing_customer_ids_name",
    )
    name: str
    module: str
    """The module of ``svcpolicy.reporting`` that writes the format (``sarif``)."""
    writer_name: str
    """The writer in that module (:data:`Writer`)."""
    extension: str
    """The usual file name extension (``.sarif``), for ``--output`` and file names."""
    encoding: str
    """The encoding written to a file (a BOM for CSV, so spreadsheet programs read Chinese as UTF-8)."""
    stream_name: str | None
    """For formats written item by item as a run goes (``svcpolicy check`` streams them): a
    :data:`StreamOpener` in the module."""
    caps_findings: bool
    """A format that shows at most ``--html-max-findings`` findings (the counts stay complete)."""
    showing_customer_ids_name: str | None
    """For formats that mask customer identifiers themselves (html, from the record context): the writer under
    ``--show-customer-ids``."""

    def __init__(
        self,
        name: str,
        module: str,
        writer_name: str,
        extension: str,
        encoding: str = "utf-8",
        stream_name: str | None = None,
        caps_findings: bool = False,
        showing_customer_ids_name: str | None = None,
    ) -> None:
        self.__dict__.update(
            name=name,
            module=module,
            writer_name=writer_name,
            extension=extension,
            encoding=encoding,
            stream_name=stream_name,
            caps_findings=caps_findings,
            showing_customer_ids_name=showing_customer_ids_name,
        )

    @property
    def write(self) -> Writer:
        return cast(Writer, self._member(self.writer_name))

    @property
    def stream(self) -> StreamOpener | None:
        return None if self.stream_name is None else cast(StreamOpener, self._member(self.stream_name))

    @property
    def write_showing_customer_ids(self) -> Writer | None:
        if self.showing_customer_ids_name is None:
            return None
        return cast(Writer, self._member(self.showing_customer_ids_name))

    def writer(self, *, show_customer_ids: bool = False) -> Writer:
        """The writer to use; customer identifiers are shown only when asked and only where they are masked."""
        if show_customer_ids and self.showing_customer_ids_name is not None:
            return cast(Writer, self._member(self.showing_customer_ids_name))
        return self.write

    def _member(self, name: str) -> object:
        return getattr(importlib.import_module(f"svcpolicy.reporting.{self.module}"), name)


FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("text", "text", "write_text", ".txt", stream_name="TextStream"),
        ReportFormat("json", "json", "write_json", ".json", stream_name="JsonStream"),
        ReportFormat("jsonl", "json", "write_jsonl", ".jsonl", stream_name="JsonlStream"),
        ReportFormat("sarif", "sarif", "write_sarif", ".sarif", stream_name="SarifStream"),
        ReportFormat("junit", "junit", "write_junit", ".xml", stream_name="JunitStream"),
        ReportFormat("csv", "ci", "write_csv", ".csv", encoding="utf-8-sig", stream_name="CsvStream"),
        ReportFormat("markdown", "ci", "write_markdown", ".md", stream_name="MarkdownStream"),
        ReportFormat("github", "ci", "write_github", ".txt", stream_name="GithubStream"),
        ReportFormat("gitlab", "gitlab", "write_gitlab", ".json", stream_name="GitlabStream"),
        ReportFormat(
            "html",
            "html",
            "html_format",
            ".html",
            showing_customer_ids_name="html_format_showing_customer_ids",
            caps_findings=True,
        ),
    )
}
"""Every report format by name, in the order ``--help`` lists them."""
