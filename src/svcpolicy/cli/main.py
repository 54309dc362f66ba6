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
    _usable_standard_streams()
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


def _usable_standard_streams() -> None:
    """Standard streams every command can write to, whatever the shell gave.

    A closed stream (``>&-``) is opened again on the null device, said once on stderr: else the next file
    opened (a report, the monitor's state) would take its number and receive what is written to the stream,
    and the first ``print`` would crash. A stdout whose encoding cannot hold the reports' Chinese (a Latin-1
    or ASCII terminal) writes what it cannot encode as ``\\u68c0`` escapes, which JSON reads back as the
    same text, rather than failing after the run.
    """
    closed = []
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(number)
        except OSError:
            opened = os.open(os.devnull, os.O_RDONLY if number == 0 else os.O_WRONLY)  # the lowest free number
            if getattr(sys, name) is None:
                setattr(sys, name, open(opened, "r" if number == 0 else "w", encoding="utf-8", closefd=False))  # noqa: SIM115 - the stream for the whole run
            closed.append(f"{name} is closed: {'read as empty' if number == 0 else 'what it would show is discarded'}")
    if closed:
        print(f"svcpolicy: {'; '.join(closed)}", file=sys.stderr)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and (sys.stdout.encoding or "").lower().replace("_", "-") not in _UNICODE:
        reconfigure(errors="backslashreplace")


_UNICODE = frozenset({"utf-8", "utf8", "utf-16", "utf-32", "gb18030"})
"""Encodings that hold every character a report may write."""


def _silence_stdout() -> None:
    """Point stdout at the null device: what is still buffered for the closed pipe would fail again at exit."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


if __name__ == "__main__":
    sys.exit(main())
