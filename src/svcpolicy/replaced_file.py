"""Files put in place whole: written under a hidden name beside their target and renamed over it.

A report or baseline a CI job reads must be the previous one or the new one, never half of one left by an
interrupted run. A device or a pipe (``/dev/stdout``) is written in place instead: a rename would replace it.
"""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path

__all__ = ["hidden_beside", "put_in_place", "write_replacing", "written_in_place"]


def written_in_place(path: Path) -> bool:
    """Whether ``path`` is a device, a pipe or another file that is not a regular one: written, never replaced."""
    return path.exists() and not path.is_file()


def hidden_beside(path: Path, tag: str) -> tuple[Path, Path]:
    """The file ``path`` names (through a symbolic link, as writing in place went) and a short hidden name beside
    it to write first (short, so that a file name near the system's length limit can still be written)."""
    target = Path(os.path.realpath(path))
    return target, target.with_name(f".svcpolicy-{os.getpid()}-{tag}.part")


def put_in_place(written: Path, target: Path) -> None:
    """Rename ``written`` over ``target``, which keeps the permissions it was given."""
    with suppress(FileNotFoundError):  # no target yet: the new file's own permissions stand
        os.chmod(written, stat.S_IMODE(target.stat().st_mode))
    os.replace(written, target)


def write_replacing(path: Path, text: str, tag: str) -> None:
    """Write ``text`` (UTF-8) as the whole of ``path``, its missing folders made, by a hidden file and a rename."""
    if written_in_place(path):
        path.write_text(text, encoding="utf-8")
        return
    target, hidden = hidden_beside(path, tag)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        hidden.write_text(text, encoding="utf-8")
        put_in_place(hidden, target)
    finally:
        hidden.unlink(missing_ok=True)
