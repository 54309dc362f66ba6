"""A compiled pack that can travel to another process or machine: sent as its pack's content, never as closures.

Compiled rules are closures, which do not pickle. What does is where they came from: the bytes of every pack file
(base packs included) with a digest, and the holiday calendar's data. A process that receives a pack rebuilds it
once and keeps it (:data:`_BUILT`), so a worker compiles each pack once however many tasks it runs.

Reading the files again (YAML with positions, then pydantic) would be most of a worker's start-up: ~1 s of CPU for
the bundled pack, against ~0.1 s to unpickle the validated :class:`PackDefinition`. So the definition travels too
(:class:`ValidatedPack`), and a process whose svcpolicy code has the sender's stamp takes it as it is; any other
reads the files, from their own paths when those hold the same bytes, else from a private copy.
"""

from __future__ import annotations

import hashlib
import pickle
import weakref
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.errors import PackError
from svcpolicy.frozen import Frozen
from svcpolicy.pack.cache import code_stamp, read_pack
from svcpolicy.pack.definition import PackDefinition


class Buildable(Protocol):
    """What can be rebuilt from a pack: ``CompiledPack`` and its subclasses."""

    definition: PackDefinition
    calendar: HolidayCalendar

    def __init__(self, pack: PackDefinition, *, calendar: HolidayCalendar) -> None: ...


B = TypeVar("B", bound=Buildable)


class ValidatedPack:
    """A pack's validated definition on its way to another process: pickled at most once by the sender (when the
    pack is first sent), unpickled at most once by a receiver, and only when it runs the sender's code."""

    def __init__(self, definition: PackDefinition | None, stamp: str = "", data: bytes = b"") -> None:
        self._definition = definition
        self._stamp = stamp
        self._data = data

    def __reduce__(self) -> tuple[type[ValidatedPack], tuple[None, str, bytes]]:
        if not self._data:
            self._stamp, self._data = _own_code_stamp(), pickle.dumps(self._definition, pickle.HIGHEST_PROTOCOL)
        return (ValidatedPack, (None, self._stamp, self._data))

    def definition(self) -> PackDefinition | None:
        """The definition, or None when this process runs other code than the sender's (it reads the files)."""
        if self._definition is None and self._data and self._stamp == _own_code_stamp():
            received = pickle.loads(self._data)  # noqa: S301 - sent by the process that holds this policy
            self._definition = received if isinstance(received, PackDefinition) else None
        return self._definition


@cache
def _own_code_stamp() -> str:
    """This process's code stamp: its modules do not change under it (an edit takes effect in the next process)."""
    return code_stamp()


class PackSource(Frozen):
    """A pack as content: the manifest it was loaded from, and every file's path and bytes, with their digest;
    and, to spare the receiver reading them again, the validated definition they gave here (not compared, not
    shown: it is not part of what the pack is)."""

    _fields = ("entry", "files", "digest")
    entry: str
    files: tuple[tuple[str, bytes], ...]
    digest: str
    validated: ValidatedPack

    def __init__(
        self, entry: str, files: tuple[tuple[str, bytes], ...], digest: str, validated: ValidatedPack | None = None
    ) -> None:
        self.__dict__.update(
            entry=entry, files=files, digest=digest, validated=ValidatedPack(None) if validated is None else validated
        )

    @classmethod
    def of(cls, definition: PackDefinition) -> PackSource:
        received = _RECEIVED.get(id(definition))
        if received is not None:  # its files may be on another machine only: the source it came with
            return received
        files = tuple((str(path), Path(path).read_bytes()) for path in definition.files)
        return cls(
            str(own_manifest(definition)), files, content_digest(data for _, data in files), ValidatedPack(definition)
        )


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


_RECEIVED: dict[int, PackSource] = {}
"""The source of each definition being compiled from a :class:`ValidatedPack` (by ``id``), while it is."""
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
    """Compile the pack from the definition sent when this process can read it; else from its own files when
    they hold the bytes sent, else from a private copy of them."""
    definition = source.validated.definition()
    if definition is not None:
        _RECEIVED[id(definition)] = source
        try:
            return kind(definition, calendar=calendar)
        finally:
            del _RECEIVED[id(definition)]
    if all(_holds(Path(path), data) for path, data in source.files):
        return kind(_checked(read_pack(source.entry), source), calendar=calendar)
    import tempfile  # only when the files sent are not here: a warm check never gets this far

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
