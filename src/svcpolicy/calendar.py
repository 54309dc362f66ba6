"""Working days and complaint deadlines on the official PRC holiday calendar.

A period of N calendar days (自然日) ends on ``start + N`` (民法典 art. 201: the start day is not counted);
if that day is a statutory holiday or a rest day, the deadline moves to the next working day (art. 203).
Rest days are Saturdays and Sundays, except the 调休 make-up working days a State Council notice declares.

Only years whose official notice is known are answered: python-holidays computes recurring festivals for
any year, but the 调休 swaps exist only for years whose notice it carries, so a guess for another year
would silently be wrong. Such dates raise :class:`CalendarNotCovered` instead.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import pickle
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from svcpolicy.errors import CalendarNotCovered, SourceLocation, YearFileError
from svcpolicy.frozen import Frozen
from svcpolicy.user_cache import cache_dir, read_checked, write_checked

if TYPE_CHECKING:  # the year file's model and YAML are imported when a year file is read: most runs read none
    from svcpolicy.year_file import YearFile, load_year_file
else:

    def __getattr__(name: str) -> object:
        """``YearFile`` and ``load_year_file``, still importable from here, imported when first asked for."""
        if name in ("YearFile", "load_year_file"):
            from svcpolicy import year_file

            return getattr(year_file, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LONGEST_REST_RUN",
    "DeadlineBounds",
    "HolidayCalendar",
    "Schedule",
    "YearFile",
    "YearFileError",
    "deadline_bounds",
    "load_year_file",
    "official_schedule",
    "package_known_years",
]

LONGEST_REST_RUN = 20
"""The most consecutive rest days (holidays and weekends) any year's schedule is assumed able to give.

