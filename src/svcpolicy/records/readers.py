"""Read record files into located raw records, and validate them against the record model.

Reading and validating are separate steps so that one bad item never stops a run: a reader yields a
:class:`RawRecord` for every item it finds (with an error when the item cannot even be parsed), and
:func:`validate` turns each into a record or an error message. Only a file that cannot be read at all raises
:class:`~svcpolicy.errors.InputError`.

JSONL and CSV are streamed in binary mode in constant memory. JSONL lines are handed on as bytes and validated
straight from bytes (by msgspec, :mod:`svcpolicy.records.fast_decode`, else pydantic; both parsers check UTF-8,
so valid lines are not decoded twice).
JSON and YAML are whole-file formats, capped at :data:`MAX_FILE_BYTES`. The items of a JSON array are handed on
as bytes too (:class:`JsonArrayItem`) and take the same fast path, so an array costs about what its lines would.
A JSONL or CSV file can also be read in parts (a :class:`ByteRange` each), with the line numbers of the whole
file, so that several processes share it.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from functools import partial
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, NoReturn, cast

import msgspec
import orjson

from svcpolicy.errors import InputError, SourceLocation
from svcpolicy.records.duplicate_keys import duplicate_key_problem, repeated_key_problem
from svcpolicy.records.fast_decode import decode_fast
from svcpolicy.records.record_shape import RECORD_SHAPE
from svcpolicy.records.shape import fields_below

if TYPE_CHECKING:  # the YAML parser is imported when a YAML record file is read; pydantic when a record needs it
    import yaml
    from pydantic import TypeAdapter, ValidationError

    from svcpolicy.records.model import Interaction
    from svcpolicy.records.shape import ShapeNode

__all__ = [
    "LINE_FORMATS",
    "MAX_FILE_BYTES",
    "MAX_LINE_BYTES",
    "ByteRange",
    "Locator",
    "RawRecord",
    "Validation",
    "read_records",
    "source_name",
    "source_path",
    "validate",
]

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A longer JSONL/CSV line is an error record; it is skipped without being held in memory."""
MAX_FILE_BYTES = 256 * 1024 * 1024
"""Whole-file formats (JSON, YAML) larger than this are refused: they would be held in memory."""
MAX_ERRORS_SHOWN = 5

NOT_UTF8 = "not valid utf-8 (is the file GBK? use --encoding gbk)"

_LINE_BLOCK = 256 * 1024
_PART_BUFFER = 1024 * 1024
_new = tuple.__new__
_YAML_NULL = "tag:yaml.org,2002:null"


# Locator and RawRecord are NamedTuples, not frozen dataclasses, for speed: one of each is made per record,
# and a frozen dataclass costs ~0.4 µs to build (about 10 % of parsing a 1 KB line), a NamedTuple ~0.1 µs.
class Locator(NamedTuple):
    """Where a record was read: ``str()`` gives ``file:line``."""

    source: str
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}"


class RawRecord(NamedTuple):
    """One input item, not yet validated.

    ``payload`` is the raw line for JSONL and the raw item of a JSON array (UTF-8 bytes, validated straight from
    bytes: the fast path) and a parsed mapping otherwise. ``error`` is set, and ``payload`` is None, when the item
    could not be parsed. A JSONL line's JSON syntax and UTF-8 are only checked by :func:`validate`.
    """

    locator: Locator
    payload: bytes | Mapping[str, Any] | None
    error: str | None = None


class JsonArrayItem(bytes):
    """One item of a JSON array file, as UTF-8 bytes, validated as a JSONL line is: the same values and errors.
    Only an item pydantic's JSON parser cannot hold (a number past a double's range, nesting past 200 levels) is
    read as the JSON reader reads a whole file, by Python's parser, so that a whole number too long for Python or
    data nested too deep is named as such."""

    __slots__ = ()


class ByteRange(NamedTuple):
    """A part of a JSONL or CSV file: from ``start`` (the first byte of a record's first line) up to ``end`` (just
    after a line's newline), and the number of the line at ``start`` in the whole file. A file read whole is read
    as the part from 0 to the size it had when reading began (JSON and YAML files too)."""

    start: int
    end: int
    line: int


LINE_FORMATS = frozenset({".jsonl", ".ndjson", ".csv"})
"""The formats that can be read in parts (:class:`ByteRange`): a record never spans a line boundary at which
a part starts (a CSV part starts where the quotes before it are balanced)."""

Validation = tuple["Interaction | None", str | None, str | None]
"""(record, None, None) when valid, else (None, error message, the record's id if the raw data has one)."""


@functools.cache
def _pydantic_validator() -> tuple[TypeAdapter[Interaction], type[ValidationError]]:
    """The record model's validator and its error, imported when a record first needs pydantic: valid JSONL lines
    never do (importing pydantic costs more than a short run). Two threads may both import: that is harmless."""
    from pydantic import ValidationError

    from svcpolicy.records.model import INTERACTION_ADAPTER

    return INTERACTION_ADAPTER, ValidationError


