"""Reading a small file whole, at most so many bytes.

A path named on the command line or in a config may be a device or a pipe (``/dev/zero``) that never ends, or a
file far larger than its kind ever is; ``read_at_most`` stops after the limit, so the caller refuses it with its
own located error instead of running out of memory.
"""

from __future__ import annotations

from pathlib import Path


def read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit``; an unreadable file raises ``OSError``."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    return None if len(data) > limit else data
