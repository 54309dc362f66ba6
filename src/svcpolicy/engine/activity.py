"""Whether dated rules take a record: decided per day, once per day for all the rules of a record kind.

A rule (record or aggregate) with a window of days in force takes a record of a day inside it, not one outside,
and cannot say for a record without a time. A stream's records fall on few days, so the rules of a kind keep the
answer for each day as one tuple rather than each converting every record's time to a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from svcpolicy.engine.parameters import RECORD_TIME_FIELD
from svcpolicy.expr import Undetermined

Window = tuple[dt.date | None, dt.date | None]
Activity = bool | Undetermined
"""True (the rule takes the record), False (not in force that day) or why that is unknown."""

MAX_DAYS_KEPT = 4096
"""Days an ``ActivityByDay`` keeps (eleven years of records): beyond, the tuple is made for each record."""


def window_activity(rule: str, window: Window, day: dt.date | None) -> Activity:
    """Whether a rule with this window takes a record of ``day`` (None: the record has no time)."""
    start, end = window
    if start is None and end is None:
        return True
    if day is None:
        return Undetermined(f"rule {rule} is dated and the record has no {RECORD_TIME_FIELD}", RECORD_TIME_FIELD)
    return (start is None or day >= start) and (end is None or day <= end)


class Dated(Protocol):
    """A rule that knows whether it takes a record of a given day."""

    def activity_on(self, day: dt.date | None) -> Activity: ...


class ActivityByDay:
    """Each rule's ``activity_on`` a day, as one tuple, made once per day."""

    __slots__ = ("_by_day", "_rules")

    def __init__(self, rules: Sequence[Dated]) -> None:
        self._rules = tuple(rules)
        self._by_day: dict[dt.date, tuple[Activity, ...]] = {}

    def __call__(self, day: dt.date | None) -> tuple[Activity, ...]:
        if day is None:  # a fresh Undetermined for each record: nothing shared that a finding could carry
            return tuple(rule.activity_on(None) for rule in self._rules)
        active = self._by_day.get(day)
        if active is None:
            active = tuple(rule.activity_on(day) for rule in self._rules)
            if len(self._by_day) < MAX_DAYS_KEPT:
                self._by_day[day] = active
        return active
