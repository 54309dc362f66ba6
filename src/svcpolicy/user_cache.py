"""svcpolicy's own files in the user's cache directory: where they live, and how one is written safely.

Validated packs (:mod:`svcpolicy.pack.cache`) and the official holiday table (:mod:`svcpolicy.calendar`) are kept
here so that a short run does not rebuild them. ``SVCPOLICY_CACHE_DIR`` moves the directory; ``off`` turns every
cache off. A cache that cannot be read or written is ignored by its users.

Every file is written with a digest of its bytes and read only when they still match it: a pickle holds no check
of its own, and a bit flipped on disk inside a cached rule's constant would otherwise change findings silently.
A damaged file reads as missing, so its user rebuilds it from the source. So does a file another user owns or may
write (a cache directory shared through ``SVCPOLICY_CACHE_DIR``): a digest proves no author, and a pickle planted
there would run its code in every check that loads it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

__all__ = ["cache_dir", "read_checked", "write_checked"]

_MAGIC = b"svcpolicy-cache-1\n"
"""What a checked file starts with, before the sha256 digest of the bytes after it."""
_HEADER = len(_MAGIC) + hashlib.sha256().digest_size


def cache_dir() -> Path | None:
    """Where cached files live: ``$SVCPOLICY_CACHE_DIR``, else the platform's user cache; None when off."""
    configured = os.environ.get("SVCPOLICY_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "svcpolicy"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "svcpolicy" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svcpolicy"


def write_checked(target: Path, data: bytes) -> None:
    """Write ``data`` with its digest, so that a concurrent reader sees the old file or the new one, never half of
    it, and :func:`read_checked` tells a damaged file from a good one. Raises OSError when it cannot write."""
    import tempfile  # only when writing: it brings shutil and the compression modules

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as temporary:
        temporary.write(_MAGIC + hashlib.sha256(data).digest() + data)
    os.replace(temporary.name, target)


def read_checked(target: Path) -> bytes | None:
    """The data :func:`write_checked` wrote to ``target``; None when there is none to trust: the file is missing
    or unreadable, owned or writable by another user, was written by another format, or its bytes no longer match
    their digest (cut short, a flipped bit)."""
    try:  # without blocking: a named pipe put in the cache's place is refused, not waited on
        with open(os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
            if not _trusted(os.fstat(file.fileno())):
                return None
            raw = file.read()
    except OSError:
        return None
    if not raw.startswith(_MAGIC) or hashlib.sha256(memoryview(raw)[_HEADER:]).digest() != raw[len(_MAGIC) : _HEADER]:
        return None
    return raw[_HEADER:]


def _trusted(status: os.stat_result) -> bool:
    """Whether a cache file is this user's own: a regular file they own that no one else may write."""
    getuid = getattr(os, "getuid", None)  # Windows has no owners to compare here
    if getuid is None:
        return stat.S_ISREG(status.st_mode)
    return stat.S_ISREG(status.st_mode) and status.st_uid == getuid() and not status.st_mode & 0o022
