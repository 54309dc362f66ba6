"""Cut an evaluation's inputs into work units, in input order.

A JSONL or CSV file of at least two parts' worth is read in parts (``ByteRange``): each part starts just after a
newline (in CSV, one outside quotes) and knows the number of its first line, so locators and findings read as
if the file were read whole. Parts shrink towards the end of a file (each is a share of what is left): the first
are large, so there are few results to pickle and merge, and the last small, so the workers finish together.
JSON and YAML files are read whole (one document each). Files under ``BATCH_BYTES`` travel together, up to
``BATCH_FILES`` or ``BATCH_BYTES`` a unit (``FileBatch``): ten thousand one-record files would otherwise be ten
thousand units, each costing a worker more (a round trip, a result to pickle, its groups to start afresh and the
driver to merge) than judging its record. In-memory records travel in runs of
``RECORDS_PER_UNIT``. Every file is read up to the size the plan found (:func:`read_records`' ``size``), so a file
still being written gives the records one process would read.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from svcpolicy.records.readers import LINE_FORMATS, ByteRange, RawRecord, has_lone_cr

MIN_PART_BYTES = 4 * 1024 * 1024
"""Smaller parts cost more in start-up and merging than they save."""
MAX_PART_BYTES = 64 * 1024 * 1024
RECORDS_PER_UNIT = 5_000
BATCH_FILES = 512
"""Small files a unit holds at most: enough that a unit's cost (~10 ms) is a few per cent of judging them, few
enough that ten thousand files keep every worker busy."""
BATCH_BYTES = MIN_PART_BYTES
"""Bytes of small files a unit holds at most; a file this large is a unit of its own (no file under two parts'
worth is split, so no batched file would have been)."""
_SCAN_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class FileUnit:
    """A record file, or one part of it; only the first part reports a file that cannot be read. A whole file is
    read up to ``size``, its size when planned (None: not a regular file, which the reader reports)."""

    path: str | Path
    part: ByteRange | None = None
    first: bool = True
    size: int | None = None


@dataclass(frozen=True)
class FileBatch:
    """Small whole files judged one after the other in one unit, as one process reads them."""

    files: tuple[FileUnit, ...]


@dataclass(frozen=True)
class RecordsUnit:
    """In-memory records, already located (``<input>:N``)."""

    raws: tuple[RawRecord, ...]


WorkUnit = FileUnit | FileBatch | RecordsUnit


def plan_units(sources: Iterable[str | Path | RawRecord], jobs: int, encoding: str) -> Iterator[WorkUnit]:
    """The work units of these inputs, in input order: runs of in-memory records, batches of small files, and
    larger files, whole or in parts."""
    records: list[RawRecord] = []
    batch: list[FileUnit] = []
    batch_bytes = 0
    for source in sources:
        if isinstance(source, RawRecord):
            if batch:
                yield FileBatch(tuple(batch))
                batch, batch_bytes = [], 0
            records.append(source)
            if len(records) >= RECORDS_PER_UNIT:
                yield RecordsUnit(tuple(records))
                records = []
            continue
        if records:
            yield RecordsUnit(tuple(records))
            records = []
        size = _regular_size(source)
        if size is None or size < BATCH_BYTES:
            batch.append(FileUnit(source, size=size))
            batch_bytes += size or 0
            if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                yield FileBatch(tuple(batch))
                batch, batch_bytes = [], 0
            continue
        if batch:
            yield FileBatch(tuple(batch))
            batch, batch_bytes = [], 0
        parts = _split(Path(source), size, jobs, encoding)
        if len(parts) < 2:
            yield FileUnit(source, size=size)
        else:
            yield from (FileUnit(source, part, first=i == 0) for i, part in enumerate(parts))
    if records:
        yield RecordsUnit(tuple(records))
    if batch:
        yield FileBatch(tuple(batch))


def split_file(path: str | Path, jobs: int, encoding: str) -> list[ByteRange]:
    """The parts of a large JSONL/CSV file; none when it is small, of another format, or not readable here."""
    return _split(Path(path), _regular_size(path) or 0, jobs, encoding)


def _regular_size(path: str | Path) -> int | None:
    """The file's size now, which is as far as it will be read; None for what is not a regular file (or cannot
    be looked at), which its reader reports."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):  # ValueError: a name holding a NUL
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _split(file: Path, size: int, jobs: int, encoding: str) -> list[ByteRange]:
    """The parts of the first ``size`` bytes of a JSONL/CSV file; none when that is under two parts' worth."""
    try:
        ascii_lines = "\n".encode(codecs.lookup(encoding).name) == b"\n"
    except LookupError:
        return []
    if file.suffix.lower() not in LINE_FORMATS or not ascii_lines or size < 2 * MIN_PART_BYTES:
        return []
    return _cut(file, size, part_ends(size, jobs), quoted=file.suffix.lower() == ".csv")


