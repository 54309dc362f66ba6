"""Text kept in ordered buckets, spilled to a temporary file past a small buffer: what lets a format that groups
findings (by article, by rule, by level) or puts its summary first be written in flat memory.

A streaming writer renders each finding as it comes into the bucket it belongs to, and at the end reads the
buckets back in the order it prints them. Each bucket holds at most ``chunk`` characters in memory; fuller
chunks go to one shared temporary file (only when a run has that much to say), with their offsets kept.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import IO, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)

CHUNK = 1 << 14
"""Characters a bucket buffers before it writes them out: with a hundred buckets (articles, rules), a few MiB
at most, and few enough writes that they cost nothing next to the rendering."""


class SpillBuckets(Generic[Key]):
    """Named buckets of text, each read back in the order it was written; the buckets in first-written order."""

    def __init__(self, chunk: int | None = None) -> None:
        self._chunk = CHUNK if chunk is None else chunk
        self._buffered: dict[Key, list[str]] = {}
        self._buffered_size: dict[Key, int] = {}
        self._spilled: dict[Key, list[tuple[int, int]]] = {}
        """Per bucket, the (offset, length) in bytes of each chunk already in the file."""
        self._file: IO[bytes] | None = None
        self._end = 0
        self.items: dict[Key, int] = {}
        """How many pieces each bucket holds, in first-written order."""

    def add(self, key: Key, text: str) -> None:
        """Append ``text`` to the bucket ``key`` (opened when first named)."""
        if key not in self.items:
            self.items[key] = 0
            self._buffered[key] = []
            self._buffered_size[key] = 0
        self.items[key] += 1
        self._buffered[key].append(text)
        self._buffered_size[key] += len(text)
        if self._buffered_size[key] >= self._chunk:
            self._spill(key)

    def _spill(self, key: Key) -> None:
        data = "".join(self._buffered[key]).encode("utf-8")
        if self._file is None:
            import tempfile  # only for a run with that much to say: a short run never needs it

            self._file = tempfile.TemporaryFile(prefix="svcpolicy-report-")  # noqa: SIM115 - closed by close()
        self._file.seek(self._end)
        self._file.write(data)
        self._spilled.setdefault(key, []).append((self._end, len(data)))
        self._end += len(data)
        self._buffered[key] = []
        self._buffered_size[key] = 0

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def read(self, key: Key) -> Iterator[str]:
        """The bucket's text, chunk by chunk, as it was added (nothing for a bucket never named)."""
        file = self._file  # there is one whenever a chunk was spilled
        if file is not None:
            for offset, length in self._spilled.get(key, ()):
                file.seek(offset)
                yield file.read(length).decode("utf-8")
        yield from self._buffered.get(key, ())

    def close(self) -> None:
        """Remove the temporary file, if one was needed."""
        if self._file is not None:
            self._file.close()
            self._file = None
