"""The ``svcpolicy`` command: a compliance gate for pre-commit and CI.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it (or invalid records); 2 usage
errors, a broken pack, or an input that could not be read (the other inputs are still checked).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from svcpolicy._version import __version__
from svcpolicy.cli.commands import COMMANDS
from svcpolicy.cli.exits import EXIT_ERROR
from svcpolicy.errors import SvcPolicyError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="svcpolicy", description="Check service records against rule packs.")
    parser.add_argument("--version", action="version", version=f"svcpolicy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_arguments(sub.add_parser(command.NAME, help=command.HELP, description=command.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    command = next(c for c in COMMANDS if args.command == c.NAME)
    try:
        code: int = command.run(args)
        return code
    except SvcPolicyError as exc:
        print(f"svcpolicy: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"svcpolicy: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
