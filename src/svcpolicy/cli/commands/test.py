"""``svcpolicy test PACK…``: run each pack's embedded examples and the test files in its tests/ directory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from svcpolicy.cli.config import discover
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.cli.holidays import add_holidays_argument, holiday_calendar
from svcpolicy.errors import PackError, PackErrors
from svcpolicy.policy import load_policy

if TYPE_CHECKING:
    from svcpolicy.calendar import HolidayCalendar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packs", nargs="*", help="pack directories or files (default: [tool.svcpolicy] packs)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    parser.add_argument("--config", metavar="PYPROJECT", help="read [tool.svcpolicy] from this file")
    parser.add_argument("--no-config", action="store_true", help="ignore [tool.svcpolicy] in pyproject.toml")
    add_holidays_argument(parser)


def run_tests(packs: Sequence[str], *, quiet: bool = False, calendar: HolidayCalendar | None = None) -> int:
    """Run the tests of every pack, print a line per case and the closing ``N passed, M failed``.

    ``calendar``: the official one when None; year files make examples in a newly announced year decidable.
    """
    from svcpolicy.authoring.packtest import CaseResult, run_pack_tests, summary

    results: list[CaseResult] = []
    broken = False
    for pack in packs:
        try:
            policy = load_policy(pack, calendar=calendar)
        except (PackError, PackErrors) as exc:
            broken = True
            print(f"ERROR {pack}: the pack does not load:\n{exc}")
            results.append(CaseResult(f"{pack}::load", False, "the pack does not load"))
            continue
        for result in run_pack_tests(policy):
            results.append(result)
            if not (quiet and result.passed):
                print(result.line())
    print(summary(results))
    if broken:
        return EXIT_ERROR
    return EXIT_OK if all(r.passed for r in results) else EXIT_FINDINGS


def run(args: argparse.Namespace) -> int:
    config = discover(args.config, disabled=args.no_config)
    packs = list(args.packs) or config.packs()
    if not packs:
        print("svcpolicy test: no packs given, and no `packs` (or `pack`) in [tool.svcpolicy]", file=sys.stderr)
        return EXIT_ERROR
    return run_tests(packs, quiet=args.quiet, calendar=holiday_calendar(args, config))
