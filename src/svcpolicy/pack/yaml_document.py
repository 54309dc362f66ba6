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
        self._where: _Lazy[tuple[dict[Loc, tuple[int, int]], set[Loc]]] = _Lazy(
            ({} if positions is None else positions, set() if quoted is None else quoted)
        )

    def __reduce__(self) -> tuple[Callable[[str, bytes, bytes], YamlDocument], tuple[str, bytes, bytes]]:
        return (_packed_document, (self.file, self._value.packed(), self._where.packed()))

    @property
    def value(self) -> Any:
        return self._value.get()

    @property
    def positions(self) -> dict[Loc, tuple[int, int]]:
        """The 1-based line and column of each path written in the file."""
        return self._where.get()[0]

    @property
    def quoted(self) -> set[Loc]:
        """The paths of the scalars written in quotes."""
        return self._where.get()[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, YamlDocument):
            return NotImplemented
        return (self.file, self.value, self._where.get()) == (other.file, other.value, other._where.get())

    __hash__ = None  # type: ignore[assignment]  # equal by content, which is mutable

    def __repr__(self) -> str:
        return f"YamlDocument(file={self.file!r}, value={self.value!r})"

    def location(self, loc: Loc) -> SourceLocation:
        """Position of ``loc``, or of its nearest written ancestor."""
        positions = self.positions
        for end in range(len(loc), -1, -1):
            found = positions.get(loc[:end])
            if found is not None:
                return SourceLocation(self.file, *found)
        return SourceLocation(self.file)

    def expression_location(self, loc: Loc) -> SourceLocation:
        """Position of the first character of a scalar's text (inside its quotes, if quoted)."""
        where = self.location(loc)
        if loc in self.quoted:
            return SourceLocation(where.file, where.line, where.column + 1)
        return where


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

    def packed(self) -> bytes:
        return self._packed or pickle.dumps(self._value, pickle.HIGHEST_PROTOCOL)


def _packed_document(file: str, value: bytes, where: bytes) -> YamlDocument:
    """A document as unpickled: its value and positions still packed, until something reads them."""
    document = YamlDocument.__new__(YamlDocument)
    document.file, document._value, document._where = file, _Lazy(packed=value), _Lazy(packed=where)
    return document
