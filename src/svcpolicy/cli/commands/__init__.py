"""Subcommands of the ``svcpolicy`` command, one module each, imported only when the command line names it.

``COMMANDS`` lists each command's name and one-line help (all that ``svcpolicy --help`` shows) and the module
that holds its ``add_arguments(parser)`` and ``run(args) -> int``: a run of ``check`` does not pay for importing
what ``calendar`` or ``watch`` need. Adding a command means adding a module and a line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    """A subcommand as the parser lists it, and the module (under this package) that implements it."""

    name: str
    help: str
    module: str

    def load(self) -> ModuleType:
        """The command's module, imported on first use."""
        return importlib.import_module(f"{__name__}.{self.module}")


COMMANDS: tuple[Command, ...] = (
    Command("check", "check record files against a rule pack", "check"),
    Command("schema", "print the JSON Schema of a service-interaction record", "schema"),
    Command("coverage", "show which provisions a pack checks, and with which rules", "coverage"),
    Command(
        "explain",
        "explain an article (第十六条, svc-rules/16) or a rule (SVC-016-…): text, rules, conditions, examples",
        "explain",
    ),
    Command(
        "lint", "lint rule packs: schema, field paths against the record model, citations, constant conditions", "lint"
    ),
    Command("test", "run rule packs' embedded examples and test files; prints `N passed, M failed`", "test"),
    Command(
        "init-pack",
        "scaffold a rule pack (with --extends: a branch overlay on a base pack) with an example rule and test",
        "init_pack",
    ),
    Command(
        "watch", "watch an event stream (JSON Lines) for sequence-rule findings; prints them as JSON Lines", "watch"
    ),
    Command("event-schema", "print the JSON Schema of a monitor event (see docs/events.md)", "event_schema"),
    Command(
        "calendar",
        "show the years whose PRC holiday schedule is known; warn when the last one is about to end",
        "calendar",
    ),
)
COMMANDS_BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}
