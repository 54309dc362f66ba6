"""Subcommands of the ``svcpolicy`` command, one module each.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; adding a
command means adding a module and naming it in ``COMMANDS``.
"""

from __future__ import annotations

from types import ModuleType

from svcpolicy.cli.commands import (
    calendar,
    check,
    coverage,
    event_schema,
    explain,
    init_pack,
    lint,
    schema,
    test,
    watch,
)

COMMANDS: tuple[ModuleType, ...] = (
    check,
    schema,
    coverage,
    explain,
    lint,
    test,
    init_pack,
    watch,
    event_schema,
    calendar,
)
