"""Validated packs cached in the user's cache directory, keyed by the content of every file that makes them.

Reading a pack (the YAML with positions, then pydantic) is most of a short run's time: ~0.7 s of CPU for the
bundled pack, against ~0.01 s to unpickle the :class:`PackDefinition` it gives. What the engine compiles from is
its :class:`~svcpolicy.pack.spec.PackSpec`, plain values; its pydantic models stay pickled until something asks
for them, so a warm run does not import pydantic (:meth:`PackDefinition.__getstate__`), and each file's YAML
document stays packed until a position or value is asked of it (:mod:`svcpolicy.pack.yaml_document`). Compiled
rules are closures and cannot be pickled, so the definition is what is kept and the rules are compiled again each
run (from kept parse trees: see below).

Only pack directories are cached. The key covers the bytes of every file under the pack's directory and
its bases' (a rule file added or edited is a new key), svcpolicy's own code (size and mtime of its modules, so
an upgrade or an edit in a checkout never reads a stale definition) and the Python version. A cache that cannot
be read or written is ignored: the pack is read as if there were none. ``SVCPOLICY_CACHE_DIR`` moves the cache;
``off`` turns it off (:mod:`svcpolicy.user_cache`).

A verdict on a pack that depends on nothing else (lint's errors, which ``check`` asks for at every run) is kept
beside the definition, under the same key (:func:`cached_verdict`): a warm run skips it, an edited pack is
judged again. So is anything else derived from the definition alone (:func:`keep_with`): the parsed expressions
of a pack that compiled, which tell the next run it may compile rules as records reach them, without parsing.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import weakref
from collections.abc import Callable
from pathlib import Path

from svcpolicy._version import __version__
from svcpolicy.pack.definition import PackDefinition
from svcpolicy.user_cache import cache_dir, read_checked, write_checked

__all__ = ["cache_dir", "cached_verdict", "code_stamp", "keep_with", "kept_with", "read_pack_cached"]

_CODE = Path(__file__).resolve().parents[1]
KEEP_PACKS = 32
"""Cached definitions kept: the newest, by when they were written. An author editing a pack makes a new key at
each save, so without a bound the cache would grow for ever (verdicts are bounded the same way)."""

_KEYS: dict[int, str] = {}
"""The cache key of each live definition read through the cache, by ``id`` (a definition is not hashable); an
entry goes when its definition is collected."""


def read_pack(path: str | Path) -> PackDefinition:
    """:func:`svcpolicy.pack.loader.read_pack`, imported when a pack's files must be read (the cache misses, or a
    worker rebuilds a pack from its bytes): it brings the YAML parser, which a warm run never needs."""
    from svcpolicy.pack.loader import read_pack as read_files

    return read_files(path)


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
    data = read_checked(cached)  # None: missing, or damaged since it was written
    try:
        definition = None if data is None else pickle.loads(data)  # noqa: S301 - our own file, its digest checked
        if isinstance(definition, PackDefinition):
            _remember_key(definition, cached.stem.removeprefix("pack-"))
            return definition
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    definition = read_pack(path)
    key = _store(directory, entry, path, definition)
    if key is not None:
        _remember_key(definition, key)
    return definition


def cached_verdict(definition: PackDefinition, name: str, judge: Callable[[], list[str]]) -> list[str]:
    """``judge()``, a verdict on ``definition`` that depends only on the pack's files and svcpolicy's code (what
    lint refuses), kept under the key of a definition read through the cache: an edited pack has a new key and is
    judged again. A definition the cache did not give (a single-file pack, the cache off) is judged every time;
    a judge that raises leaves nothing behind."""
    stored = _kept_file(definition, "verdict", name, "json")
    if stored is None:
        return judge()
    data = read_checked(stored)
    try:
        verdict = None if data is None else json.loads(data)
        if isinstance(verdict, list) and all(isinstance(line, str) for line in verdict):
            return verdict
    except ValueError:
        pass
    verdict = judge()
    try:
        write_checked(stored, json.dumps(verdict, ensure_ascii=False).encode())
    except OSError:
        return verdict
    _prune(stored.parent, "verdict-*.json")
    return verdict


def kept_with(definition: PackDefinition, name: str) -> object | None:
    """What :func:`keep_with` kept as ``name`` with this definition's content (and this code); None when nothing
    is: never kept, the pack edited since, a definition the cache did not give, or a file that cannot be read."""
    kept = _kept_file(definition, "kept", name, "pickle")
    if kept is None:
        return None
    data = read_checked(kept)
    if data is None:
        return None
    try:
        value: object = pickle.loads(data)  # noqa: S301 - our own file in the user's own cache directory, checked
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return value


def keep_with(definition: PackDefinition, name: str, value: object) -> None:
    """Keep ``value`` (something derived from the definition alone, e.g. its parsed expressions) for the next run
    that reads the same pack with the same code; nothing for a definition the cache did not give."""
    kept = _kept_file(definition, "kept", name, "pickle")
    if kept is None:
        return
    try:
        write_checked(kept, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return
    _prune(kept.parent, "kept-*.pickle")


def _kept_file(definition: PackDefinition, prefix: str, name: str, suffix: str) -> Path | None:
    """The file of something kept with a definition read through the cache; None for any other definition."""
    directory = cache_dir()
    key = _KEYS.get(id(definition))
    if directory is None or key is None:
        return None
    return directory / f"{prefix}-{name}-{key}.{suffix}"


def _remember_key(definition: PackDefinition, key: str) -> None:
    _KEYS[id(definition)] = key
    weakref.finalize(definition, _KEYS.pop, id(definition), None)


def _pack_roots(definition: PackDefinition) -> list[Path]:
    """The directories of a pack and of every pack it extends."""
    roots: list[Path] = []
    pack: PackDefinition | None = definition
    while pack is not None:
        roots.append(pack.root.resolve())
        pack = pack.base
    return roots


def _recorded_roots(entry: Path) -> list[Path]:
    data = read_checked(entry)
    try:
        return [Path(line) for line in (data or b"").decode("utf-8").splitlines() if line]
    except UnicodeDecodeError:
        return []


def code_stamp() -> str:
    """svcpolicy's version, Python's, and the size and mtime of every svcpolicy module: two processes with equal
    stamps run the same code, so one reads the other's pickled definition as its own."""
    digest = hashlib.sha256(f"{__version__}\0{sys.version}\0".encode())
    for relative, entry in _files_under(_CODE):
        if relative.endswith(".py"):
            stat = entry.stat()
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:40]


