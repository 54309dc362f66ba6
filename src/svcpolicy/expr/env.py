"""What an expression sees while it runs: one record, its parameters, the clock and the calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any, Protocol


class CalendarLike(Protocol):
    """The working-day calendar the calendar functions consult (``svcpolicy.calendar.HolidayCalendar``)."""

    def calendar_deadline(self, start: date, days: int) -> date:
        """Last day of a period of ``days`` calendar days from ``start``; may raise CalendarNotCovered."""
        ...

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; may raise CalendarNotCovered."""
        ...


class Env:
    """The evaluation environment of one record; created per record, so it is kept to plain slots.

    ``locals`` holds loop variables, ``let`` values and quantifier variables; ``paths`` the concrete path of
    each bound name (``op`` -> ``operations[2]``) and ``positions`` the current index of each quantifier
    variable. Paths are only turned into strings when an ``Undetermined`` is raised. ``memo`` holds the values of
    per-record subexpressions shared by rules (``month(started_at)``), by compiler slot, for the current record.
    """

    __slots__ = ("as_of", "calendar", "locals", "memo", "params", "paths", "positions", "record", "trace", "tz")

    def __init__(
        self,
        record: Mapping[str, Any],
        *,
        params: Mapping[str, Any],
        as_of: datetime | None,
        tz: tzinfo,
        calendar: CalendarLike,
        trace: dict[str, Any] | None = None,
    ) -> None:
        self.record = record
        self.params = params
        self.as_of = as_of
        self.tz = tz
        self.calendar = calendar
        self.trace = trace
        self.locals: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.memo: dict[int, Any] = {}

    def reset(self, record: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        """Reuse this environment for the next record of a stream (saves an allocation per record).

        Bound names are left as they are: every loop variable is bound before the expressions that read it run.
        """
        self.record = record
        self.params = params
        self.trace = None
        self.memo.clear()

    def bind(self, name: str, value: Any, path: str) -> None:
        """Bind a loop variable or ``let`` value; ``path`` names it in undetermined findings."""
        self.locals[name] = value
        self.paths[name] = path
