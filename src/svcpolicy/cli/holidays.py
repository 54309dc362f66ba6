"""``--holidays FILE`` and ``holidays = [...]``: the official calendar plus a bank's supplementary year files.

A year file lets a bank judge deadlines in a year whose State Council notice the installed python-holidays does
not carry yet; nothing here guesses a schedule, it only adds the ones a bank transcribed (docs/holidays.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.cli.config import Config


def add_holidays_argument(parser: argparse.ArgumentParser, *, configurable: bool = True) -> None:
    """``configurable``: whether the command reads ``[tool.svcpolicy]``, so the help names the key."""
    default = "; default: [tool.svcpolicy] holidays" if configurable else ""
    parser.add_argument(
        "--holidays",
        action="append",
        metavar="FILE",
        help=f"a holiday year file (YAML, one year's State Council notice; repeatable{default}); see docs/holidays.md",
    )


def holiday_files(args: argparse.Namespace, config: Config | None) -> list[Path]:
    """The year files to use: the flags when given, else the configured ones (relative to pyproject.toml)."""
    if args.holidays:
        return [Path(p) for p in args.holidays]
    return [config.path(p) for p in config.values.holidays] if config is not None else []


def holiday_calendar(args: argparse.Namespace, config: Config | None) -> HolidayCalendar:
    """The official calendar with the year files added; a broken file raises a ``file:line`` YearFileError."""
    return HolidayCalendar.official(holiday_files(args, config))
