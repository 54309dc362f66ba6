"""The ``svcpolicy`` command: a compliance gate for pre-commit and CI.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it (or invalid records); 2 usage
errors, a broken pack, or an input that could not be read (the other inputs are still checked); 3 an
internal error (a bug in svcpolicy: one line, and the traceback under --debug); 130 stopped by Ctrl-C (no report
file or baseline is left half-written); 141 the output's reader stopped early (``… | head``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from svcpolicy._version import __version__
from svcpolicy.cli.commands import COMMANDS, COMMANDS_BY_NAME
from svcpolicy.cli.exits import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OUTPUT_CLOSED
from svcpolicy.errors import SvcPolicyError

DEBUG_HELP = "on an internal error, print its traceback"


class _LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subcommands, each given its arguments (its module imported) only when the command line names it.

    argparse calls this action with the command's name before the command's parser reads the rest of the line
    (``--help`` included), so the help of every command and of ``svcpolicy`` itself reads as if all were built.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._with_arguments: set[str] = set()  # the commands whose parsers have their arguments

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name = values[0]
        subparser = self._name_parser_map.get(name)
        if subparser is not None and name not in self._with_arguments:
            self._with_arguments.add(name)
            COMMANDS_BY_NAME[name].load().add_arguments(subparser)
            # also after the command name; SUPPRESS keeps a --debug given before it
            subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; a command's module is imported when a parse names that command."""
    parser = argparse.ArgumentParser(prog="svcpolicy", description="Check service records against rule packs.")
    parser.add_argument("--version", action="version", version=f"svcpolicy {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, action=_LazyCommands)
    for command in COMMANDS:
        sub.add_parser(command.name, help=command.help, description=command.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    command = COMMANDS_BY_NAME[args.command].load()
    try:
        code: int = command.run(args)
        sys.stdout.flush()  # here, not at exit: a reader gone by now is told apart below
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OUTPUT_CLOSED
    except KeyboardInterrupt:
        print("svcpolicy: interrupted; the run did not finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SvcPolicyError as exc:
        print(f"svcpolicy: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"svcpolicy: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: its own exit code, so CI tells a crash from a finding
        if args.debug:
            import traceback  # only for a crash: it brings textwrap and linecache

            traceback.print_exc(file=sys.stderr)
        else:
            message = " ".join(str(exc).split())[:300]
            print(
                f"svcpolicy: internal error: {type(exc).__name__}: {message} (a bug in svcpolicy; "
                "--debug shows the traceback)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    """Point stdout at the null device: what is still buffered for the closed pipe would fail again at exit."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


if __name__ == "__main__":
    sys.exit(main())
