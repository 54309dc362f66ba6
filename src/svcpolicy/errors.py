"""The exceptions svcpolicy raises, as one hierarchy so callers can catch broadly or narrowly."""

from __future__ import annotations

import re
from collections.abc import Sequence

from svcpolicy.frozen import Frozen


class SourceLocation(Frozen):
    """Where something was written: a file, a 1-based line and column (0 when unknown)."""

    _fields = ("file", "line", "column")
    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int = 0, column: int = 0) -> None:
        self.__dict__.update(file=file, line=line, column=column)

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
UNSHOWN_KEY = "(a key that is no field name, not shown)"


def shown_loc(loc: Sequence[int | str], error_type: str) -> tuple[int | str, ...]:
    """A validation error's path as a message may quote it. An unknown key (``extra_forbidden``) is quoted only
    when it looks like a misspelt field (``expries``); any other is located, never quoted: a waiver, pack or
    holiday file that is a link to a secret (``/etc/shadow``, whose lines parse as YAML keys) must not print it
    into a CI log."""
    if error_type == "extra_forbidden" and loc and not _FIELD_NAME.fullmatch(str(loc[-1])):
        return (*loc[:-1], UNSHOWN_KEY)
    return tuple(loc)


class SvcPolicyError(Exception):
    """Base class of every error svcpolicy raises on purpose."""


class UsageError(SvcPolicyError, ValueError):
    """The library was called wrongly: a naive ``as_of``, an unknown engine, an argument out of range.

    Also a ``ValueError``, so callers that caught the ``ValueError`` raised before keep working.
    """


class InputTypeError(UsageError, TypeError):
    """What was given as records is none of the accepted kinds (a path, a mapping, a model, or an iterable of these).

    Also a ``TypeError``, what Python raises for an argument of the wrong type.
    """


class LocatedError(SvcPolicyError):
    """An error tied to a place in a file; ``str()`` reads ``file:line:col: message``."""

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class PackError(LocatedError):
    """A rule pack is malformed: bad YAML, schema violation, unknown citation, unsafe expression."""


class PackErrors(SvcPolicyError):
    """Several pack errors found in one load, reported together so an author fixes them in one pass."""

    def __init__(self, errors: list[PackError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ExpressionError(PackError):
    """An expression in a pack is not in the language or breaks one of its limits."""


class InputError(LocatedError):
    """An input file cannot be read at all (missing, unreadable encoding, unknown format)."""


class CalendarNotCovered(SvcPolicyError):
    """A date falls in a year for which no official holiday schedule is known."""

    def __init__(self, year: int, known: tuple[int, int]) -> None:
        self.year = year
        self.known = known
        super().__init__(f"the PRC holiday schedule for {year} is not known (known years: {known[0]}–{known[1]})")


class YearFileError(LocatedError):
    """A supplementary year file is unreadable, malformed, or inconsistent with the other schedules."""
