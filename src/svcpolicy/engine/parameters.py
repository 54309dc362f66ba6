"""Pack parameters as in force at a record's time (dated values, like OpenFisca's)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from svcpolicy.expr import Undetermined
from svcpolicy.pack.spec import ParameterSpec

RECORD_TIME_FIELD = "started_at"


def record_date(record: Mapping[str, Any], tz: dt.tzinfo) -> dt.date | None:
    """The calendar day of the interaction in the pack's zone, or None when the record does not say."""
    started = record.get(RECORD_TIME_FIELD)
    if type(started) is dt.datetime and type(started.tzinfo) is dt.timezone and started.tzinfo == tz:
        return started.date()  # already in the pack's zone (most records): no conversion
    if isinstance(started, dt.datetime) and started.tzinfo is not None:
        try:
            return started.astimezone(tz).date()
        except OverflowError:  # within hours of year 1 or 9999
            return None
    return None


_UNRESOLVED: Any = object()


class _DatedView(Mapping[str, Any]):
    """Parameters for one day: constants plus each dated parameter's value in force that day."""

    __slots__ = ("_constant", "_dated", "_day", "_resolved")

    def __init__(
        self,
        constant: Mapping[str, Any],
        dated: Mapping[str, tuple[list[dt.date], list[Any]]],
        day: dt.date | None,
    ) -> None:
        self._constant = constant
        self._dated = dated
        self._day = day
        self._resolved: dict[str, Any] = {}  # dated values found for this day: a view serves many records

    def __getitem__(self, name: str) -> Any:
        if name in self._constant:
            return self._constant[name]
        value = self._resolved.get(name, _UNRESOLVED)
        if value is not _UNRESOLVED:
            return value
        value = self._resolved[name] = self._resolve(name)
        return value

    def _resolve(self, name: str) -> Any:
        starts, values = self._dated[name]
        if self._day is None:
            raise Undetermined(
                f"parameter {name} has dated values and the record has no {RECORD_TIME_FIELD}",
                RECORD_TIME_FIELD,
            )
        i = bisect.bisect_right(starts, self._day) - 1
        if i < 0:
            raise Undetermined(f"parameter {name} has no value in force on {self._day}", None)
        return values[i]

    def __iter__(self) -> Iterator[str]:
        yield from self._constant
        yield from self._dated

    def __len__(self) -> int:
        return len(self._constant) + len(self._dated)


class ParameterTable:
    """Resolves parameter values per record; constant packs share one dict with no per-record work."""

    def __init__(self, parameters: Mapping[str, ParameterSpec], tz: dt.tzinfo) -> None:
        self.tz = tz
        self.constant: dict[str, Any] = {n: p.value for n, p in parameters.items() if p.values is None}
        self.dated: dict[str, tuple[list[dt.date], list[Any]]] = {}
        for name, parameter in parameters.items():
            if parameter.values is not None:
                ordered = sorted(parameter.values.items())
                self.dated[name] = ([d for d, _ in ordered], [v for _, v in ordered])
        self._views: dict[dt.date | None, _DatedView] = {}

    def for_record(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        if not self.dated:
            return self.constant
        day = record_date(record, self.tz)
        view = self._views.get(day)
        if view is None:
            view = _DatedView(self.constant, self.dated, day)
            if len(self._views) < 4096:
                self._views[day] = view
        return view