def validate(raw: RawRecord) -> Validation:
    """Validate one raw record; never raises for bad data, so the caller can go on to the next."""
    payload = raw.payload
    if payload is None:
        return None, raw.error or "no record data", None
    if isinstance(payload, bytes):  # both JSON parsers refuse lone surrogates themselves
        record = decode_fast(payload)  # msgspec; what it does not take, pydantic decides and explains
        if record is not None:
            return record, None, None
        repeated = repeated_key_problem(payload)  # pydantic, like msgspec, would keep the last silently
        if repeated is not None:
            return None, repeated, _recover_id(payload)
    adapter, invalid = _pydantic_validator()
    try:
        if isinstance(payload, bytes):
            return adapter.validate_json(payload), None, None
        record = adapter.validate_python(payload)
    except invalid as exc:
        if type(payload) is JsonArrayItem and exc.errors()[0]["type"] == "json_invalid":
            # JSON that pydantic's parser cannot hold, which Python's reads: see JsonArrayItem
            try:
                item, _ = _decode_item(payload.decode("utf-8"), 0, raw.locator)
            except RecursionError:  # nested deeper than Python's parser goes from here
                return None, f"record: nested more than {MAX_DEPTH} levels deep (or contains itself)", None
            return validate(item)
        return None, _explain(exc, payload), _recover_id(payload)
    problem = _unfit(record)
    if problem is not None:
        return None, problem, _recover_id(payload)
    return record, None, None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


MAX_DEPTH = 200
"""Levels of nesting a record may have: what pydantic's JSON parser takes, held to for records given as data too
(a mapping that contains itself is infinitely deep), so that every later walk of a record is bounded."""
MAX_VALUES = 1_000_000
"""Keys, items and values a record may hold: bounds a walk of data that shares its parts (a list holding one
list ten times, ten levels down)."""


def _unfit(record: Mapping[str, Any]) -> str | None:
    """Why a validated record cannot be reported (``path: problem``), else None: a key or text holding a lone
    surrogate (``\\ud800`` in JSON), which Python's JSON and text decoders let through and no output format can
    encode, or data nested past :data:`MAX_DEPTH` or larger than :data:`MAX_VALUES`. Iterative, so deep ``extra``
    data cannot overflow the stack."""
    stack: list[tuple[str, Any, int]] = [("", record, 0)]
    values = 0
    while stack:
        path, value, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            return f"record: holds more than {MAX_VALUES:,} values"
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return f"{path or 'record'}: {_SURROGATE_PROBLEM}"
        elif isinstance(value, Mapping | list) and depth >= MAX_DEPTH:
            return f"{path.split('.', 1)[0]}: nested more than {MAX_DEPTH} levels deep (or contains itself)"
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = str(key)
                child = f"{path}.{_printable(name)}" if path else _printable(name)
                if _SURROGATE.search(name):
                    return f"{child}: {_SURROGATE_PROBLEM}"
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item, depth + 1) for i, item in enumerate(value))
    return None


_SURROGATE_PROBLEM = "text holds a lone surrogate, which is not Unicode (a broken export?)"


