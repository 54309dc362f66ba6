"""Validated packs cached in the user's cache directory, keyed by the content of every file that makes them.

Reading a pack (the YAML with positions, then pydantic) is most of a short run's time: ~0.7 s of CPU for the
bundled pack, against ~0.06 s to unpickle the :class:`PackDefinition` it gives. Compiled rules are closures
and cannot be pickled, so the definition is what is kept; compiling it again is cheap.

Only pack directories are cached. The key covers the bytes of every file under the pack's directory and
its bases' (a rule file added or edited is a new key), svcpolicy's own code (size and mtime of its modules, so
an upgrade or an edit in a checkout never reads a stale definition) and the Python version. A cache that cannot
be read or written is ignored: the pack is read as if there were none. ``SVCPOLICY_CACHE_DIR`` moves the cache;
``off`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from svcpolicy._version import __version__
from svcpolicy.pack.definition import PackDefinition
from svcpolicy.pack.loader import read_pack

__all__ = ["cache_dir", "read_pack_cached"]

_CODE = Path(__file__).resolve().parents[1]


def cache_dir() -> Path | None:
    """Where cached packs live: ``$SVCPOLICY_CACHE_DIR``, else the platform's user cache; None when off."""
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


def read_pack_cached(path: Path) -> PackDefinition:
    """:func:`~svcpolicy.pack.loader.read_pack`, from the cache when nothing it depends on has changed."""
    directory = cache_dir()
    if directory is None or not path.is_dir():
        # a single-file pack lives beside other things (a project's root, a temporary folder): hashing its
        # folder to build the key could cost more than reading the pack, so only pack directories are cached
        return read_pack(path)
    entry = directory / f"roots-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]}.txt"
    roots = _recorded_roots(entry) or [path.resolve()]
    cached = directory / f"pack-{_digest(path, roots)}.pickle"
    try:
        with cached.open("rb") as stream:
            definition = pickle.load(stream)  # noqa: S301 - our own file in the user's own cache directory
        if isinstance(definition, PackDefinition):
            return definition
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    definition = read_pack(path)
    _store(directory, entry, path, definition)
    return definition


def _pack_roots(definition: PackDefinition) -> list[Path]:
    """The directories of a pack and of every pack it extends."""
    roots: list[Path] = []
    pack: PackDefinition | None = definition
    while pack is not None:
        roots.append(pack.root.resolve())
        pack = pack.base
    return roots


def _recorded_roots(entry: Path) -> list[Path]:
    try:
        return [Path(line) for line in entry.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, UnicodeDecodeError):
        return []


def _digest(path: Path, roots: list[Path]) -> str:
    digest = hashlib.sha256(f"{__version__}\0{sys.version}\0{path.resolve()}\0".encode())
    for module in sorted(_CODE.rglob("*.py")):
        stat = module.stat()
        digest.update(f"{module.relative_to(_CODE)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    for root in roots:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(f"{file.relative_to(root)}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:40]


def _store(directory: Path, entry: Path, path: Path, definition: PackDefinition) -> None:
    """Write the definition (atomically: a concurrent run reads the old file or the new one, never half)."""
    roots = _pack_roots(definition)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for target, data in (
            (entry, "\n".join(map(str, roots)).encode()),
            (directory / f"pack-{_digest(path, roots)}.pickle", pickle.dumps(definition, pickle.HIGHEST_PROTOCOL)),
        ):
            with tempfile.NamedTemporaryFile(dir=directory, delete=False) as temporary:
                temporary.write(data)
            os.replace(temporary.name, target)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return