def part_ends(size: int, jobs: int) -> list[int]:
    """Where the parts of ``size`` bytes end, before moving to a line start: each part ``1 / (jobs + 1)`` of what
    is left (at most ``MAX_PART_BYTES``), so that while one worker judges a part the others share the rest (guided
    self-scheduling); once that share is under ``MIN_PART_BYTES``, the rest in equal parts of about that size."""
    ends: list[int] = []
    end = 0
    while (left := size - end) >= 2 * MIN_PART_BYTES:
        share = left // (jobs + 1)
        if share < MIN_PART_BYTES:
            count = left // MIN_PART_BYTES
            ends.extend(end + left * k // count for k in range(1, count))
            break
        end += min(MAX_PART_BYTES, share)
        ends.append(end)
    return ends


def _cut(file: Path, size: int, targets: list[int], *, quoted: bool) -> list[ByteRange]:
    """One pass over the file: at each target, the next line start (outside CSV quotes) and its line number.

    Parts start after a LF and are numbered by counting them: a file whose lines end at a lone CR before the last
    cut (an old Mac export) is read whole instead, so that its line numbers stay the reader's."""
    parts: list[ByteRange] = []
    start, start_line = 0, 1
    offset, lines_before, quotes_odd = 0, 0, False
    pending = iter(targets)
    target = next(pending, None)
    cr_ends_block = False
    with file.open("rb") as stream:
        while target is not None and (block := stream.read(_SCAN_BLOCK)):
            # a CR ending a block is a CRLF's first half when the next block starts with its LF
            if has_lone_cr(block.removesuffix(b"\r")) or (cr_ends_block and not block.startswith(b"\n")):
                return [ByteRange(0, size, 1)]
            cr_ends_block = block.endswith(b"\r")
            index = max(target - offset, 0)
            while target is not None and index < len(block):
                cut = _line_end(block, index, quotes_odd, quoted)
                if cut < 0:
                    break
                boundary = offset + cut + 1
                if boundary >= size:
                    target = None
                    break
                line = lines_before + block.count(b"\n", 0, cut + 1) + 1
                parts.append(ByteRange(start, boundary, start_line))
                start, start_line = boundary, line
                while target is not None and target < boundary:
                    target = next(pending, None)
                index = max(cut + 1, (target or 0) - offset)
            lines_before += block.count(b"\n")
            quotes_odd ^= block.count(b'"') % 2 == 1
            offset += len(block)
    parts.append(ByteRange(start, size, start_line))
    return parts


def _line_end(block: bytes, index: int, quotes_odd: bool, quoted: bool) -> int:
    """The position of the first newline at or after ``index`` that ends a record (-1: none in this block)."""
    cut = block.find(b"\n", index)
    if not quoted:
        return cut
    odd = quotes_odd ^ (block.count(b'"', 0, cut if cut >= 0 else len(block)) % 2 == 1)
    while cut >= 0 and odd:
        following = block.find(b"\n", cut + 1)
        odd ^= block.count(b'"', cut, following if following >= 0 else len(block)) % 2 == 1
        cut = following
    return cut