The longest run in every official notice since 2001 is 10 days (Spring Festival 2020, as extended); twice that
leaves room for a schedule unlike any issued so far. It bounds a deadline that runs into a year whose notice
is not known: the last day is no later than the first unknown day plus this many days.
"""


def package_known_years() -> tuple[int, int]:
    """The years whose State Council notice the installed python-holidays encodes.

    Every notice since 2001 swaps some days (调休), and the package records those swaps in
    ``ChinaStaticHolidays.special_public_holidays`` keyed by the notice's year; a year without an entry is
    one the package only extrapolates. Read from the installed package (or the table cached from it), so a
    newer package extends the range by itself.
    """
    return official_schedule().known_years


class Schedule(Frozen):
    """Days off and make-up working days for a run of years whose notices are all known."""

    _fields = ("days_off", "working_weekend_days", "known_years", "package", "provenance")
    days_off: frozenset[date]
    working_weekend_days: frozenset[date]
    known_years: tuple[int, int]
    package: str
    """The python-holidays release the official years come from."""
    provenance: str

    def __init__(
        self,
        days_off: frozenset[date],
        working_weekend_days: frozenset[date],
        known_years: tuple[int, int],
        package: str,
        provenance: str,
    ) -> None:
        self.__dict__.update(
            days_off=days_off,
            working_weekend_days=working_weekend_days,
            known_years=known_years,
            package=package,
            provenance=provenance,
        )


@functools.cache
def official_schedule() -> Schedule:
    """python-holidays' PRC schedule for the years whose notice it carries, read once per process.

    Importing python-holidays costs more than a short run's whole evaluation (it loads every country), so
    the table it gives is kept in the user's cache directory, keyed by the installed package's files, and
    python-holidays is imported only when that copy is missing or stale.
    """
    cached = _schedule_cache_file()
    if cached is not None:
        data = read_checked(cached)  # None: missing, or damaged since it was written
        try:
            schedule = None if data is None else pickle.loads(data)  # noqa: S301 - our own file, its digest checked
            if isinstance(schedule, Schedule):
                return schedule
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            pass
    schedule = _schedule_from_package()
    if cached is not None:
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            write_checked(cached, pickle.dumps(schedule, pickle.HIGHEST_PROTOCOL))
    return schedule


def _schedule_from_package() -> Schedule:
    """The table as python-holidays computes it; imported here only, since its import loads every country."""
    from holidays import country_holidays
    from holidays.countries.china import ChinaStaticHolidays
    from holidays.version import __version__ as holidays_version

    years = sorted(ChinaStaticHolidays.special_public_holidays)
    first, last = years[0], years[-1]
    package = country_holidays("CN", years=range(first, last + 1))
    label = f"python-holidays {holidays_version}"
    return Schedule(
        frozenset(package),
        frozenset(package.weekend_workdays),
        (first, last),
        label,
        f"PRC holiday calendar ({label}): {first}–{last}",
    )


def _schedule_cache_file() -> Path | None:
    """The cached table's file, named by the files it was read from (an upgrade rewrites them); None when off."""
    directory = cache_dir()
    spec = importlib.util.find_spec("holidays")  # finds the package without importing it
    if directory is None or spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    digest = hashlib.sha256(str(package).encode())
    for source in (package / "version.py", package / "countries" / "china.py", Path(__file__)):
        try:
            stat = source.stat()
        except OSError:
            return None
        digest.update(f"\0{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return directory / f"holidays-{digest.hexdigest()[:32]}.pickle"


_missing_years_logged: set[int] = set()
"""Years already logged as missing in this process: a run over many records logs each year once."""


def _report_missing_year(year: int, known: tuple[int, int]) -> None:
    if year not in _missing_years_logged:
        import logging  # only for this warning: a run whose years are all known never imports it

        _missing_years_logged.add(year)
        logging.getLogger(__name__).warning(
            "the PRC holiday schedule for %d is not known (known years: %d–%d): working-day deadlines in %d are "
            "undetermined; add the year's State Council notice as a year file",
            year,
            known[0],
            known[1],
            year,
        )


class HolidayCalendar(Frozen):
    """Immutable, so one instance can be shared across threads; build it with :meth:`official`.

    The schedule is resolved on first use: a run whose rules never ask for a deadline never reads the
    holiday table. python-holidays objects populate lazily and mutate on lookup, so everything is copied
    into frozensets and no python-holidays object is kept.
    """

    _fields = ("year_files",)
    year_files: tuple[tuple[str, YearFile], ...]
    """Supplementary year files by file name, each adding a year or replacing a whole official one."""
    _resolved: list[Schedule]
    """The schedule once resolved (at most one entry): a cell, since the calendar itself is frozen; not compared."""

    def __init__(self, year_files: tuple[tuple[str, YearFile], ...] = ()) -> None:
        self.__dict__.update(year_files=year_files, _resolved=[])

    @classmethod
    def official(cls, extra_years: Iterable[Path] = ()) -> HolidayCalendar:
        """The package's official schedules, with supplementary year files added or overriding whole years.

        Year files are read and checked against the official years here, so a broken one fails at once.
        """
        supplements: dict[int, tuple[Path, YearFile]] = {}
        for path in extra_years:
            year_file = _read_year_file(path)
            if year_file.year in supplements:
                raise YearFileError(
                    f"year {year_file.year} is also given by {supplements[year_file.year][0]}",
                    SourceLocation(str(path)),
                )
            supplements[year_file.year] = (path, year_file)
        calendar = cls(tuple((str(path), year_file) for _, (path, year_file) in sorted(supplements.items())))
        if supplements:
            calendar._resolved.append(_with_year_files(official_schedule(), supplements))
        return calendar

    @property
    def schedule(self) -> Schedule:
        """The official schedule with the year files applied (resolved on first use)."""
        if not self._resolved:
            self._resolved.append(official_schedule())
        return self._resolved[0]

    @property
    def days_off(self) -> frozenset[date]:
        return self.schedule.days_off

    @property
    def working_weekend_days(self) -> frozenset[date]:
        return self.schedule.working_weekend_days

    @property
    def known_years(self) -> tuple[int, int]:
        return self.schedule.known_years

    @property
    def provenance(self) -> str:
        return self.schedule.provenance

    def describe(self) -> str:
        """Which schedules answer, for reports and logs."""
        return self.schedule.provenance

    def is_working_day(self, day: date) -> bool:
        """A weekday that is not a day off, or a 调休 weekend day; raises outside the known years."""
        if isinstance(day, datetime):
            raise TypeError("pass a date in China local time, not a datetime")
        schedule = self._resolved[0] if self._resolved else self.schedule
        if not schedule.known_years[0] <= day.year <= schedule.known_years[1]:
            _report_missing_year(day.year, schedule.known_years)
            raise CalendarNotCovered(day.year, schedule.known_years)
        if day in schedule.days_off:
            return False
        return day.weekday() < 5 or day in schedule.working_weekend_days

    def calendar_deadline(self, start: date, days: int) -> date:
        """Last day of a period of ``days`` calendar days starting on ``start`` (arts. 201 and 203)."""
        if days < 1:
            raise ValueError(f"a period has at least one day, got {days}")
        try:
            deadline = start + timedelta(days=days)
        except OverflowError:
            raise CalendarNotCovered(date.max.year + 1, self.known_years) from None
        while not self.is_working_day(deadline):
            deadline += timedelta(days=1)
        return deadline

    def deadline_bounds(self, start: date, days: int) -> DeadlineBounds:
        """The earliest and latest the period's last day can be: see :func:`deadline_bounds`."""
        return deadline_bounds(self, start, days)


def _read_year_file(path: Path) -> YearFile:
    """:func:`~svcpolicy.year_file.load_year_file`, its module imported with the first year file given."""
    from svcpolicy.year_file import load_year_file

    return load_year_file(path)


def _with_year_files(official: Schedule, supplements: dict[int, tuple[Path, YearFile]]) -> Schedule:
    """The official schedule with each year file's year added or replaced; raises when they do not fit."""
    first, last = official.known_years
    while first - 1 in supplements:
        first -= 1
    while last + 1 in supplements:
        last += 1
    for year, (path, _) in sorted(supplements.items()):
        if not first <= year <= last:
            missing = last + 1 if year > last else first - 1
            raise YearFileError(
                f"year {year} does not join the known years {first}–{last}: the schedule for {missing} is needed first",
                SourceLocation(str(path)),
            )
    days_off = {d for d in official.days_off if d.year not in supplements}
    working = {d for d in official.working_weekend_days if d.year not in supplements}
    for _, year_file in supplements.values():
        days_off.update(year_file.days_off)
        working.update(year_file.working_days)
    clash = days_off & working
    if clash:
        from svcpolicy.year_file import listed_dates  # imported already: it read the year files

        culprits = [p for p, f in supplements.values() if clash & {*f.days_off, *f.working_days}]
        raise YearFileError(
            f"both a day off and a working day once all schedules are combined: {listed_dates(sorted(clash))}",
            SourceLocation(str(culprits[0])) if culprits else None,
        )
    provenance = f"PRC holiday calendar ({official.package}): {first}–{last}; " + "; ".join(
        f"{year} from {path.name}" for year, (path, _) in sorted(supplements.items())
    )
    return Schedule(frozenset(days_off), frozenset(working), (first, last), official.package, provenance)


class WorkingDays(Protocol):
    """Anything that tells working days and raises CalendarNotCovered for a year it does not know."""

    def is_working_day(self, day: date) -> bool: ...


def deadline_bounds(calendar: WorkingDays, start: date, days: int) -> DeadlineBounds:
    """The earliest and latest the last day of ``days`` calendar days from ``start`` can be (arts. 201, 203).

    Exact when every day involved is known. Counting stops at the first day whose year has no known notice: the
    last day is that day or a later one, at most :data:`LONGEST_REST_RUN` days later. So a question about the
    deadline is undetermined only when its answer falls between the two bounds.
    """
    if days < 1:
        raise ValueError(f"a period has at least one day, got {days}")
    try:
        day = start + timedelta(days=days)
        while True:
            try:
                if calendar.is_working_day(day):
                    return DeadlineBounds(day, day, None)
            except CalendarNotCovered as exc:
                return DeadlineBounds(day, day + timedelta(days=LONGEST_REST_RUN), exc)
            day += timedelta(days=1)
    except OverflowError:
        raise ValueError(f"a period of {days} days from {start} ends beyond the calendar's range") from None


class DeadlineBounds(Frozen):
    """Where a period's last day lies: ``earliest == latest`` when the schedules involved are known.

    ``unknown`` is why the day is not exact (the first year without a known notice), None when it is.
    """

    _fields = ("earliest", "latest", "unknown")
    earliest: date
    latest: date
    unknown: CalendarNotCovered | None

    def __init__(self, earliest: date, latest: date, unknown: CalendarNotCovered | None) -> None:
        self.__dict__.update(earliest=earliest, latest=latest, unknown=unknown)

    def passed_on(self, day: date) -> bool:
        """Whether ``day`` is after the last day; raises ``unknown`` when the unknown schedule decides it."""
        if day > self.latest:
            return True
        if day <= self.earliest or self.unknown is None:
            return False
        raise self.unknown
