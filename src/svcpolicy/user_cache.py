"""svcpolicy's own files in the user's cache directory: where they live, and how one is written safely.

Validated packs (:mod:`svcpolicy.pack.cache`) and the official holiday table (:mod:`svcpolicy.calendar`) are kept
here so that a short run does not rebuild them. ``SVCPOLICY_CACHE_DIR`` moves the directory; ``off`` turns every
cache off. A cache that cannot be read or written is ignored by its users.

Every file is written with a digest of its bytes and read only when they still match it: a pickle holds no check
of its own, and a bit flipped on disk inside a cached rule's constant would otherwise change findings silently.
A damaged file reads as missing, so its user rebuilds it from the source.
"""

from __future__ import annotations

import hashlib
import os
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
    or unreadable, was written by another format, or its bytes no longer match their digest (cut short, a flipped
    bit)."""
    try:
        raw = target.read_bytes()
    except OSError:
        return None
    if not raw.startswith(_MAGIC) or hashlib.sha256(memoryview(raw)[_HEADER:]).digest() != raw[len(_MAGIC) : _HEADER]:
        return None
    return raw[_HEADER:]