def _digest(path: Path, roots: list[Path]) -> str:
    # the path as given too: the definition holds its files' paths as read (``rules/x/pack.yaml`` when given
    # ``rules/x``), which a run in another folder naming the same pack by another path could not open
    digest = hashlib.sha256(f"{code_stamp()}\0{path.resolve()}\0{path}\0".encode())
    for root in roots:
        for relative, entry in _files_under(root):
            digest.update(f"{relative}\0".encode())
            with open(entry.path, "rb") as stream:
                digest.update(hashlib.sha256(stream.read()).digest())
    return digest.hexdigest()[:40]


def _files_under(root: Path) -> list[tuple[str, os.DirEntry[str]]]:
    """Every file below ``root``, by its path relative to it, sorted; links to directories are not followed (as
    ``Path.rglob``). Listed with ``os.scandir``: the key is computed at every run, and ``rglob`` costs twice as much."""
    found: list[tuple[str, os.DirEntry[str]]] = []
    pending = [("", str(root))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:  # gone or unreadable: nothing listed, as rglob
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((f"{prefix}{entry.name}/", entry.path))
            elif entry.is_file():
                found.append((prefix + entry.name, entry))
    found.sort(key=lambda item: item[0])
    return found


def _store(directory: Path, entry: Path, path: Path, definition: PackDefinition) -> str | None:
    """Write the definition (atomically: a concurrent run reads the old file or the new one, never half);
    returns its key, None when it could not be written."""
    roots = _pack_roots(definition)
    key = _digest(path, roots)
    try:
        write_checked(entry, "\n".join(map(str, roots)).encode())
        write_checked(directory / f"pack-{key}.pickle", pickle.dumps(definition, pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return None
    _prune(directory, "pack-*.pickle")
    return key


def _prune(directory: Path, pattern: str) -> None:
    """Remove all but the newest ``KEEP_PACKS`` files of a kind (a file another run removes first is fine)."""
    try:
        entries = sorted(directory.glob(pattern), key=lambda file: file.stat().st_mtime_ns, reverse=True)
        for stale in entries[KEEP_PACKS:]:
            stale.unlink(missing_ok=True)
    except OSError:
        return
