"""What ``svcpolicy check`` says around its report: a header naming what was checked against which pack, and,
under ``--fail-on``, how many violations were below the threshold and why they did not fail the run."""

from __future__ import annotations

from collections.abc import Sequence

from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.reporting.escaping import printable
from svcpolicy.results.dispositions import Disposition, GateVerdict, Status
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome
from svcpolicy.severity import Severity

FILES_NAMED = 3
"""The header names this many files, then says how many more."""


def header(paths: Sequence[str], pack: CompiledPack, lang: str) -> str:
    """``检查 2 个记录文件（a.jsonl、b.csv），规则包 cn-bank-service 1.2（48 条规则）``, or in English."""
    shown = [printable(path) for path in paths[:FILES_NAMED]]  # a file name can hold a terminal escape
    rules = len(pack.programs) + len(pack.aggregates)
    if lang == "zh":
        more = f" 等 {len(paths)} 个" if len(paths) > FILES_NAMED else ""
        named = "、".join(shown) + more
        return f"检查 {len(paths):,} 个记录文件（{named}），规则包 {pack.id} {pack.version}（{rules:,} 条规则）"
    more = f" and {len(paths) - FILES_NAMED:,} more" if len(paths) > FILES_NAMED else ""
    files = "file" if len(paths) == 1 else "files"
    return (
        f"Checking {len(paths):,} record {files} ({', '.join(shown)}{more}) "
        f"against pack {pack.id} {pack.version} ({rules:,} rules)"
    )


class ThresholdTally:
    """Counts open violations below ``--fail-on``: found, reported, and not failing the run."""

    def __init__(self, fail_on: Severity) -> None:
        self.fail_on = fail_on
        self.below = 0

    def observe(self, item: Finding | InvalidRecord, disposition: Disposition) -> None:
        if (
            isinstance(item, Finding)
            and item.outcome is Outcome.VIOLATION
            and disposition.status is Status.OPEN
            and item.severity.rank < self.fail_on.rank
        ):
            self.below += 1

    def summary(self, verdict: GateVerdict, lang: str) -> str | None:
        """The line to print, or None when no violation fell below the threshold."""
        if not self.below:
            return None
        lower = ", ".join(s.value for s in Severity if s.rank < self.fail_on.rank)
        if lang == "zh":
            line = f"{self.below:,} 项违规低于 --fail-on {self.fail_on.value}（{lower}），不影响退出码"
            return line + ("；没有达到该级别的未豁免违规，退出码为 0" if verdict.passed else "")
        noun = "violation is" if self.below == 1 else "violations are"
        line = f"{self.below:,} {noun} below --fail-on {self.fail_on.value} ({lower}) and do not fail the run"
        return line + (
            f"; no open violation at {self.fail_on.value} or above, so the exit code is 0" if verdict.passed else ""
        )