def _explain(exc: ValidationError, payload: bytes | Mapping[str, Any]) -> str:
    """pydantic's errors, compact and without input values: ``operations.0.at: Input should have …``."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid" and isinstance(payload, bytes):
        try:  # parsed again, stripped, for a column on the line itself rather than past its newline
            orjson.loads(payload.decode("utf-8").strip())
        except UnicodeDecodeError:
            return NOT_UTF8
        except orjson.JSONDecodeError as error:
            return f"invalid JSON at column {error.colno}: {error.msg}"
        return first["msg"]
    if first["type"] == "dict_type" and not first["loc"]:
        return "not a JSON object" if isinstance(payload, bytes) else "not a mapping"
    shown = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        shown.append(f"… and {len(errors) - MAX_ERRORS_SHOWN} more")
    return _printable("; ".join(shown))  # a key in the path may hold a lone surrogate


def _recover_id(payload: bytes | Mapping[str, Any]) -> str | None:
    """The record's id from data that failed validation, so the report can still name the record."""
    if isinstance(payload, bytes):
        try:
            value = orjson.loads(payload).get("id")
        except orjson.JSONDecodeError:
            value = _scan_id(payload)
        except AttributeError:  # valid JSON, but not an object
            return None
    else:
        value = payload.get("id")
    if isinstance(value, str) and value and not _SURROGATE.search(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def salvaged_data(raw: RawRecord) -> Mapping[str, Any]:
    """An invalid item's data as far as it still parses (else empty), so that reports can mask the customer
    identifiers it holds as they do a valid record's: a line refused for one bad field, a NaN or a duplicate id
    still names its customer. Bytes that are not UTF-8 are replaced, so an ASCII identifier in a GBK line counts."""
    payload = raw.payload
    if isinstance(payload, Mapping):
        return payload
    if payload is None:
        return {}
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except (ValueError, RecursionError):  # cut short, nested past the parser, or an integer past Python's limit
        return _scan_data(payload)
    return data if isinstance(data, dict) else {}


_SCAN_DEPTH = 8
"""How deep :func:`_scan_data` builds: identifying paths (``operations[].authorization.by``) are a few levels."""


def _scan_data(line: bytes) -> dict[str, Any]:
    """The keys and scalars of a line no parser accepts, as nested data up to :data:`_SCAN_DEPTH` levels: a flat
    scan of JSON tokens, like :func:`_scan_id`, so a line cut short or nested too deep still gives its values."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any] | list[Any] | None] = []
    key: str | None = None
    for match in _JSON_TOKEN.finditer(line):
        token = match.group()
        top = stack[-1] if stack else None
        if token in (b"{", b"["):
            if not stack:
                child: dict[str, Any] | list[Any] | None = root if token == b"{" else None
            elif top is None or len(stack) >= _SCAN_DEPTH:
                child = None
            else:
                child = {} if token == b"{" else []
                _put(top, key, child)
            stack.append(child)
            key = None
        elif token in (b"}", b"]", b","):
            if token != b"," and stack:
                stack.pop()
            key = None
        elif token != b":":
            value = _token_value(token)
            if isinstance(top, dict) and key is None:
                key = value if isinstance(value, str) else None
            else:
                _put(top, key, value)
    return root


def _token_value(token: bytes) -> Any:
    try:
        return orjson.loads(token.decode("utf-8", "replace"))
    except orjson.JSONDecodeError:  # a bare word (NaN), a number past 64 bits
        return None


def _put(container: dict[str, Any] | list[Any] | None, key: str | None, value: Any) -> None:
    if isinstance(container, list):
        container.append(value)
    elif container is not None and key is not None:
        container[key] = value


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[-+.\w]+|[{}\[\]:,]')


def _scan_id(line: bytes) -> Any:
    """The value of the top-level ``"id"`` of a line no parser accepts (a NaN elsewhere, nesting too deep).

    A flat scan of JSON tokens that only counts depth, so it neither recurses nor parses what it skips.
    """
    depth, key = 0, b""
    tokens = _JSON_TOKEN.finditer(line)
    for match in tokens:
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
        elif token == b":" and depth == 1 and key == b'"id"':
            value = next(tokens, None)
            try:
                return None if value is None else orjson.loads(value.group())
            except orjson.JSONDecodeError:
                return None
        key = token if depth == 1 else b""
    return None


# -- reading ---------------------------------------------------------------------------------------------


def source_name(path: str | Path) -> str:
    """A record file's name as its findings carry it: a name that is not valid UTF-8 (Python keeps its bytes as
    lone surrogates) has those bytes written as escapes (``n\\xff.jsonl``), as ``ls -b`` shows them, so that
    every format can write it and no JSON or SARIF writer fails on it after the run."""
    name = str(path)
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate given by a caller, not read from the file system
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


_ESCAPED_BYTE = re.compile(rb"\\x([89a-f][0-9a-f])")


def source_path(source: str) -> bytes:
    """The file system name that :func:`source_name` wrote as ``source``: its ``\\xNN`` escapes made bytes again,
    for a link that must reach the file itself (a SARIF URI). Those escapes are only written for bytes that are
    not UTF-8, so a name whose unescaped bytes are UTF-8 was never escaped; and a name that is, as written, a
    file that exists (a UTF-8 name holding the text ``\\xff``) is that file."""
    written = os.fsencode(source)
    unescaped = _ESCAPED_BYTE.sub(lambda escape: bytes([int(escape.group(1), 16)]), written)
    if unescaped == written:
        return written
    try:
        unescaped.decode("utf-8")
    except UnicodeDecodeError:
        return written if os.path.lexists(written) else unescaped
    return written


def read_records(
    path: str | Path, *, encoding: str = "utf-8", part: ByteRange | None = None, size: int | None = None
) -> Iterator[RawRecord]:
    """Read a record file, its format chosen by extension; only ``part`` of it, if given (JSONL and CSV).

    The file is read as it was when reading began: up to ``size`` bytes (its size when ``--jobs`` planned it),
    else up to its size now, so that lines a writer appends meanwhile wait for the next run under any number of
    processes (and a file written faster than it is checked is not read forever).

    Raises :class:`InputError` before anything is yielded when the file cannot be read at all: missing, a
    directory, an unknown extension or encoding, a bad CSV header, or a JSON/YAML file that does not parse or
    decode. Problems with single items become error records instead, and reading goes on.
    """
    source = source_name(path)
    file = Path(path)
    try:
        status = file.stat()
    except FileNotFoundError:  # also a link to nothing, or a file deleted since the folder was listed
        raise InputError("no such file", SourceLocation(source)) from None
    except OSError as exc:  # a symbolic link loop, a path through a file
        raise InputError(f"cannot open: {exc.strerror}", SourceLocation(source)) from None
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        raise InputError("is a directory, not a record file", SourceLocation(source))
    if not stat.S_ISREG(mode):  # a pipe would be read up to its end by the first of the opens, then wait forever
        raise InputError(
            "is a named pipe, socket or device, not a record file (copy what it gives to a file)",
            SourceLocation(source),
        )
    reader = _READERS.get(file.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise InputError(f"unknown record file type {file.suffix!r} (known: {known})", SourceLocation(source))
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", SourceLocation(source)) from None
    try:
        "".encode(codec)
    except LookupError:  # a codec from bytes to bytes (rot13, base64, zlib) decodes no text
        raise InputError(f"{encoding!r} is not a text encoding", SourceLocation(source)) from None
    if part is not None and file.suffix.lower() not in LINE_FORMATS:
        raise ValueError(f"only {', '.join(sorted(LINE_FORMATS))} files can be read in parts, not {source}")
    return reader(file, source, codec, part or ByteRange(0, status.st_size if size is None else size, 1))


def _open(file: Path, source: str, part: ByteRange | None = None) -> BinaryIO:
    try:
        stream = file.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", SourceLocation(source)) from None
    if part is None:
        return stream
    stream.seek(part.start)
    # large reads: each one is a Python call (_Slice.readinto), ~7,000 a 60 MB part at the default 8 KiB
    return io.BufferedReader(_Slice(stream, part.end - part.start), buffer_size=_PART_BUFFER)


class _Slice(io.RawIOBase):
    """The next ``size`` bytes of a file, then end of file: one part of it, read through the usual line reader."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Physical lines with their endings; None for a line over MAX_LINE_BYTES (see :func:`_line_blocks`)."""
    return chain.from_iterable(_line_blocks(stream))


