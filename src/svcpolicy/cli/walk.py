"""Record files under a folder, as ``svcpolicy check DIR`` finds them (the way ruff, semgrep and conftest walk).

A file is a record file by its extension; hidden folders and files (``.git``, ``.venv``) are skipped, and so are
named pipes, sockets and devices (which ``git`` does not track either); the result is sorted so that two runs
over the same tree report in the same order. ``include`` globs (or, without them, the project's
``[tool.svcpolicy.records]`` files) narrow the walk; ``exclude`` globs take files out.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

RECORD_EXTENSIONS = frozenset({".jsonl", ".ndjson", ".json", ".yaml", ".yml", ".csv"})


def matches(relative: str, patterns: Sequence[str]) -> bool:
    """Whether a slash-separated path relative to the walked folder matches a glob: the whole path (``*`` also
    crosses folders, ``**/`` may match no folder) or its file name alone (``*.csv``)."""
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.removeprefix("./")
        if fnmatchcase(relative, pattern) or fnmatchcase(name, pattern):
            return True
        if pattern.startswith("**/") and fnmatchcase(relative, pattern[3:]):
            return True
    return False


def record_files(
    folder: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    configured: Collection[Path] | None = None,
) -> list[Path]:
    """The record files under ``folder``, sorted by path.

    ``configured``: the resolved files of ``[tool.svcpolicy.records]``; when given (and no ``include``), only
    those are kept, so a waiver or baseline file next to the records is not read as records.
    """
    found: list[Path] = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            path = Path(root, name)
            if name.startswith(".") or path.suffix.lower() not in RECORD_EXTENSIONS or _special(path):
                continue
            relative = path.relative_to(folder).as_posix()
            if include and not matches(relative, include):
                continue
            if not include and configured is not None and path.resolve() not in configured:
                continue
            if exclude and matches(relative, exclude):
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _special(path: Path) -> bool:
    """Whether a path is a named pipe, socket or device: opening one would wait for a writer that never comes.
    A link to nothing is kept, so that reading it reports the file as missing."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
