"""Reports as pandas frames, their summaries, and evaluating a DataFrame of records (``svcpolicy[notebook]``).

pandas is imported when one of these functions is called, never when svcpolicy is imported; without it each
raises :class:`~svcpolicy.extras.MissingDependency` naming the extra to install. ``Report`` delegates to this
module: ``report.to_pandas()``, ``report.by_article()``, ``report.by("branch_id")``, ``report.over_time("M")``,
``report.top(5)``.

Record times are shown in the report's time zone (the pack's, through ``as_of``), and trends bucket them by the
wall clock there: an interaction at 23:30 on 30 November (+08:00) belongs to November.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from svcpolicy.errors import InputError
from svcpolicy.extras import needs
from svcpolicy.reporting.rows import FINDING_COLUMNS, SEVERITIES, finding_row, is_group_finding, worst
from svcpolicy.reporting.wording import rule_titles
from svcpolicy.results.findings import Finding, Outcome
from svcpolicy.results.tallies import TALLY_KEYS, month_of
from svcpolicy.severity import Severity

if TYPE_CHECKING:
    import pandas as pd

    from svcpolicy.policy import Policy
    from svcpolicy.results.report import Report

__all__ = ["by", "by_article", "evaluate_frame", "frame_records", "over_time", "to_pandas", "top"]

SEVERITY_ORDER = [str(s) for s in Severity]
_RECORD = "_record"
_GROUP = "_group"
_HIDDEN = (_RECORD, _GROUP)


def _record_key(finding: Finding) -> str:
    """One string per record (or per group, for a finding about a group of records)."""
    ref = finding.record
    if ref.line is not None:
        return f"{ref.source}:{ref.line}"
    return f"{ref.id or ''}|{finding.fingerprint}"


def _frame(report: Report, lang: str, feature: str) -> pd.DataFrame:
    """The findings frame plus a hidden ``_record`` column that tells records apart."""
    with needs("pandas", feature):
        import pandas as pd

    rows = []
    titles = rule_titles(report, lang)  # the pack's title_zh in Chinese
    for finding in report.findings:
        row = finding_row(finding, report.context(finding), lang)
        row["title"] = titles[finding.rule]
        row[_RECORD] = _record_key(finding)
        row[_GROUP] = is_group_finding(finding)
        rows.append(row)
    columns = list(FINDING_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns and key not in _HIDDEN)
    frame = pd.DataFrame(rows, columns=[*columns, *_HIDDEN])
    frame[_GROUP] = frame[_GROUP].astype(bool)
    frame["severity"] = pd.Categorical(frame["severity"], categories=SEVERITY_ORDER, ordered=True)
    frame["line"] = frame["line"].astype("Int64")
    tz = report.as_of.tzinfo if report.as_of is not None else dt.UTC
    zone = _fixed(tz, report.as_of)
    for column in columns[len(FINDING_COLUMNS) :]:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype) or _is_time_column(frame[column]):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(zone)
    return frame


def _fixed(tz: dt.tzinfo | None, moment: dt.datetime | None) -> dt.tzinfo:
    """A standard-library time zone that pandas accepts for the report's (possibly third-party) tzinfo."""
    if tz is None:
        return dt.UTC
    offset = tz.utcoffset(moment)
    return dt.timezone(offset) if offset is not None else dt.UTC


def _is_time_column(column: pd.Series[Any]) -> bool:
    """Whether every value present is a time with an offset (the rest None, NaN or NaT)."""
    import pandas as pd

    values = [v for v in column if v is not None and not pd.isna(v)]
    return bool(values) and all(isinstance(v, dt.datetime) and v.tzinfo is not None for v in values)


def to_pandas(report: Report, *, lang: str = "zh") -> pd.DataFrame:
    """One row per finding (input order): the finding, its primary citation flattened, then the record's fields.

    Columns: ``rule title severity outcome record_id file line item citation document article chapter
    article_text confidence also_cites message missing reason evidence fingerprint pack pack_version``, then
    the scalar fields of the record as dotted paths (``branch_id``, ``employee.id``, ``started_at``, …).
    ``title`` and ``message`` are in the report's language (the pack's ``title_zh`` in Chinese).
    ``severity`` is an ordered categorical (``info`` < … < ``critical``); times are in the report's time zone.
    """
    return _frame(report, lang, "Report.to_pandas()").drop(columns=list(_HIDDEN))


