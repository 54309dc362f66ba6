"""Baselines: the findings a team has accepted for now, so the gate fails only on new ones.

A baseline is a JSON file listing finding fingerprints (pack, rule, record id and item path: stable across
runs and file moves) with enough context for a reviewer to read it. ``svcpolicy check --write-baseline FILE``
writes one from a run; ``--baseline FILE`` then lets every finding it lists through, and reports how many of
its entries no longer occur. Findings of rules marked ``waivable: false`` are never baselined, and waived
findings are left out of a written baseline so that their waiver's expiry still bites.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from svcpolicy.bounded_read import read_at_most
from svcpolicy.errors import LocatedError, SourceLocation
from svcpolicy.gate.waiver_file import FINGERPRINT_PATTERN
from svcpolicy.records.duplicate_keys import checked_repeated_key, duplicate_key_problem
from svcpolicy.replaced_file import write_replacing
from svcpolicy.results.findings import Finding, PackRef

FORMAT_VERSION = 1


class BaselineError(LocatedError):
    """A baseline file cannot be read or is not a baseline."""


class BaselineEntry(BaseModel):
    # defer_build: validators are built when a baseline is read, not at import
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    fingerprint: Annotated[str, Field(pattern=FINGERPRINT_PATTERN)]
    rule: str
    outcome: str
    severity: str | None = None
    record: str | None = None
    path: str | None = None


class _BaselineFile(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    svcpolicy_baseline: StrictInt  # `true` or "1" is no format version
    pack: dict[str, str] | None = None
    as_of: str | None = None
    findings: list[BaselineEntry]


@dataclass(frozen=True)
class Baseline:
    """The fingerprints of accepted findings, and the pack the baseline was written for."""

    file: str
    entries: dict[str, BaselineEntry]
    pack: PackRef | None = None

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self.entries

    def __len__(self) -> int:
        return len(self.entries)


def entry_for(finding: Finding) -> BaselineEntry:
    return BaselineEntry(
        fingerprint=finding.fingerprint,
        rule=finding.rule,
        outcome=str(finding.outcome),
        severity=str(finding.severity),
        record=finding.record.id,
        path=finding.record.path,
    )


MAX_BASELINE_BYTES = 1024 * 1024 * 1024
"""A baseline file larger than this is refused: far more than any run's findings, short of memory trouble."""


def load_baseline(path: str | Path) -> Baseline:
    name = str(path)
    try:
        data = read_at_most(Path(path), MAX_BASELINE_BYTES)
        if data is None:
            raise BaselineError(f"baseline is more than {MAX_BASELINE_BYTES:,} bytes, the limit", SourceLocation(name))
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise BaselineError(f"cannot read baseline: {exc.strerror}", SourceLocation(name)) from exc
    except UnicodeDecodeError as exc:
        raise BaselineError(
            f"not UTF-8 (byte {exc.start}): a baseline is written as UTF-8", SourceLocation(name)
        ) from exc
    try:
        # orjson, not json: a hostile file's huge integer, deep nesting, NaN or lone surrogate is a located
        # decode error here rather than a crash in the parser or, later, in a writer
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BaselineError(f"not JSON: {exc.msg}", SourceLocation(name, exc.lineno, exc.colno)) from exc
    repeated = checked_repeated_key(text)  # `"findings"` twice: which list was accepted is ambiguous
    if repeated is not None:
        raise BaselineError(f"not a svcpolicy baseline: {duplicate_key_problem(repeated)}", SourceLocation(name))
    try:
        parsed = _BaselineFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise BaselineError(f"not a svcpolicy baseline: {where}: {first['msg']}", SourceLocation(name)) from exc
    if parsed.svcpolicy_baseline != FORMAT_VERSION:
        raise BaselineError(
            f"baseline format {parsed.svcpolicy_baseline} is not supported (this svcpolicy writes {FORMAT_VERSION})",
            SourceLocation(name),
        )
    pack = PackRef(parsed.pack["id"], parsed.pack.get("version", "")) if parsed.pack and "id" in parsed.pack else None
    return Baseline(name, {e.fingerprint: e for e in parsed.findings}, pack)


def write_baseline(path: str | Path, findings: Iterable[Finding], pack: PackRef, as_of: dt.datetime | None) -> Baseline:
    """Write a baseline of these findings (sorted, one entry per fingerprint); returns it, as if loaded."""
    entries = {f.fingerprint: entry_for(f) for f in findings}
    document: dict[str, Any] = {
        "svcpolicy_baseline": FORMAT_VERSION,
        "pack": pack.to_dict(),
        "as_of": as_of.isoformat() if as_of else None,
        "findings": [
            entries[key].model_dump(exclude_none=True)
            for key in sorted(
                entries, key=lambda k: (entries[k].rule, entries[k].record or "", entries[k].path or "", k)
            )
        ],
    }
    write_replacing(Path(path), json.dumps(document, ensure_ascii=False, indent=2) + "\n", "baseline")
    return Baseline(str(path), entries, pack)