def _is_utf8(codec: str) -> bool:
    return codec in ("utf-8", "utf-8-sig")


def _line_codec(codec: str, source: str) -> None:
    """Line formats split on the byte ``\\n``, which only works for ASCII-compatible encodings."""
    if "\n".encode(codec) != b"\n":
        raise InputError(f"encoding {codec!r} is not supported for line-based files", SourceLocation(source))


def _not_valid(codec: str) -> str:
    return NOT_UTF8 if _is_utf8(codec) else f"not valid {codec}"


def _too_long() -> str:
    return f"line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"


def _read_jsonl(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[RawRecord]:
    _line_codec(codec, source)
    with _open(file, source) as stream:  # an unreadable file raises here, not at the first next()
        _refuse_wide_text(stream.read(8), source)
    return _jsonl_records(file, source, codec, part)


_WIDE_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def _refuse_wide_text(start: bytes, source: str) -> None:
    """A line-based file saved as UTF-16 or UTF-32 (Excel's "Unicode text", Windows Notepad's "Unicode") has a
    zero byte in most characters: split into lines it would be one invalid record per line, each with a
    misleading "is the file GBK?". Its byte order mark, followed by a visible ASCII character in that encoding (a
    record's ``{``, a CSV header's first letter), says what it is; the whole file is an input error. Other
    bytes after such a mark are left to the lines, each of which then gets its outcome."""
    for mark, codec, name in _WIDE_MARKS:
        width = len(mark)
        try:
            first = start[width : 2 * width].decode(codec)
        except UnicodeDecodeError:
            continue
        if start.startswith(mark) and len(first) == 1 and "!" <= first <= "~":
            raise InputError(
                f"the file is {name} (it starts with a {name} byte order mark): line-based files are read as UTF-8 "
                "or an encoding such as GBK; save it as UTF-8",
                SourceLocation(source, 1),
            )


def _jsonl_records(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[RawRecord]:
    # chained in C: taking the next record resumes no Python frame, only the next block does
    return chain.from_iterable(_jsonl_blocks(file, source, codec, part))


def _jsonl_blocks(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[Iterable[RawRecord]]:
    """The records of each block of lines, lazily."""
    utf8 = _is_utf8(codec)
    number = part.line - 1  # the number of the line before the block
    with _open(file, source, part) as stream:
        for lines in _line_blocks(stream):
            after = number + len(lines)
            if utf8 and number and _all_records(lines):  # the usual block: all of it done in C
                locators = map(_new_locator, zip(repeat(source), range(number + 1, after + 1)))
                yield map(_new_raw_record, zip(locators, lines, repeat(None)))
            else:
                yield _check_lines(lines, source, codec, number)
            number = after


# tuple.__new__ skips NamedTuple's Python-level __new__: one of each is made per record, the hot path.
_new_locator = partial(_new, Locator)
_new_raw_record = partial(_new, RawRecord)


def _all_records(lines: list[bytes | None]) -> bool:
    """Every line is one to hand on as it is: none too long, none blank (no line is empty: each holds at least
    its newline, or, the file's last, a byte)."""
    return None not in lines and not any(map(bytes.isspace, cast(list[bytes], lines)))


def _check_lines(lines: list[bytes | None], source: str, codec: str, number: int) -> Iterator[RawRecord]:
    """The records of a block that needs a look at each line: the file's first (a byte order mark), one with
    a blank or too long line, or one in another encoding than UTF-8."""
    utf8 = _is_utf8(codec)
    for line in lines:
        number += 1
        if line is None:
            yield RawRecord(Locator(source, number), None, _too_long())
            continue
        if number == 1 and utf8 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if not line or line.isspace():
            continue
        if not utf8:
            try:
                line = line.decode(codec).encode("utf-8")
            except UnicodeDecodeError:
                yield RawRecord(Locator(source, number), None, _not_valid(codec))
                continue
        yield _new_raw_record((_new_locator((source, number)), line, None))


def _line_blocks(stream: BinaryIO) -> Iterator[list[bytes | None]]:
    """Physical lines with their endings, a block's worth at a time; None for a line over MAX_LINE_BYTES.

    A line ends at a LF, a CRLF or a lone CR: the last is how some spreadsheets still save text ("CSV
    (Macintosh)"), and read as one line such a file would be one invalid record, its other records lost. JSON
    holds no raw CR but as space between tokens, so no record is cut by it.

    One read and one C-level split per block rather than a ``readline`` call per line (with the records made in
    C too, reading went from 0.29 to 0.16 × the time of orjson-parsing the lines); ``BytesIO.readlines`` finds
    newlines with ``memchr``, several times faster than ``bytes.split``. A line that runs past a block is carried
    over in pieces, and once it is over the limit its bytes are dropped as they are read, so memory stays within
    a block and the limit.
    """
    limit = MAX_LINE_BYTES
    pieces: list[bytes] = []  # the start of a line that earlier blocks did not end
    carried = 0  # their length
    dropping = False  # the line being carried is over the limit: skip to its end
    while block := stream.read(_LINE_BLOCK):
        while block.endswith(b"\r") and (following := stream.read(1)):  # a CR that may be a CRLF's first half:
            block += following  # the block takes the byte after it too
        # BytesIO.readlines shares the block's memory (no copy but the lines); a block with a lone CR (rare) takes
        # the slower split that also ends lines there
        split = block.splitlines(keepends=True) if has_lone_cr(block) else io.BytesIO(block).readlines()
        rest = b"" if split[-1].endswith(_LINE_ENDS) else split.pop()  # the start of a line the block does not end
        lines = cast(list[bytes | None], split)  # the same list: a too-long line becomes None in place
        if lines:
            if dropping:
                lines[0] = None
            elif pieces:
                pieces.append(split[0])
                lines[0] = b"".join(pieces)
            if len(block) > limit:  # only a lowered limit: a block is smaller than the real one
                lines = [None if line is None or len(line) > limit + 1 else line for line in lines]
            elif lines[0] is not None and len(lines[0]) > limit + 1:  # + 1: the newline
                lines[0] = None
            pieces, carried, dropping = [], 0, False
            yield lines
        if rest and not dropping:
            pieces.append(rest)
            carried += len(rest)
            if carried > limit:
                pieces, carried, dropping = [], 0, True
    if dropping:
        yield [None]
    elif pieces:
        yield [b"".join(pieces)]


_LINE_ENDS = (b"\n", b"\r")


def has_lone_cr(block: bytes) -> bool:
    """Whether a CR in ``block`` ends a line by itself (not the first half of a CRLF); one ending the block counts
    when nothing follows it. Two C-level counts where the file holds any CR: free for LF and CRLF files."""
    return b"\r" in block and block.count(b"\r") != block.count(b"\r\n")


# -- CSV -------------------------------------------------------------------------------------------------

Column = tuple[str | int, ...]


def _read_csv(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[RawRecord]:
    import csv  # for CSV files only: a run over JSONL never needs it

    _line_codec(codec, source)
    with _open(file, source) as stream:
        _refuse_wide_text(stream.read(8), source)
        stream.seek(0)
        header_lines = _DecodedLines(stream, codec)
        reader = csv.reader(header_lines, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise InputError(f"bad CSV header: {exc}", SourceLocation(source, 1)) from None
        if header_lines.bad:
            line, message = next(iter(header_lines.bad.items()))
            raise InputError(f"CSV header {message}", SourceLocation(source, line))
    columns = _parse_header(header or [], source)
    return _csv_records(file, source, codec, columns, part)


class _DecodedLines:
    """Decoded physical lines for ``csv.reader``; lines that cannot be decoded are remembered, not raised."""

    def __init__(self, stream: BinaryIO, codec: str, first_line: int = 1) -> None:
        self._lines = enumerate(_lines(stream), start=first_line)
        self._codec = codec
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for number, line in self._lines:
            if line is None:
                self.bad[number] = _too_long()
                yield "\n"
                continue
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            try:
                yield line.decode(self._codec)
            except UnicodeDecodeError:
                self.bad[number] = _not_valid(self._codec)
                yield line.decode(self._codec, "replace")


def _parse_header(header: list[str], source: str) -> list[Column]:
    """Dotted column names to paths: ``operations.0.kind`` → ("operations", 0, "kind"); clashes refused."""
    columns: list[Column] = []
    leaves: set[Column] = set()
    branches: dict[Column, type] = {}  # a path that has children -> the type of its children's keys

    def fail(message: str) -> NoReturn:
        raise InputError(f"CSV header: {message}", SourceLocation(source, 1))

    if not header:
        fail("missing (the first row must name the columns)")
    for position, name in enumerate(header, start=1):
        parts = name.strip().split(".")
        if any(not part for part in parts) or _is_position(parts[0]):
            fail(f"column {position} {name!r} is not a dotted field name")
        if any(part.isdigit() and not part.isascii() for part in parts):
            fail(f"column {position} {name!r}: a list position is written in ASCII digits")
        column: Column = tuple(int(p) if _is_position(p) else p for p in parts)
        if column in leaves or column in branches:
            fail(f"column {position} {name!r} repeats or contains another column")
        for depth in range(1, len(column)):
            parent, key_type = column[:depth], type(column[depth])
            if parent in leaves:
                fail(f"column {position} {name!r} is inside another column")
            if branches.setdefault(parent, key_type) is not key_type:
                fail(f"column {position} {name!r} mixes list positions and field names under one parent")
        leaves.add(column)
        columns.append(column)
    return columns


def _is_position(part: str) -> bool:
    """A list position is written in ASCII digits: ``str.isdigit`` also takes ``²`` and ``٣``."""
    return part.isascii() and part.isdigit()


def _csv_records(file: Path, source: str, codec: str, columns: list[Column], part: ByteRange) -> Iterator[RawRecord]:
    import csv  # see _read_csv

    before = part.line - 1  # lines of the file before this part
    with _open(file, source, part) as stream:
        lines = _DecodedLines(stream, codec, before + 1)
        reader = csv.reader(lines, strict=True)
        if before == 0:
            next(reader, None)  # the header, already parsed
        previous_end = before + reader.line_num
        while True:
            start = previous_end + 1
            problem: str | None = None
            try:
                row = next(reader, None)
            except csv.Error as exc:
                row, problem = [], f"bad CSV row: {exc}"
            if row is None:
                return
            previous_end = before + reader.line_num
            bad = [lines.bad.pop(n) for n in range(start, previous_end + 1) if n in lines.bad]
            if bad:
                problem = bad[0]
            elif problem is None and len(row) > len(columns):
                problem = f"row has {len(row)} cells, the header {len(columns)}"
            if problem is not None:
                yield RawRecord(Locator(source, start), None, problem)
            elif any(row):
                yield RawRecord(Locator(source, start), _nest(columns, row))


def _nest(columns: list[Column], row: list[str]) -> dict[str, Any]:
    """Cells to a nested record; an empty cell is an absent field, and integer parts make lists."""
    root: dict[Any, Any] = {}
    shapes = _field_shapes()
    for column, cell in zip(columns, row, strict=False):
        if cell == "":
            continue
        node = root
        for part in column[:-1]:
            node = node.setdefault(part, {})
        node[column[-1]] = _cell_value(column, cell, shapes)
    nested: dict[str, Any] = _listify(root)
    return nested


@functools.cache
def _field_shapes() -> Mapping[str, ShapeNode]:
    """The model's fields by path, for reading CSV cells (made when a CSV file is first read)."""
    return {node["path"]: node for node in fields_below(RECORD_SHAPE)}


_CSV_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_CSV_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
_CSV_INT = re.compile(r"[+-]?[0-9]+")
_CSV_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _cell_value(column: Column, cell: str, shapes: Mapping[str, ShapeNode]) -> Any:
    """A CSV cell as the model's field holds it: CSV has only text, so a number or boolean column's cell is read as
    one here (the record model itself is strict). A cell that does not read as one stays text, and validation says
    what is wrong with it."""
    path = "".join(f".{part}" if isinstance(part, str) else "[]" for part in column).lstrip(".")
    node = shapes.get(path)
    if node is None:
        return cell
    text = cell.strip()
    if node["kind"] == "bool":
        lowered = text.lower()
        return True if lowered in _CSV_TRUE else False if lowered in _CSV_FALSE else cell
    if node["kind"] == "number" and node["scalar"] == "int" and _CSV_INT.fullmatch(text):
        return int(text)
    if node["kind"] == "number" and node["scalar"] == "float" and _CSV_FLOAT.fullmatch(text):
        return float(text)
    return cell


def _listify(node: dict[Any, Any]) -> Any:
    """Turn mappings keyed by list positions into lists, in position order (gaps close up)."""
    items = {key: _listify(value) if isinstance(value, dict) else value for key, value in node.items()}
    if items and isinstance(next(iter(items)), int):
        return [items[key] for key in sorted(items)]
    return items


# -- whole-file formats ----------------------------------------------------------------------------------


def _read_whole(file: Path, source: str, codec: str, size: int) -> str:
    """The file's first ``size`` bytes as text, refused beyond MAX_FILE_BYTES and on the first byte the encoding
    cannot decode."""
    return _decoded(_read_bytes(file, source, size), source, codec)


def _read_bytes(file: Path, source: str, size: int) -> bytes:
    """The file's first ``size`` bytes, refused beyond MAX_FILE_BYTES."""
    with _open(file, source) as stream:
        data = stream.read(min(size, MAX_FILE_BYTES + 1))
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; export records as JSONL "
            "(one record a line), which is read in constant memory",
            SourceLocation(source),
        )
    return data


def _decoded(data: bytes, source: str, codec: str) -> str:
    """A whole file's text, refused on the first byte the encoding cannot decode."""
    try:
        return data.decode("utf-8-sig" if _is_utf8(codec) else codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(_not_valid(codec), SourceLocation(source, line)) from None


_JSON_SPACE = re.compile(r"[ \t\r\n]*")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


_JSON_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
"""Floats as Decimal, so amounts stay exact as they do on the JSONL path; NaN/Infinity refused."""


def _skip_space(text: str, position: int) -> int:
    match = _JSON_SPACE.match(text, position)
    return match.end() if match else position


def _decode_item(text: str, position: int, locator: Locator) -> tuple[RawRecord, int]:
    """The record starting at ``position`` and the position after it. A whole number longer than Python converts
    (4,300 digits) is valid JSON: its record is invalid, and the records after it are read."""
    try:
        item, end = _JSON_DECODER.raw_decode(text, position)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        too_long: list[int] = []

        def whole_number(digits: str) -> int:
            if len(digits.lstrip("-")) > sys.get_int_max_str_digits():
                too_long.append(len(digits.lstrip("-")))
                return 0
            return int(digits)

        decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant, parse_int=whole_number)
        _, end = decoder.raw_decode(text, position)
        return RawRecord(locator, None, _number_too_long(max(too_long))), end
    repeated = repeated_key_problem(text[position:end])  # the parser, too, keeps the last of a key given twice
    if repeated is not None:
        return RawRecord(locator, None, repeated), end
    return _json_item(item, locator), end


def _number_too_long(digits: int) -> str:
    """Why a record holding a whole number of ``digits`` digits is refused, in words a data owner acts on."""
    return f"a number of {digits:,} digits: no field takes more than {sys.get_int_max_str_digits():,}"


def _read_json(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[RawRecord]:
    """An array of objects (each located at the line it starts on) or a single object."""
    data = _read_bytes(file, source, part.end)
    text = _decoded(data, source, codec)
    if not _is_utf8(codec):
        data = text.encode("utf-8")
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    items = _array_items(data, source)
    if items is not None:
        return items
    try:
        position = _skip_space(text, 0)
        if text.startswith("[", position):
            records, position = _json_array(text, position, source)
        else:
            line = text.count("\n", 0, position) + 1
            record, end = _decode_item(text, position, Locator(source, line))
            if not text.startswith("{", position):
                raise InputError("expected an array of records or one record", SourceLocation(source, line))
            records, position = [record], end
        position = _skip_space(text, position)
        if position != len(text):
            raise json.JSONDecodeError("extra data after the records", text, position)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", SourceLocation(source, exc.lineno, exc.colno)) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"invalid JSON: {exc or 'nested too deeply'}", SourceLocation(source)) from None
    return iter(records)


_ARRAY_OF_ITEMS = msgspec.json.Decoder(list[msgspec.Raw]).decode
"""An array's items as raw JSON, unparsed: one C call checks the whole file's syntax and finds every item."""
_BEFORE_ITEM = re.compile(rb"[ \t\r\n]*[\[,]?[ \t\r\n]*")
"""What stands between the start of an array, or an item, and the next item."""


def _array_items(data: bytes, source: str) -> Iterator[RawRecord] | None:
    """The items of a JSON array file given as UTF-8 bytes, each a :class:`JsonArrayItem` located at the line it
    starts on; None when the file is no array or msgspec refuses its syntax (a NaN, a lone surrogate ``\\ud800``,
    nesting deeper than the recursion limit), which the parser of :func:`_read_json` then reads or explains as it
    always did. Only the items' places are kept (the file's bytes are held anyway); each item's bytes are cut out
    as it is taken, so the records are not all in memory at once."""
    try:
        raws = _ARRAY_OF_ITEMS(data)
    except (msgspec.MsgspecError, RecursionError):
        return None
    before_item = _BEFORE_ITEM.match
    places: list[tuple[int, int, int]] = []  # (line, start, end) of each item
    line, counted, end = 1, 0, 0
    for raw in raws:
        start = cast(re.Match[bytes], before_item(data, end)).end()
        end = start + len(raw)
        line += data.count(b"\n", counted, start)
        counted = start
        places.append((line, start, end))
    return _array_records(data, source, places)


def _array_records(data: bytes, source: str, places: list[tuple[int, int, int]]) -> Iterator[RawRecord]:
    view = memoryview(data)
    for line, start, end in places:
        yield _new_raw_record((_new_locator((source, line)), JsonArrayItem(view[start:end]), None))


def _json_array(text: str, position: int, source: str) -> tuple[list[RawRecord], int]:
    """The items of the array opening at ``position``, and the position after it; lines counted as it goes."""
    records: list[RawRecord] = []
    line, counted = 1, 0
    position = _skip_space(text, position + 1)
    if text.startswith("]", position):
        return records, position + 1
    while True:
        line += text.count("\n", counted, position)
        counted = position
        record, position = _decode_item(text, position, Locator(source, line))
        records.append(record)
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return records, position + 1
        if not text.startswith(",", position):
            raise json.JSONDecodeError("expected ',' or ']'", text, position)
        position = _skip_space(text, position + 1)


def _json_item(item: Any, locator: Locator) -> RawRecord:
    if isinstance(item, dict):
        return RawRecord(locator, item)
    return RawRecord(locator, None, "not a JSON object")


def _read_yaml(file: Path, source: str, codec: str, part: ByteRange) -> Iterator[RawRecord]:
    """A list of mappings, one mapping, or several ``---`` documents of either; safe loading, no aliases."""
    import yaml

    text = _read_whole(file, source, codec, part.end)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    records: list[RawRecord] = []
    try:
        while loader.check_node():
            document = loader.get_node()
            if document is None or (isinstance(document, yaml.ScalarNode) and document.tag == _YAML_NULL):
                continue  # an empty document, e.g. after a trailing ---
            _reject_aliases(document, source)
            items = document.value if isinstance(document, yaml.SequenceNode) else [document]
            records.extend(_yaml_item(loader, item, source) for item in items)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = SourceLocation(source, mark.line + 1, mark.column + 1) if mark else SourceLocation(source)
        raise InputError(f"invalid YAML: {exc.problem or exc.context}", location) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", SourceLocation(source)) from None
    finally:
        loader.dispose()
    return iter(records)


def _reject_aliases(document: yaml.Node, source: str) -> None:
    """Refuse anchors/aliases: records never need them, and they make alias bombs possible.

    An alias shows up as a node reached twice; the walk stops there, so it is linear even on a bomb.
    """
    import yaml

    seen: set[int] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            mark = node.start_mark
            raise InputError(
                "YAML anchors and aliases are not allowed in record files",
                SourceLocation(source, mark.line + 1, mark.column + 1),
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def _yaml_item(loader: yaml.SafeLoader, node: yaml.Node, source: str) -> RawRecord:
    import yaml

    locator = Locator(source, node.start_mark.line + 1)
    if not isinstance(node, yaml.MappingNode):
        return RawRecord(locator, None, "not a mapping")
    repeated = _repeated_yaml_key(node)  # PyYAML, like the JSON parsers, keeps the last of a key given twice
    if repeated is not None:
        return RawRecord(locator, None, duplicate_key_problem(repeated))
    try:
        return RawRecord(locator, loader.construct_document(node))
    except yaml.MarkedYAMLError as exc:
        return RawRecord(locator, None, f"cannot load: {exc.problem}")
    except RecursionError:
        return RawRecord(locator, None, "nested too deeply")
    except (ValueError, KeyError, AttributeError) as exc:  # a date 2026-02-30, a 5000-digit int, `!!bool maybe`
        _forget_partial_construction(loader)
        return RawRecord(locator, None, f"cannot load: {_scalar_problem(exc)}")


def _repeated_yaml_key(record: yaml.MappingNode) -> str | None:
    """The path of the first key a mapping of ``record`` gives twice (the same text and type), else None."""
    import yaml

    stack: list[tuple[str, yaml.Node]] = [("", record)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key, value in node.value:
                name = f"{path}.{key.value}" if path else str(key.value)
                if isinstance(key, yaml.ScalarNode):
                    if (key.tag, key.value) in seen:
                        return name
                    seen.add((key.tag, key.value))
                stack.append((name, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((f"{path}.{index}", item) for index, item in enumerate(node.value))
    return None


def _scalar_problem(exc: Exception) -> str:
    """ValueError says what is wrong; PyYAML's KeyError/AttributeError come from a value its explicit tag refuses."""
    if not isinstance(exc, ValueError):
        return "a value does not fit its YAML tag (e.g. `!!bool maybe`)"
    digits = _TOO_MANY_DIGITS.search(str(exc))
    return _number_too_long(int(digits.group(1))) if digits else str(exc)


_TOO_MANY_DIGITS = re.compile(r"integer string conversion: value has (\d+) digits")


def _forget_partial_construction(loader: yaml.SafeLoader) -> None:
    """PyYAML only clears its construction state after a document succeeds; the next item starts afresh."""
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []
    loader.deep_construct = False


_READERS: Mapping[str, Callable[[Path, str, str, ByteRange], Iterator[RawRecord]]] = {
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".yaml": _read_yaml,
    ".yml": _read_yaml,
    ".csv": _read_csv,
}
