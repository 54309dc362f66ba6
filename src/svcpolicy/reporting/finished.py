"""A finished report written through a format's stream, so a library report and ``svcpolicy check`` (which
streams) get the same bytes from one piece of rendering code."""

from __future__ import annotations

from typing import Protocol

from svcpolicy.results.dispositions import Disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Report


class _Stream(Protocol):
    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None: ...

    def close(self) -> None: ...


def feed(stream: _Stream, report: Report) -> None:
    """Every finding, then every invalid record, each with its gate status, then the end of the run."""
    items: list[Finding | InvalidRecord] = [*report.findings, *report.invalid]
    for item in items:
        stream.write(item, report.disposition(item))
    stream.close()
