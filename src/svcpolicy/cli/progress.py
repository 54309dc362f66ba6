"""A one-line progress display on stderr for long runs, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from svcpolicy.results.report import Counts


class ProgressLine:
    """Rewrites one stderr line at most a few times a second: records read, rate, findings so far."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    @classmethod
    def if_terminal(cls, stream: TextIO | None = None) -> ProgressLine | None:
        target = stream or sys.stderr
        return cls(target) if target.isatty() else None

    def __call__(self, counts: Counts) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = counts.records / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r{counts.records:,} records  {rate:,.0f}/s  {counts.violations:,} violations  "
            f"{counts.undetermined:,} undetermined  {counts.invalid:,} invalid"
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
