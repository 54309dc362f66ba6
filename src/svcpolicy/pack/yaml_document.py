"""A loaded YAML file as kept: its value and where each path inside it was written, without the YAML parser.

Split from :mod:`svcpolicy.pack.yaml_source` (which parses), so a pack read from the cache brings no YAML parser:
its definition holds a document per file, for the positions of the errors and of the expressions.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from svcpolicy.errors import SourceLocation

Loc = tuple[str | int, ...]


class YamlDocument:
    """A loaded YAML file: its value, and the line and column of every path inside it.

    Pickled as its file name and two blobs, the value and the positions, each unpickled on first use: a cached
    pack holds every file's document (rule files, parameter tables, source texts), and a warm run reads a few of
    them only to place the expressions of the rules its records reach (an error's position), and no value.

    The positions are kept in groups, by a path's first :data:`GROUP_DEPTH` steps (one rule's ``when``, its
    ``let``, its ``examples``), each group pickled on its own: placing a rule's expressions unpickles their few
    positions, not the thousands of its file's examples, which only ``svcpolicy test`` places.
    """

    def __init__(
        self,
        file: str,
        value: Any,
        positions: dict[Loc, tuple[int, int]] | None = None,
        quoted: set[Loc] | None = None,
    ) -> None:
        self.file = file
        self._value: _Lazy[Any] = _Lazy(value)
        self._groups: _Lazy[dict[Loc, _Group | bytes]] = _Lazy(_grouped(positions or {}, quoted or set()))

    def __reduce__(self) -> tuple[Callable[[str, bytes, bytes], YamlDocument], tuple[str, bytes, bytes]]:
        groups = self._groups
        if not groups.is_packed():  # its groups packed one by one, each as read (packed already, or pickled now)
            groups = _Lazy({prefix: _packed_group(group) for prefix, group in groups.get().items()})
        return (_packed_document, (self.file, self._value.packed(), groups.packed()))

    @property
    def value(self) -> Any:
        return self._value.get()

    @property
    def positions(self) -> dict[Loc, tuple[int, int]]:
        """The 1-based line and column of each path written in the file."""
        return {loc: where for prefix in self._groups.get() for loc, where in self._group(prefix)[0].items()}

    @property
    def quoted(self) -> set[Loc]:
        """The paths of the scalars written in quotes."""
        return {loc for prefix in self._groups.get() for loc in self._group(prefix)[1]}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, YamlDocument):
            return NotImplemented
        return (self.file, self.value, self.positions, self.quoted) == (
            other.file,
            other.value,
            other.positions,
            other.quoted,
        )

    __hash__ = None  # type: ignore[assignment]  # equal by content, which is mutable

    def __repr__(self) -> str:
        return f"YamlDocument(file={self.file!r}, value={self.value!r})"

    def location(self, loc: Loc) -> SourceLocation:
        """Position of ``loc``, or of its nearest written ancestor."""
        for end in range(len(loc), -1, -1):
            path = loc[:end]
            found = self._group(path[:GROUP_DEPTH])[0].get(path)
            if found is not None:
                return SourceLocation(self.file, *found)
        return SourceLocation(self.file)

    def expression_location(self, loc: Loc) -> SourceLocation:
        """Position of the first character of a scalar's text (inside its quotes, if quoted)."""
        where = self.location(loc)
        if loc in self._group(loc[:GROUP_DEPTH])[1]:
            return SourceLocation(where.file, where.line, where.column + 1)
        return where

    def _group(self, prefix: Loc) -> _Group:
        """The positions and quoted paths under ``prefix`` (empty when none), unpickled the first time asked."""
        groups = self._groups.get()
        group = groups.get(prefix, _NO_GROUP)
        if isinstance(group, bytes):
            group = pickle.loads(group)  # noqa: S301 - packed by _packed_group, in the pack cache's file
            groups[prefix] = group
        return group


GROUP_DEPTH = 3
"""How many first steps of a path name its group of positions: ``("rules", 4, "when")`` in a rule file."""

_Group = tuple[dict[Loc, tuple[int, int]], frozenset[Loc]]
"""The positions of the paths of one group, and which of them are quoted scalars."""

_NO_GROUP: _Group = ({}, frozenset())


def _grouped(positions: dict[Loc, tuple[int, int]], quoted: set[Loc]) -> dict[Loc, _Group | bytes]:
    """Positions and quoted paths split by their path's first :data:`GROUP_DEPTH` steps."""
    groups: dict[Loc, tuple[dict[Loc, tuple[int, int]], set[Loc]]] = {}
    for loc, where in positions.items():
        groups.setdefault(loc[:GROUP_DEPTH], ({}, set()))[0][loc] = where
    for loc in quoted:
        groups.setdefault(loc[:GROUP_DEPTH], ({}, set()))[1].add(loc)
    return {prefix: (found, frozenset(marked)) for prefix, (found, marked) in groups.items()}


def _packed_group(group: _Group | bytes) -> bytes:
    return group if isinstance(group, bytes) else pickle.dumps(group, pickle.HIGHEST_PROTOCOL)


T = TypeVar("T")


class _Lazy(Generic[T]):
    """A value, or the pickle of one, unpickled when first asked for (and pickled at most once)."""

    def __init__(self, value: T | None = None, packed: bytes = b"") -> None:
        self._value = value
        self._packed = packed

    def get(self) -> T:
        if self._packed:
            self._value = pickle.loads(self._packed)  # noqa: S301 - packed by packed(), in the pack cache's file
            self._packed = b""
        return self._value  # type: ignore[return-value]  # set by __init__ or just above

    def is_packed(self) -> bool:
        """Whether the value is still its pickle (not unpickled since it was read)."""
        return bool(self._packed)

    def packed(self) -> bytes:
        return self._packed or pickle.dumps(self._value, pickle.HIGHEST_PROTOCOL)


def _packed_document(file: str, value: bytes, groups: bytes) -> YamlDocument:
    """A document as unpickled: its value and positions still packed, until something reads them."""
    document = YamlDocument.__new__(YamlDocument)
    document.file, document._value, document._groups = file, _Lazy(packed=value), _Lazy(packed=groups)
    return document