def by_article(report: Report, *, all_citations: bool = False) -> pd.DataFrame:
    """Per article (indexed by its citation, e.g. ``svc-rules/16``), most violations first.

    Columns: ``document article chapter violations undetermined records rules severity text``. A finding is
    filed under the first provision its rule cites, so the rows add up to the report's findings; with
    ``all_citations=True`` it counts under every provision it cites.
    """
    with needs("pandas", "Report.by_article()"):
        import pandas as pd

    table: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        for citation in finding.citations if all_citations else finding.citations[:1]:
            entry = table.setdefault(
                citation.ref,
                {
                    "document": citation.title,
                    "article": citation.display_label,
                    "chapter": citation.chapter,
                    "violations": 0,
                    "undetermined": 0,
                    "records": set(),
                    "rules": [],
                    "severities": [],
                    "text": citation.text,
                },
            )
            if finding.outcome is Outcome.VIOLATION:
                entry["violations"] += 1
                entry["severities"].append(finding.severity)
            else:
                entry["undetermined"] += 1
            entry["records"].add(_record_key(finding))
            if finding.rule not in entry["rules"]:
                entry["rules"].append(finding.rule)
    rows = []
    for ref, entry in table.items():
        severity = worst(entry.pop("severities"))
        rows.append(
            {
                "citation": ref,
                **entry,
                "records": len(entry["records"]),
                "rules": ", ".join(entry["rules"]),
                "severity": str(severity) if severity else None,
            }
        )
    columns = ["document", "article", "chapter", "violations", "undetermined", "records", "rules", "severity", "text"]
    frame = pd.DataFrame(rows, columns=["citation", *columns]).set_index("citation")
    frame["severity"] = pd.Categorical(frame["severity"], categories=SEVERITY_ORDER, ordered=True)
    return frame.sort_values(["violations", "undetermined"], ascending=False, kind="stable")


