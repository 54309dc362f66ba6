"""The ``svcpolicy`` command: a compliance gate for pre-commit and CI.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it (or invalid records); 2 usage
errors, a broken pack, or an input that could not be read (the other inputs are still checked); 3 an
internal error (a bug in svcpolicy: one line, and the traceback under --debug).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from svcpolicy._version import __version__
from svcpolicy.cli.commands import COMMANDS
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_INTERNAL
from svcpolicy.errors import SvcPolicyError

DEBUG_HELP = "on an internal error, print its traceback"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="svcpolicy", description="Check service records against rule packs.")
    parser.add_argument("--version", action="version", version=f"svcpolicy {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        subparser = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(subparser)
        # also after the command name; SUPPRESS keeps a --debug given before it
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
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
    except Exception as exc:  # a bug: its own exit code, so CI tells a crash from a finding
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        else:
            message = " ".join(str(exc).split())[:300]
            print(
                f"svcpolicy: internal error: {type(exc).__name__}: {message} (a bug in svcpolicy; "
                "--debug shows the traceback)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
