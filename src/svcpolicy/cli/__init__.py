"""The ``svcpolicy`` command line: argument parsing, project configuration, progress and one module per command."""

from svcpolicy.cli.main import main

__all__ = ["main"]
