"""A compiled pack that can travel to another process or machine: sent as its pack's content, never as closures.

Compiled rules are closures, which do not pickle. What does is where they came from: the bytes of every pack file
(base packs included) with a digest, and the holiday calendar's data. A process that receives a pack rebuilds it
once and keeps it (:data:`_BUILT`), so a worker compiles each pack once however many tasks it runs. The files are
read from their own paths when those hold the same bytes (a worker on the same machine), else from a private copy.
"""

from __future__ import annotations

import hashlib
import tempfile
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.errors import PackError
from svcpolicy.pack.definition import PackDefinition
from svcpolicy.pack.loader import read_pack


class Buildable(Protocol):
    """What can be rebuilt from a pack: ``CompiledPack`` and its subclasses."""

    definition: PackDefinition
    calendar: HolidayCalendar

    def __init__(self, pack: PackDefinition, *, calendar: HolidayCalendar) -> None: ...


B = TypeVar("B", bound=Buildable)


@dataclass(frozen=True)
class PackSource:
    """A pack as content: the manifest it was loaded from, and every file's path and bytes, with their digest."""

    entry: str
    files: tuple[tuple[str, bytes], ...]
    digest: str

    @classmethod
    def of(cls, definition: PackDefinition) -> PackSource:
        files = tuple((str(path), Path(path).read_bytes()) for path in definition.files)
        return cls(str(own_manifest(definition)), files, content_digest(data for _, data in files))


def own_manifest(definition: PackDefinition) -> Path:
    """The manifest the pack was loaded from (its base packs' files come first in ``files``)."""
    return definition.files[len(definition.base.files) if definition.base is not None else 0]


def content_digest(contents: Iterable[bytes]) -> str:
    """sha256 over the files' bytes in pack order: equal digests, equal packs."""
    digest = hashlib.sha256()
    for data in contents:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return "sha256:" + digest.hexdigest()


_BUILT: dict[tuple[type, str, HolidayCalendar], Any] = {}
"""Packs rebuilt in this process from content sent to it: kept, so later tasks reuse them."""
_LOADED: weakref.WeakValueDictionary[tuple[type, str, HolidayCalendar], Any] = weakref.WeakValueDictionary()
"""Packs this process compiled itself: found again while they live, never kept alive for it."""


def remember(pack: Buildable, source: PackSource) -> None:
    """Make ``pack`` what this process gets back when it unpickles its own source: no second compile."""
    _LOADED.setdefault((type(pack), source.digest, pack.calendar), pack)


def rebuild(kind: type[B], source: PackSource, calendar: HolidayCalendar) -> B:
    """The compiled pack for ``source``: built at most once per process (the unpickling side of ``__reduce__``)."""
    key = (kind, source.digest, calendar)
    built: B | None = _LOADED.get(key) or _BUILT.get(key)
    if built is None:
        built = _BUILT[key] = _build(kind, source, calendar)
    return built


def _build(kind: type[B], source: PackSource, calendar: HolidayCalendar) -> B:
    """Compile the pack from its own files when they hold the bytes sent, else from a private copy of them."""
    if all(_holds(Path(path), data) for path, data in source.files):
        return kind(_checked(read_pack(source.entry), source), calendar=calendar)
    with tempfile.TemporaryDirectory(prefix="svcpolicy-pack-") as copy:
        for path, data in source.files:
            target = Path(copy) / Path(path).relative_to(Path(path).anchor)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        entry = Path(copy) / Path(source.entry).relative_to(Path(source.entry).anchor)
        return kind(_checked(read_pack(entry), source), calendar=calendar)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _checked(definition: PackDefinition, source: PackSource) -> PackDefinition:
    """Refuse a rebuilt pack whose files differ from those sent (e.g. a base pack resolved to another release)."""
    digest = content_digest(Path(path).read_bytes() for path in definition.files)
    if digest != source.digest:
        raise PackError(f"pack {source.entry} rebuilt here differs from the one sent ({digest} != {source.digest})")
    return definition
