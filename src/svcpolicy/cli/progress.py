"""Progress for long runs: records judged out of an estimated total, with rate and ETA, via tqdm.

tqdm is a core dependency (pure Python, no dependencies of its own, no compiler): one code path draws the bar in
a terminal and, through ``tqdm.auto``, as a widget in Jupyter (ipywidgets present) or as text there otherwise.
The total is estimated from the files' sizes before the run (:func:`estimate_records`), so the ETA is known from
the first update; it is an estimate, and the bar's total is corrected if the run outgrows it.

In a notebook::

    from svcpolicy.cli.progress import RecordProgress
    with RecordProgress.for_files(paths) as progress:
        report = policy.evaluate(paths, progress=progress)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from svcpolicy.results.report import Counts

SAMPLE_BYTES = 256 * 1024
"""How much of each file is read to learn its bytes per record."""
_RECORD_STARTS = {".json": b'"id"', ".yaml": b"id:", ".yml": b"id:"}
"""Whole-file formats: a record is counted by its ``id`` key (an estimate: nested items may have ids too)."""


def estimate_records(paths: Sequence[str | Path]) -> int:
    """The records the files probably hold, from their sizes and the density of records in their first bytes."""
    total = 0
    for path in paths:
        file = Path(path)
        try:
            size = file.stat().st_size
            with file.open("rb") as stream:
                sample = stream.read(SAMPLE_BYTES)
        except OSError:
            continue  # reported as an input failure by the run itself
        if not sample:
            continue
        marker = _RECORD_STARTS.get(file.suffix.lower())
        in_sample = sample.count(marker) if marker else sample.count(b"\n") + (not sample.endswith(b"\n"))
        if file.suffix.lower() == ".csv":
            in_sample -= 1  # the header
        total += max(0, round(in_sample * size / len(sample)))
    return total


class RecordProgress:
    """A ``progress`` callback for :meth:`svcpolicy.Policy.iter_findings`: records judged out of ``total``."""

    def __init__(self, total: int | None, stream: TextIO | None = None, **options: Any) -> None:
        from tqdm.auto import tqdm  # only when a bar is drawn: tqdm.auto brings asyncio

        settings: dict[str, Any] = {"unit": " records", "unit_scale": True, "dynamic_ncols": True, "mininterval": 0.25}
        self.bar = tqdm(total=total or None, file=stream or sys.stderr, **(settings | options))

    @classmethod
    def for_files(cls, paths: Sequence[str | Path], stream: TextIO | None = None) -> RecordProgress:
        return cls(estimate_records(paths), stream)

    def __call__(self, counts: Counts) -> None:
        if self.bar.total is not None and counts.records > self.bar.total:
            self.bar.total = counts.records  # the estimate was short
        self.bar.update(counts.records - self.bar.n)
        self.bar.set_postfix_str(
            f"{counts.violations:,} violations, {counts.undetermined:,} undetermined, {counts.invalid:,} invalid",
            refresh=False,
        )

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> RecordProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def progress_for(paths: Sequence[str | Path], stream: TextIO | None = None) -> RecordProgress | None:
    """The command line's progress bar on stderr, shown only when stderr is a terminal (never in CI logs)."""
    target = stream or sys.stderr
    if not target.isatty():
        return None
    return RecordProgress(estimate_records(paths), target, leave=False)
