"""svcpolicy's own files in the user's cache directory: where they live, and how one is written safely.

Validated packs (:mod:`svcpolicy.pack.cache`) and the official holiday table (:mod:`svcpolicy.calendar`) are kept
here so that a short run does not rebuild them. ``SVCPOLICY_CACHE_DIR`` moves the directory; ``off`` turns every
cache off. A cache that cannot be read or written is ignored by its users.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir", "write_atomically"]


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


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` so that a concurrent reader sees the old file or the new one, never half of it."""
    import tempfile  # only when writing: it brings shutil and the compression modules

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as temporary:
        temporary.write(data)
    os.replace(temporary.name, target)
