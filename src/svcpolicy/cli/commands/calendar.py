"""``svcpolicy calendar``: which years' holiday schedules are known, and a warning before the last one runs out.

Deadlines in a year without a known schedule are judged only from bounds, or are undetermined; the State Council
publishes next year's notice in November or December, so the warning comes early enough to add it as a year file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from svcpolicy.calendar import LONGEST_REST_RUN, HolidayCalendar, load_year_file, package_known_years
from svcpolicy.cli.config import discover
from svcpolicy.cli.exits import EXIT_OK
from svcpolicy.cli.holidays import add_holidays_argument, holiday_files
from svcpolicy.reporting.escaping import printable

WARN_DAYS = 60
"""How many days before the end of the last known year the command starts warning."""

CHINA = dt.timezone(dt.timedelta(hours=8))
"""China local time: the calendar day a deadline is counted in (no daylight saving since 1991)."""


def _as_of(text: str) -> dt.date:
    """A day (``2026-11-20``) or a time with its offset, as the calendar day in China."""
    try:
        if len(text) == len("YYYY-MM-DD"):
            return dt.date.fromisoformat(text)
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--as-of needs a time zone offset, e.g. {value.isoformat()}+08:00")
    try:
        return value.astimezone(CHINA).date()
    except OverflowError:  # 9999-12-31T23:59:59+00:00 is already 10000-01-01 in China
        raise argparse.ArgumentTypeError(f"--as-of is past the last date there is: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_holidays_argument(parser)
    parser.add_argument(
        "--as-of", type=_as_of, help="the day to warn for: a date, or a time with its offset (default: today in China)"
    )
    parser.add_argument("--config", metavar="PYPROJECT", help="read [tool.svcpolicy] from this file")
    parser.add_argument("--no-config", action="store_true", help="ignore [tool.svcpolicy] in pyproject.toml")


def run(args: argparse.Namespace) -> int:
    files = holiday_files(args, discover(args.config, disabled=args.no_config))
    calendar = HolidayCalendar.official(files)  # validates the files together, as check and watch would
    from importlib.metadata import version

    first, last = calendar.known_years
    official_first, official_last = package_known_years()
    print(f"known years: {first}–{last}")
    print(f"  {official_first}–{official_last}: official (python-holidays {version('holidays')})")
    for path in files:
        year_file = load_year_file(path)
        replaces = " (replaces the official schedule)" if official_first <= year_file.year <= official_last else ""
        print(f"  {year_file.year}: {printable(path)}{replaces}: {printable(year_file.source)}")
    as_of = args.as_of or dt.datetime.now(CHINA).date()
    warning = _warning(as_of, last)
    if warning is not None:
        print(f"svcpolicy calendar: {warning}", file=sys.stderr)
    return EXIT_OK


def _warning(as_of: dt.date, last: int) -> str | None:
    """Why ``as_of`` is close to, or past, the end of the last known year; None while it is far from it."""
    end = dt.date(last, 12, 31)
    add = f"add the State Council's {last + 1} notice as a year file (--holidays, or holidays in [tool.svcpolicy])"
    if as_of > end:
        return (
            f"{as_of} is past the last known year {last}: deadlines after {end} are judged from bounds (no later "
            f"than {LONGEST_REST_RUN} days after the first unknown day) or are undetermined; {add}"
        )
    days_left = (end - as_of).days
    if days_left <= WARN_DAYS:
        return f"the last known year {last} ends in {days_left} days (on {end}); {add} when it is published"
    return None
