"""Records judged per branch, employee and month: the denominators of an auditor's rates.

Findings say which records broke a rule; a rate also needs how many records were checked. An evaluation
therefore counts every judged record (compliant, with violations or undetermined; invalid records have no
trustworthy fields and are not counted here) under a fixed set of keys, by its outcome. Memory grows with the
number of distinct branches, employees and months, never with the number of records, and two tallies (from two
``--jobs`` workers, or two parts of a file) add up with ``merge`` or ``+``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from svcpolicy.results.findings import Outcome

__all__ = ["TALLY_KEYS", "KeyTally", "local_time", "month_of"]

TALLY_KEYS: tuple[str, ...] = ("branch_id", "employee.id", "month")
"""The keys every evaluation tallies: the record's branch, its employee, and the month it started
(``started_at`` in the record's own local time, ``2026-11``)."""

Value = str | None
"""A key's value as tallied: its text, or None when the record has no such field."""


def local_time(value: Any) -> dt.datetime | None:
    """A record time as the wall-clock time where it happened (its own offset), or None when it has none."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return None


def month_of(value: Any) -> str | None:
    """``2026-11`` for a record time, in the record's own local time."""
    if type(value) is dt.datetime:  # a validated record's: its own wall-clock month, whatever its offset
        return f"{value.year:04d}-{value.month:02d}"
    moment = local_time(value)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


def _text(value: Any) -> Value:
    if type(value) is str:
        return value or None
    return None if value is None or value == "" else str(value)


_PENDING_KEPT = 1024
"""Distinct (values, outcome) combinations counted before they are added into the per-key counts."""

_OUTCOME_TEXT: dict[str, str] = {outcome: outcome.value for outcome in Outcome}

Pending = tuple[Value, Value, int | Value, str]
"""A record's combination as ``add`` counts it: branch and employee as read when text (``_text`` makes the
empty text None once per combination, in ``_spread``), the month as ``year * 100 + month`` of a record time
(else as ``month_of`` gives it), and the outcome."""


def _month_text(month: Any) -> Value:
    """The tallied month of a pending combination's month part."""
    return f"{month // 100:04d}-{month % 100:02d}" if type(month) is int else month


class KeyTally:
    """Per tallied key, per value, how many judged records had each outcome: ``{"branch_id": {"SH-1":
    Counter({"compliant": 40, "violation": 3})}}``. A plain, picklable structure that merges by adding.

    ``add`` runs once per record, so it only counts the record's combination of values and outcome as read,
    without making their texts (one dict update); the combinations are turned into texts and spread over the keys
    in batches and whenever ``by_key`` is read."""

    __slots__ = ("_by_key", "_pending")

    def __init__(self) -> None:
        self._by_key: dict[str, dict[Value, Counter[str]]] = {key: {} for key in TALLY_KEYS}
        self._pending: dict[Pending, int] = {}

    @property
    def by_key(self) -> dict[str, dict[Value, Counter[str]]]:
        """The counts, per tallied key, per value, per outcome."""
        if self._pending:
            self._spread()
        return self._by_key

    def add(self, record: Mapping[str, Any], outcome: Outcome) -> None:
        """Count one judged record under each of its key values."""
        branch = record.get("branch_id")
        if branch is not None and type(branch) is not str:
            branch = _text(branch)
        employee = record.get("employee")
        if type(employee) is dict or (employee is not None and isinstance(employee, Mapping)):
            worker = employee.get("id")
            if worker is not None and type(worker) is not str:
                worker = _text(worker)
        else:
            worker = None
        started = record.get("started_at")
        month = started.year * 100 + started.month if type(started) is dt.datetime else month_of(started)
        pending = self._pending
        combination = (branch, worker, month, outcome)
        pending[combination] = pending.get(combination, 0) + 1
        if len(pending) > _PENDING_KEPT:
            self._spread()

    def _spread(self) -> None:
        """Add the pending combinations into the per-key counts, as texts."""
        branches, workers, months = (self._by_key[key] for key in TALLY_KEYS)
        for (branch, worker, month, outcome), count in self._pending.items():
            outcome_text = _OUTCOME_TEXT.get(outcome, outcome)
            for tally, text in ((branches, _text(branch)), (workers, _text(worker)), (months, _month_text(month))):
                outcomes = tally.get(text)
                if outcomes is None:
                    outcomes = tally[text] = Counter()
                outcomes[outcome_text] += count
        self._pending.clear()

    def merge(self, other: KeyTally) -> None:
        """Add another tally (another worker's, another part of the input) into this one."""
        for key, values in other.by_key.items():
            mine = self.by_key.setdefault(key, {})
            for value, outcomes in values.items():
                mine.setdefault(value, Counter()).update(outcomes)

    def __add__(self, other: KeyTally) -> KeyTally:
        total = KeyTally()
        total.merge(self)
        total.merge(other)
        return total

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyTally) and self.by_key == other.by_key

    __hash__ = None  # type: ignore[assignment]  # mutable, like the Counters it holds

    def __repr__(self) -> str:
        return f"KeyTally({', '.join(f'{key}: {len(values)} values' for key, values in self.by_key.items())})"

    def checked(self, key: str) -> dict[Value, int]:
        """Records judged per value of ``key`` (one of :data:`TALLY_KEYS`)."""
        return {value: sum(outcomes.values()) for value, outcomes in self._values(key).items()}

    def with_violations(self, key: str) -> dict[Value, int]:
        """Records with at least one violation per value of ``key``."""
        return {value: outcomes[Outcome.VIOLATION.value] for value, outcomes in self._values(key).items()}

    def _values(self, key: str) -> dict[Value, Counter[str]]:
        if key not in self.by_key:
            raise KeyError(f"records are tallied by {', '.join(TALLY_KEYS)}, not {key!r}")
        return self.by_key[key]
