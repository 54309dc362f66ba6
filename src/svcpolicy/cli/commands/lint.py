"""``svcpolicy lint PACK…``: check packs for mistakes that loading alone does not catch (svcpolicy.authoring.lint)."""

from __future__ import annotations

import argparse
import sys

from svcpolicy.authoring.lint import lint_pack
from svcpolicy.cli.commands.test import run_tests
from svcpolicy.cli.config import discover
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.policy import load_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packs", nargs="*", help="pack directories or files (default: [tool.svcpolicy] packs)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    parser.add_argument("--no-warnings", action="store_true", help="print errors only")
    parser.add_argument("--test", action="store_true", help="then run each pack's examples and tests (svcpolicy test)")
    parser.add_argument(
        "--engine",
        choices=("native", "durable"),
        default="native",
        help="durable: also list the record rules durable-rules cannot express (they run on the closure engine)",
    )
    parser.add_argument("--config", metavar="PYPROJECT", help="read [tool.svcpolicy] from this file")
    parser.add_argument("--no-config", action="store_true", help="ignore [tool.svcpolicy] in pyproject.toml")


def pack_arguments(args: argparse.Namespace) -> list[str] | None:
    """The packs named on the command line, else those of [tool.svcpolicy]; None when there are none."""
    if args.packs:
        return list(args.packs)
    packs = discover(args.config, disabled=args.no_config).packs()
    return packs or None


def run(args: argparse.Namespace) -> int:
    packs = pack_arguments(args)
    if packs is None:
        print("svcpolicy lint: no packs given, and no `packs` (or `pack`) in [tool.svcpolicy]", file=sys.stderr)
        return EXIT_ERROR
    errors = warnings = 0
    broken = False
    for pack in packs:
        result = lint_pack(pack)
        for message in result.messages:
            if message.level == "warning" and args.no_warnings:
                continue
            print(message)
        errors += len(result.errors)
        warnings += len(result.warnings)
        broken = broken or not result.loads
        if args.engine == "durable" and not result.errors:
            from svcpolicy.engines.durable import durable_coverage  # durable-rules only when asked

            for rule, reason in durable_coverage(load_policy(pack)):
                print(f"{pack}: note: {rule} runs on the closure engine under --engine durable: {reason}")
    print(f"{len(packs)} pack(s) linted: {errors} error(s), {warnings} warning(s)")
    code = EXIT_ERROR if broken else EXIT_FINDINGS if errors or (args.strict and warnings) else EXIT_OK
    if args.test:
        code = max(code, run_tests(packs, quiet=True))
    return code