def _require_columns(frame: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    missing = [key for key in keys if key not in frame.columns]
    if missing:
        kept = [c for c in frame.columns if c not in FINDING_COLUMNS and c not in _HIDDEN]
        raise KeyError(
            f"{what}: no column {', '.join(map(repr, missing))} in this report; record fields kept: "
            f"{', '.join(kept) or 'none'}; finding columns: {', '.join(FINDING_COLUMNS)}"
        )


def _flags(frame: pd.DataFrame) -> pd.DataFrame:
    """Boolean helper columns: violation, undetermined, and a violation per severity."""
    flagged = frame.assign(
        _violation=frame["outcome"] == str(Outcome.VIOLATION),
        _undetermined=frame["outcome"] == str(Outcome.UNDETERMINED),
    )
    for severity in SEVERITIES:
        flagged[f"_{severity}"] = flagged["_violation"] & (flagged["severity"] == str(severity))
    return flagged


def by(report: Report, *keys: str) -> pd.DataFrame:
    """Findings per value of one or more columns: record fields (``"branch_id"``, ``"employee.id"``,
    ``"channel"``, ``"customer.age"``), ``"month"`` (of ``started_at``, in the record's local time) or finding
    columns (``"rule"``, ``"citation"``, ``"severity"``).

    Columns: ``violations undetermined records rules`` (distinct records and rules with findings), then the
    violations of each severity, ``critical`` … ``info``. Most violations first; a record without the field is
    counted under a missing value, never dropped.

    By one of the keys every evaluation tallies (``branch_id``, ``employee.id``, ``month``) the table also has
    the rates: ``checked`` (records judged), ``with_violations`` (of those, records with a violation) and
    ``violation_rate`` (their ratio); values whose records were all compliant are rows too, with 0 findings.
    """
    if not keys:
        raise TypeError("by() needs at least one column, e.g. report.by('branch_id')")
    result = _summarise(report, keys, "by()")
    if len(keys) == 1 and keys[0] in TALLY_KEYS:
        result = _with_rates(result, report, keys[0])
    return result


def _with_rates(result: pd.DataFrame, report: Report, key: str) -> pd.DataFrame:
    """The summary joined to the records judged per value (a missing value, None in the tally, is NaN here)."""
    import pandas as pd

    tally = report.counts.per_key
    checked, flagged = tally.checked(key), tally.with_violations(key)
    rates = pd.DataFrame(
        {"checked": list(checked.values()), "with_violations": list(flagged.values())},
        index=pd.Index([math.nan if value is None else value for value in checked], name=key, dtype=object),
        dtype="int64",
    )
    quiet = [value for value in rates.index if value not in result.index]  # all their records compliant
    joined = result.reindex([*result.index, *quiet]).join(rates, how="left")
    joined = joined.fillna(0).astype("int64")
    judged = joined["checked"].where(joined["checked"] > 0)
    joined["violation_rate"] = (joined["with_violations"] / judged).astype("float64")
    return joined


def _summarise(report: Report, keys: Sequence[str], what: str) -> pd.DataFrame:
    frame = _frame(report, "zh", f"Report.{what}")
    if "month" in keys:  # the month a record started (or a group's month key), as the tally counts it
        frame["month"] = [_finding_month(report.context(f)) for f in report.findings]
    if frame.empty:
        frame = frame.reindex(columns=[*frame.columns, *(k for k in keys if k not in frame.columns)])
    _require_columns(frame, keys, what)
    flagged = _flags(frame)
    grouped = flagged.groupby(list(keys), dropna=False, sort=False, observed=True)
    result = grouped.agg(
        violations=("_violation", "sum"),
        undetermined=("_undetermined", "sum"),
        records=(_RECORD, "nunique"),
        rules=("rule", "nunique"),
        **{str(s): (f"_{s}", "sum") for s in SEVERITIES},
    )
    result = result.astype("int64")
    return result.sort_values(["violations", "undetermined"], ascending=False, kind="stable")


def _finding_month(context: Mapping[str, Any]) -> str | None:
    group_month = context.get("month")
    return month_of(context.get("started_at")) or (group_month if isinstance(group_month, str) else None)


def top(report: Report, n: int = 10, *, by: str = "rule") -> pd.DataFrame:
    """The ``n`` values of ``by`` (a rule, an article's ``citation``, a ``branch_id``, an ``employee.id``, …)
    with the most violations; ties keep the order they were first found in."""
    return _summarise(report, [by], "top()").head(n)


def over_time(report: Report, freq: str = "M", *, on: str = "started_at", by: str | None = None) -> pd.DataFrame:
    """Findings per period of the record time ``on``: ``freq`` is a pandas period (``"D"``, ``"W"``, ``"M"``,
    ``"Q"``, ``"Y"``). Every period from the first to the last is a row, quiet ones as 0.

    Without ``by`` the columns are ``violations undetermined records``; with ``by`` (``"citation"``,
    ``"rule"``, ``"branch_id"``, …) there is one column of violations per value. Findings whose record has no
    such time are left out with a warning that counts them.
    """
    with needs("pandas", "Report.over_time()"):
        import pandas as pd

    frame = _frame(report, "zh", "Report.over_time()")
    index_name = "period"
    if frame.empty:
        columns = ["violations", "undetermined", "records"] if by is None else []
        return pd.DataFrame(columns=columns, index=pd.PeriodIndex([], freq=freq, name=index_name), dtype="int64")
    _require_columns(frame, [on] if by is None else [on, by], "over_time()")
    times = frame[on]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise TypeError(f"over_time(): column {on!r} holds no times with an offset")
    undated = int((times.isna() & ~frame[_GROUP]).sum())  # a group of records has no one time: not warned of
    if undated:
        warnings.warn(f"over_time(): {undated} findings' records have no {on}; they are not counted", stacklevel=3)
    frame = _flags(frame[times.notna()])
    periods = frame[on].dt.tz_localize(None).dt.to_period(freq).rename(index_name)
    if by is None:
        grouped = frame.groupby(periods)
        result = grouped.agg(
            violations=("_violation", "sum"), undetermined=("_undetermined", "sum"), records=(_RECORD, "nunique")
        )
    else:
        violations = frame[frame["_violation"]]
        result = pd.crosstab(periods[frame["_violation"]], violations[by].astype(object).fillna("(none)"))
        result = result[result.sum().sort_values(ascending=False, kind="stable").index]  # most breached first
        result.columns.name = by
    if len(periods):
        full = pd.period_range(periods.min(), periods.max(), freq=freq, name=index_name)
        result = result.reindex(full, fill_value=0)
    return result.astype("int64")


# -- evaluating a DataFrame of records ----------------------------------------------------------------------

_ABSENT = object()


def _cell(value: Any) -> Any:
    """A frame cell as a record value; missing cells (None, NaN, NaT, NA) are absent fields."""
    import numpy as np
    import pandas as pd

    if isinstance(value, list | tuple | dict | np.ndarray):
        return value.tolist() if isinstance(value, np.ndarray) else value
    if value is None or value is pd.NaT or value is pd.NA:
        return _ABSENT
    if isinstance(value, float | np.floating) and math.isnan(value):
        return _ABSENT
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _paths(names: Sequence[Hashable]) -> list[tuple[str | int, ...]]:
    """Dotted column names to paths, as in CSV headers: ``operations.0.kind`` → ("operations", 0, "kind")."""
    paths: list[tuple[str | int, ...]] = []
    seen: set[tuple[str | int, ...]] = set()
    for name in names:
        parts = str(name).strip().split(".")
        if any(not part for part in parts) or parts[0].isdigit():
            raise InputError(f"DataFrame column {name!r} is not a dotted field name")
        path: tuple[str | int, ...] = tuple(int(p) if p.isdigit() else p for p in parts)
        if path in seen:
            raise InputError(f"DataFrame column {name!r} repeats")
        seen.add(path)
        paths.append(path)
    return paths


def _place(root: dict[Any, Any], path: tuple[str | int, ...], value: Any, where: str) -> None:
    """Put one cell's value at its path. A column and a column inside it (``employee`` and ``employee.id``,
    as ``pd.json_normalize`` gives when some records have no employee) may both be there: their values merge
    when the outer one is a mapping or missing, and clash otherwise."""
    node = root
    for depth, part in enumerate(path[:-1], start=1):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"{where}: {'.'.join(map(str, path[:depth]))} has a value and also fields inside it")
        node = child
    key = path[-1]
    if key not in node:
        node[key] = dict(value) if isinstance(value, Mapping) else value
        return
    existing = node[key]
    if isinstance(existing, dict) and isinstance(value, Mapping) and not set(existing) & set(value):
        existing.update(value)
        return
    raise InputError(f"{where}: {'.'.join(map(str, path))} has a value and also fields inside it")


