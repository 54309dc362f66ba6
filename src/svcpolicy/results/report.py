"""The result of an evaluation: findings, invalid records and counts that reconcile."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from svcpolicy.results.catalog import RuleInfo
from svcpolicy.results.dispositions import Disposition, GateVerdict, GateView, default_disposition, default_verdict
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, PackRef
from svcpolicy.results.tallies import KeyTally

if TYPE_CHECKING:  # optional extras (svcpolicy[notebook]), imported only when a view is asked for
    import pandas as pd
    from matplotlib.figure import Figure


_COMPLIANT, _VIOLATION, _UNDETERMINED = Outcome.COMPLIANT, Outcome.VIOLATION, Outcome.UNDETERMINED
"""The outcomes ``add_record`` tells apart, looked up once rather than on the enum for every record."""


@dataclass
class Counts:
    """Per-record tallies: every record read lands in exactly one of the four outcome buckets."""

    records: int = 0
    compliant: int = 0
    with_violations: int = 0
    undetermined: int = 0
    invalid: int = 0
    violations: int = 0
    undetermined_findings: int = 0
    input_errors: int = 0
    group_violations: int = 0
    group_undetermined: int = 0
    waived: int = 0
    """Findings (of those counted above) that an approved waiver excuses; record outcomes are unchanged."""
    baselined: int = 0
    """Findings (of those counted above) accepted in the baseline; record outcomes are unchanged."""
    per_key: KeyTally = field(default_factory=KeyTally)
    """Judged records per branch, employee and month, by outcome: the denominators of rates (``by("branch_id")``).
    Adds up across workers like the numbers above (``+``)."""

    @property
    def reconciled(self) -> bool:
        return self.records == self.compliant + self.with_violations + self.undetermined + self.invalid

    def add_record(self, outcome: Outcome, record: Mapping[str, Any] | None = None) -> None:
        """Count one record; a judged ``record`` is also tallied under its branch, employee and month."""
        self.records += 1
        if record is not None:
            self.per_key.add(record, outcome)
        if outcome is _COMPLIANT:
            self.compliant += 1
        elif outcome is _VIOLATION:
            self.with_violations += 1
        elif outcome is _UNDETERMINED:
            self.undetermined += 1
        else:
            self.invalid += 1

    def summary(self) -> str:
        line = (
            f"{self.records} records: {self.compliant} compliant, {self.with_violations} with violations "
            f"({self.violations} violations), {self.undetermined} undetermined, {self.invalid} invalid"
        )
        if self.group_violations or self.group_undetermined:
            line += f"; groups: {self.group_violations} in breach, {self.group_undetermined} undetermined"
        if self.waived or self.baselined:
            line += f"; findings waived: {self.waived}, in baseline: {self.baselined}"
        return line

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "records": self.records,
            "compliant": self.compliant,
            "with_violations": self.with_violations,
            "undetermined": self.undetermined,
            "invalid": self.invalid,
            "violations": self.violations,
            "undetermined_findings": self.undetermined_findings,
            "input_errors": self.input_errors,
            "group_violations": self.group_violations,
            "group_undetermined": self.group_undetermined,
            "waived": self.waived,
            "baselined": self.baselined,
            "reconciled": self.reconciled,
        }


@dataclass(frozen=True)
class InputFailure:
    """A whole input that could not be read (missing file, unknown format); the run went on without it."""

    source: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "error": self.error}


@dataclass
class Report:
    """Everything an evaluation found, in input order, with counts that account for every record."""

    pack: PackRef
    as_of: dt.datetime | None
    findings: list[Finding] = field(default_factory=list)
    invalid: list[InvalidRecord] = field(default_factory=list)
    input_failures: list[InputFailure] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    records: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, repr=False)
    """The scalar fields (dotted paths) of each record that has findings, keyed by (file, line)."""
    group_paths: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    """Per aggregate rule, the record path each group key reads (``{"branch": "branch_id"}``), where plain."""
    rules: tuple[RuleInfo, ...] = ()
    """Every rule of the pack (``policy.catalog()``), for formats that list rules with no finding."""
    gate: GateView | None = None
    """The compliance gate of ``svcpolicy check`` (waivers, baseline, --fail-on); None: plain evaluation."""

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.VIOLATION]

    @property
    def undetermined(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.UNDETERMINED]

    def violations_by_rule(self) -> dict[str, int]:
        return dict(Counter(f.rule for f in self.violations))

    def disposition(self, item: Finding | InvalidRecord) -> Disposition:
        """Open, waived or baselined, and whether it fails the gate (without a gate: every violation does)."""
        return self.gate.disposition(item) if self.gate is not None else default_disposition(item)

    @property
    def verdict(self) -> GateVerdict:
        """The gate's verdict on the run (without a gate: any violation, invalid record or unread input fails)."""
        if self.gate is not None:
            return self.gate.verdict
        return default_verdict([*self.findings, *self.invalid], len(self.input_failures))

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack.to_dict(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "counts": self.counts.to_dict(),
            "findings": [{**f.to_dict(), **self.disposition(f).to_dict()} for f in self.findings],
            "invalid": [i.to_dict() for i in self.invalid],
            "input_failures": [i.to_dict() for i in self.input_failures],
            "gate": None if self.gate is None else self.gate.to_dict(),
        }

    def __repr__(self) -> str:
        return f"<Report {self.pack.id} {self.pack.version}: {self.counts.summary()}>"

    # -- auditors' views (svcpolicy.reporting: notebook, charts, html), imported only when asked for --------

    def context(self, finding: Finding) -> Mapping[str, Any]:
        """The scalar fields of the record a finding is about (``branch_id``, ``employee.id``, …)."""
        ref = finding.record
        if ref.source is not None and ref.line is not None:
            context = self.records.get((ref.source, ref.line))
            if context is not None:
                return context
        if not finding.group:
            return {}
        # a group finding: its keys by name, and by the record path each reads where plain (branch, branch_id),
        # so that by("branch_id") counts a branch's group findings under the branch
        named = dict(finding.group)
        for name, path in self.group_paths.get(finding.rule, {}).items():
            if name in finding.group:
                named.setdefault(path, finding.group[name])
        return named

    def _repr_html_(self) -> str:
        from svcpolicy.reporting.html import summary_html

        return summary_html(self)

    def to_html(self, path: str | Path | None = None, *, lang: str = "zh", show_customer_ids: bool = False) -> str:
        """One standalone HTML file (no network assets); customer identifiers masked unless asked."""
        from svcpolicy.reporting.html import render_html

        page = render_html(self, lang=lang, show_customer_ids=show_customer_ids)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def to_pandas(self, *, lang: str = "zh") -> pd.DataFrame:
        """One row per finding: citation columns flattened, then the record's fields (needs pandas)."""
        from svcpolicy.reporting.notebook import to_pandas

        return to_pandas(self, lang=lang)

    def to_excel(self, path: str | Path, *, lang: str = "zh") -> Path:
        """An Excel workbook: sheets ``findings``, ``per article`` and ``per branch`` (with rates) (needs pandas
        and openpyxl)."""
        from svcpolicy.reporting.excel import write_excel

        return write_excel(self, path, lang=lang)

    def by_article(self, *, all_citations: bool = False) -> pd.DataFrame:
        """Violations and undetermined findings per article, most breached first (needs pandas)."""
        from svcpolicy.reporting.notebook import by_article

        return by_article(self, all_citations=all_citations)

    def by(self, *keys: str) -> pd.DataFrame:
        """Findings per value of record fields or finding columns: ``by("branch_id")`` (needs pandas)."""
        from svcpolicy.reporting.notebook import by

        return by(self, *keys)

    def over_time(self, freq: str = "M", *, on: str = "started_at", by: str | None = None) -> pd.DataFrame:
        """Findings per period of the record time ``on`` (``"M"``, ``"W"``, ``"D"``, ``"Q"``) (needs pandas)."""
        from svcpolicy.reporting.notebook import over_time

        return over_time(self, freq, on=on, by=by)

    def top(self, n: int = 10, *, by: str = "rule") -> pd.DataFrame:
        """The ``n`` values of ``by`` with the most violations (needs pandas)."""
        from svcpolicy.reporting.notebook import top

        return top(self, n, by=by)

    def plot_articles(self, n: int = 15) -> Figure:
        """Bar chart: violations per article (needs matplotlib)."""
        from svcpolicy.reporting.charts import articles_chart

        return articles_chart(self, n)

    def plot_by(self, key: str = "branch_id", n: int = 15) -> Figure:
        """Bar chart: violations per value of a record field, by severity (needs matplotlib)."""
        from svcpolicy.reporting.charts import by_chart

        return by_chart(self, key, n)

    def plot_trend(self, freq: str = "M", *, on: str = "started_at") -> Figure:
        """Chart: violations and undetermined findings per period (needs matplotlib)."""
        from svcpolicy.reporting.charts import trend_chart

        return trend_chart(self, freq, on=on)
