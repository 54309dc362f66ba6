"""The ``json`` and ``jsonl`` report formats, for programs: every finding with its gate status merged in.

Messages are given in both languages, so these formats take no language. Both are written as a run goes
(``svcpolicy check`` streams them): ``json`` writes each finding into its ``findings`` array as it comes and the
invalid records, unread inputs, counts and gate (with its verdict) at the end, when the run is finished.
"""

from __future__ import annotations

from typing import Any, TextIO

import orjson

from svcpolicy.reporting.finished import feed
from svcpolicy.reporting.spill import SpillBuckets
from svcpolicy.results.dispositions import Disposition
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Report


def _json(value: Any, indent: int) -> str:
    """Indented JSON to stand ``indent`` spaces in (orjson escapes line breaks inside strings, so lines split)."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    return text.replace("\n", "\n" + " " * indent)


class JsonStream:
    """One JSON document written as the run goes; only the invalid records wait for the end, in a spill file
    past a small buffer (:mod:`svcpolicy.reporting.spill`)."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._report, self._out = report, out
        self._invalid: SpillBuckets[str] = SpillBuckets()
        self._count = 0
        as_of = report.as_of.isoformat() if report.as_of else None
        out.write(f'{{\n  "pack": {_json(report.pack.to_dict(), 2)},\n  "as_of": {_json(as_of, 2)},\n  "findings": [')

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        if isinstance(item, InvalidRecord):
            self._invalid.add("invalid", ",\n    " + _json(item.to_dict(), 4))
            return
        self._out.write(("," if self._count else "") + "\n    " + _json({**item.to_dict(), **disposition.to_dict()}, 4))
        self._count += 1

    def close(self) -> None:
        """Invalid records, unread inputs, counts and the gate: what is known only at the end."""
        report = self._report
        rest = {
            "input_failures": [i.to_dict() for i in report.input_failures],
            "counts": report.counts.to_dict(),
            "gate": None if report.gate is None else report.gate.to_dict(),
        }
        out = self._out
        out.write(("\n  ]" if self._count else "]") + ',\n  "invalid": [')
        invalid = self._invalid.read("invalid")
        first = next(invalid, None)
        if first is not None:
            out.write(first.removeprefix(","))
            out.writelines(invalid)
            out.write("\n  ")
        out.write("]")
        self._invalid.close()
        out.write("".join(f',\n  "{key}": {_json(value, 2)}' for key, value in rest.items()) + "\n}\n")


def write_json(report: Report, out: TextIO, lang: str = "zh") -> None:
    """One document: pack, findings, invalid records, unread inputs, counts and the gate with its verdict."""
    feed(JsonStream(report, out, lang), report)


def write_item(item: Finding | InvalidRecord, disposition: Disposition, out: TextIO) -> None:
    """One JSON Lines line: a finding or invalid record with its gate status (open, waived, baselined)."""
    line = {**item.to_dict(), **disposition.to_dict()}
    out.write(orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS).decode())
    out.write("\n")


class JsonlStream:
    """JSON Lines written as the run goes: nothing waits for the end."""

    def __init__(self, report: Report, out: TextIO, lang: str = "zh") -> None:
        self._out = out

    def write(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        write_item(item, disposition, self._out)

    def close(self) -> None:
        """Nothing to add: every line is already written."""


def write_jsonl(report: Report, out: TextIO, lang: str = "zh") -> None:
    """JSON Lines from a finished report: findings, then invalid records, each with its gate status."""
    items: list[Finding | InvalidRecord] = [*report.findings, *report.invalid]
    for item in items:
        write_item(item, report.disposition(item), out)
