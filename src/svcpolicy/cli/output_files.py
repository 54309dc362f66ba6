"""The files a check writes: made sure of before any record is read, and in place only once the run has finished.

An output that names a folder, sits under a file, or lies where nothing may be written is a usage error that names
the option and the path, before the pack is compiled or a record read, instead of an errno after the work. A
regular file is written to a hidden file beside it and renamed over it when the run ends, so a run that stops
before its end (Ctrl-C, an error) leaves the previous report (or none), never half of one a CI job could take for
a finished report. A
device or a pipe (``/dev/stdout``, ``$GITHUB_STEP_SUMMARY`` on a runner that makes it a pipe) is written in place.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TextIO

from svcpolicy.cli.config import ConfigError
from svcpolicy.replaced_file import hidden_beside, put_in_place, written_in_place


def refuse_unwritable(option: str, path: Path) -> None:
    """Raise :class:`ConfigError` unless ``path`` can be written: its missing folders are made here (as they always
    were), and a folder, a path under a file, or a file or folder the user may not write is refused."""
    if path.is_dir():
        raise ConfigError(f"{option} {path}: that is a folder; name a file to write")
    blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"{option} {path}: {blocker} is a file, not a folder")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot make the folder {folder}: {exc.strerror}") from exc
    if path.is_file():  # opened to append, which changes nothing, so that a file not even root may write is told
        try:
            path.open("ab").close()
        except OSError as exc:
            raise ConfigError(f"{option} {path}: cannot write it: {exc.strerror}") from exc
    elif not path.exists() and not os.access(folder, os.W_OK):
        raise ConfigError(f"{option} {path}: the folder {folder} is not writable")


class OutputFiles:
    """The output files of one run; :meth:`finish` puts them in place, leaving the context without it discards
    what was written to regular files."""

    def __init__(self) -> None:
        self._open: list[tuple[TextIO, Path | None, Path]] = []  # (stream, hidden file or None, target)
        self._finished = False

    def __enter__(self) -> OutputFiles:
        return self

    def open(self, option: str, path: Path, encoding: str) -> TextIO:
        """A text stream for ``path``; an error is the option and the path, not an errno."""
        in_place = written_in_place(path)
        target, hidden = hidden_beside(path, str(len(self._open)))
        written = path if in_place else hidden
        try:
            stream = written.open("w", encoding=encoding, newline="")
        except OSError as exc:
            raise ConfigError(f"{option} {path}: cannot write it: {exc.strerror}") from exc
        self._open.append((stream, None if in_place else written, target))
        return stream

    def finish(self) -> None:
        """Close every file and put the regular ones in place."""
        for stream, hidden, target in self._open:
            stream.close()
            if hidden is not None:
                put_in_place(hidden, target)
        self._finished = True

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._finished:
            return
        for stream, hidden, _ in self._open:
            with suppress(OSError):  # the run failed already; a full disk need not say so twice
                stream.close()
            if hidden is not None:
                hidden.unlink(missing_ok=True)