def _listify(node: dict[Any, Any]) -> Any:
    items = {key: _listify(value) if isinstance(value, dict) and value else value for key, value in node.items()}
    if items and all(isinstance(key, int) for key in items):
        return [items[key] for key in sorted(items)]
    return items


def frame_records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The records of a DataFrame whose columns are dotted record paths (``customer.risk_tolerance``,
    ``operations.0.kind``), one per row. A missing cell (None, NaN, NaT) is an absent field: a frame, like CSV,
    cannot say ``null``. A cell may also hold a whole list or mapping (an ``operations`` column of lists), so
    the output of ``pd.json_normalize(records, max_level=1)`` reads back as the records."""
    with needs("pandas", "frame_records()"):
        import pandas  # noqa: F401  (the cells are read with pandas' types)
    paths = _paths(list(frame.columns))
    for label, *values in frame.itertuples(index=True, name=None):
        root: dict[Any, Any] = {}
        for path, raw in zip(paths, values, strict=True):
            value = _cell(raw)
            if value is not _ABSENT:
                _place(root, path, value, f"DataFrame row {label!r}")
        record: dict[str, Any] = _listify(root)
        yield record


def evaluate_frame(
    frame: pd.DataFrame,
    policy: Policy | None = None,
    *,
    as_of: dt.datetime | None = None,
    lang: str = "zh",
    all_rows: bool = False,
) -> pd.DataFrame:
    """Evaluate a DataFrame of records and return the findings joined back to the rows they came from.

    One row per finding (an invalid row appears once, ``outcome`` ``invalid`` and the validation message in
    ``message``), indexed by the input row's label, with the finding columns of :func:`to_pandas` followed by
    the row's own columns (a clashing name gets `` (record)`` appended). ``all_rows=True`` also keeps the rows
    with nothing to report, as ``compliant``. Rows keep the frame's order. Findings of aggregate rules, which
    are about groups of rows rather than one, come last with no row label.
    """
    with needs("pandas", "evaluate_frame()"):
        import pandas as pd
    from svcpolicy.policy import load_policy

    policy = policy if policy is not None else load_policy()
    report = policy.evaluate(list(frame_records(frame)), as_of=as_of)
    blank = dict.fromkeys(FINDING_COLUMNS)
    placed: list[tuple[int, dict[str, Any]]] = []
    titles = rule_titles(report, lang)
    for finding in report.findings:
        row = finding_row(finding, {}, lang)
        row["title"] = titles[finding.rule]
        placed.append((finding.record.line - 1 if finding.record.line is not None else -1, row))
    for item in report.invalid:
        row = {**blank, "outcome": str(Outcome.INVALID), "record_id": item.record.id, "message": item.error}
        placed.append(((item.record.line or 0) - 1, row))
    if all_rows:
        reported = {position for position, _ in placed}
        placed.extend(
            (position, {**blank, "outcome": str(Outcome.COMPLIANT)})
            for position in range(len(frame))
            if position not in reported
        )
    placed.sort(key=lambda pair: len(frame) if pair[0] < 0 else pair[0])  # stable: findings keep their order
    positions = [position for position, _ in placed]
    found = pd.DataFrame([row for _, row in placed], columns=list(FINDING_COLUMNS)).drop(columns=["file", "line"])
    found["severity"] = pd.Categorical(found["severity"], categories=SEVERITY_ORDER, ordered=True)
    source = frame.reset_index(drop=True)
    source.columns = [f"{c} (record)" if c in found.columns else c for c in source.columns]
    rows = source.reindex([p if p >= 0 else -1 for p in positions]).reset_index(drop=True)
    labels = [frame.index[p] if p >= 0 else None for p in positions]
    joined = pd.concat([found, rows], axis=1)
    joined.index = pd.Index(labels, name=frame.index.name if frame.index.name is not None else "row")
    return joined
