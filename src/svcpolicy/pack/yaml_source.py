"""Safe YAML loading that remembers where every value was written.

Pack authors need ``file:line:col`` for every error, including schema errors that pydantic reports as a
path such as ``rules.3.when``. We compose the YAML node graph with PyYAML's safe loader and build plain
Python values ourselves, recording the position of each path. Building values ourselves also bounds the work:
an alias bomb ("billion laughs") expands node by node and stops at a limit instead of exhausting memory.

The text is scanned and parsed by libyaml (PyYAML's C parser) and composed by PyYAML's Python composer, which
counts nodes and depth as it goes: the pure-Python scanner took close to a minute for a few megabytes, so a
pathological file under the byte limit held a command that long before it was refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from svcpolicy.bounded_read import read_at_most
from svcpolicy.errors import PackError, SourceLocation
from svcpolicy.pack.budget import MAX_PACK_BYTES, MAX_PACK_VALUES, PackBudget, PackTooLarge
from svcpolicy.pack.yaml_document import Loc, YamlDocument

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Loc",
    "YamlDocument",
    "load_yaml",
    "load_yaml_text",
    "walk_strings",
]

MAX_NODES = 200_000
MAX_DEPTH = 100
"""Deeper nesting is refused: PyYAML composes recursively, and a few hundred ``[`` would exhaust the stack."""
MAX_FILE_BYTES = 16 * 1024 * 1024

_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


_FILE_VALUES_PROBLEM = f"document holds more than {MAX_NODES:,} values"
_PACK_VALUES_PROBLEM = f"the pack's files hold more than {MAX_PACK_VALUES:,} values together, the limit for a pack"


class _Counting(Composer):
    """PyYAML's composer, refusing nesting beyond :data:`MAX_DEPTH` and more than ``node_limit`` nodes (the file's
    limit, or what is left of the pack's budget) where they start, as YAML errors."""

    depth = 0
    nodes = 0
    node_limit = MAX_NODES
    node_problem = _FILE_VALUES_PROBLEM

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        if not (isinstance(parent, yaml.MappingNode) and index is None):  # a mapping's key is no value
            self.nodes += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self._refusal(f"nested more than {MAX_DEPTH} levels deep")
            if self.nodes > self.node_limit:
                raise self._refusal(self.node_problem)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _refusal(self, problem: str) -> yaml.composer.ComposerError:
        event = self.peek_event()  # type: ignore[attr-defined]  # the parser's, beside the composer in a loader
        mark = cast("yaml.Mark | None", event.start_mark if event is not None else None)
        return yaml.composer.ComposerError(None, None, problem, mark)


class _Loader(Protocol):
    """What the builder reads from a loader: the document's node and the safe constructor's scalars."""

    node_limit: int
    node_problem: str

    def get_single_node(self) -> yaml.Node | None: ...
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any: ...
    def dispose(self) -> None: ...


def _loader_type() -> Callable[[str], _Loader]:
    """libyaml's parser under the counting composer when PyYAML has it (its PyPI wheels do), else PyYAML's own
    pure-Python parser: the same documents, values and positions, only slower."""
    if hasattr(yaml, "CSafeLoader"):

        class LibyamlLoader(_Counting, yaml.CSafeLoader):  # the composer first: its counting replaces libyaml's
            def __init__(self, text: str) -> None:
                yaml.reader.Reader(text)  # PyYAML's check of the characters a YAML file may hold, by character
                yaml.CSafeLoader.__init__(self, text)
                Composer.__init__(self)

        return LibyamlLoader

    class PythonLoader(Reader, Scanner, Parser, _Counting, SafeConstructor, Resolver):  # SafeLoader's bases
        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return PythonLoader


_BoundedLoader = _loader_type()


class _Builder:
    def __init__(self, file: str, loader: _Loader, value_limit: int, pack_limited: bool) -> None:
        self.file = file
        self.loader = loader
        self.value_limit = value_limit
        self.pack_limited = pack_limited
        self.positions: dict[Loc, tuple[int, int]] = {}
        self.quoted: set[Loc] = set()
        self.count = 0

    def _at(self, node: yaml.Node) -> SourceLocation:
        return SourceLocation(self.file, *_line_and_column(node))

    def build(self, node: yaml.Node, loc: Loc, key_node: yaml.Node | None = None) -> Any:
        """Build a value; a collection under a key is located at its key, where an author looks for it."""
        self.count += 1
        if self.count > self.value_limit:
            if self.pack_limited:
                raise PackTooLarge(_PACK_VALUES_PROBLEM, self._at(node))
            raise PackError(f"document expands to more than {MAX_NODES:,} values (alias bomb?)", self._at(node))
        if len(loc) > MAX_DEPTH:  # only an alias inside its own anchor gets here: the composer bounds the rest
            raise PackError(f"nested more than {MAX_DEPTH} levels deep (an alias inside its anchor?)", self._at(node))
        collection = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
        self.positions.setdefault(loc, _line_and_column(key_node if collection and key_node else node))
        if collection and node.tag not in _PLAIN_COLLECTION_TAGS:
            raise PackError(f"YAML tag {node.tag!r} is not allowed in packs", self._at(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise PackError("mapping keys must be plain scalars", self._at(key_node))
                raw_key = self._scalar(key_node)
                key = raw_key if isinstance(raw_key, str) else str(raw_key)
                if key in result:
                    raise PackError(f"duplicate key {key!r}", self._at(key_node))
                if key == "<<":
                    raise PackError("merge keys (<<) are not supported in packs", self._at(key_node))
                result[key] = self.build(value_node, (*loc, key), key_node)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # noqa: S101 - composer yields only three node kinds
        if node.style in ("'", '"'):
            self.quoted.add(loc)
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        """A scalar's value; one that looks like a date, an int or a tagged value but is none is a PackError."""
        try:
            return self.loader.construct_object(node)
        except ValueError as exc:  # 2026-13-01, 2026-02-30, an int of 5000 digits
            raise PackError(f"{_shown(node.value)} is not a valid value: {exc}", self._at(node)) from exc
        except (KeyError, AttributeError) as exc:  # PyYAML's answer to `!!bool maybe`, `!!timestamp soon`
            raise PackError(f"{_shown(node.value)} does not fit its tag {node.tag}", self._at(node)) from exc


def _line_and_column(node: yaml.Node) -> tuple[int, int]:
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _shown(text: str, limit: int = 60) -> str:
    """A scalar as quoted in a message, shortened: a 5000-digit number should not fill the screen."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"


def load_yaml(path: Path, budget: PackBudget | None = None, *, kind: str = "pack file") -> YamlDocument:
    """Load one YAML file safely with positions; every failure is a PackError with file:line:col, naming the file
    as ``kind`` (``waiver file``).

    With a ``budget`` (a pack's, shared by its files) the file's bytes and values are also taken from it, and
    a file the rest of the budget cannot hold is refused: before it is read, or where its values run out.
    """
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PackError(f"cannot read {kind}: {exc.strerror}", SourceLocation(name)) from exc
    if size > MAX_FILE_BYTES:
        raise PackError(f"{kind} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", SourceLocation(name))
    if budget is not None and size > budget.bytes_left:
        raise _over_pack_bytes(name)
    try:
        data = read_at_most(path, MAX_FILE_BYTES)  # the size above can lie: a device, a growing file
    except OSError as exc:
        raise PackError(f"cannot read {kind}: {exc.strerror}", SourceLocation(name)) from exc
    if data is None:
        raise PackError(f"{kind} is more than {MAX_FILE_BYTES:,} bytes, the limit", SourceLocation(name))
    if budget is not None and not budget.spend_bytes(len(data)):  # the file grew since its size was read
        raise _over_pack_bytes(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackError(f"a {kind} must be UTF-8: {exc.reason} at byte {exc.start}", SourceLocation(name)) from exc
    return load_yaml_text(text, name, budget)


def _over_pack_bytes(name: str) -> PackTooLarge:
    return PackTooLarge(
        f"the pack's files hold more than {MAX_PACK_BYTES:,} bytes together, the limit for a pack",
        SourceLocation(name),
    )


def load_yaml_text(text: str, name: str, budget: PackBudget | None = None) -> YamlDocument:
    """Load YAML text safely with positions (one document; an empty one is an empty mapping); with a ``budget``,
    its values are taken from the pack's."""
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: NUL, U+0001, U+FFFE, a surrogate
        raise PackError(_bad_character(exc), _position(name, text, exc.position)) from exc
    value_limit = MAX_NODES if budget is None else min(MAX_NODES, budget.values_left)
    pack_limited = value_limit < MAX_NODES
    if pack_limited:
        loader.node_limit, loader.node_problem = value_limit, _PACK_VALUES_PROBLEM
    try:
        node = loader.get_single_node()
        builder = _Builder(name, loader, value_limit, pack_limited)
        value = {} if node is None else builder.build(node, ())
        if budget is not None:
            budget.spend_values(builder.count)
        return YamlDocument(name, value, builder.positions, builder.quoted)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = SourceLocation(name, mark.line + 1, mark.column + 1) if mark else SourceLocation(name)
        if pack_limited and exc.problem == _PACK_VALUES_PROBLEM:
            raise PackTooLarge(_PACK_VALUES_PROBLEM, where) from exc
        raise PackError(f"YAML syntax: {exc.problem or exc.context}", where) from exc
    except yaml.YAMLError as exc:
        raise PackError(f"YAML: {exc}", SourceLocation(name)) from exc
    finally:
        loader.dispose()


def _bad_character(exc: yaml.reader.ReaderError) -> str:
    character = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return f"character U+{character:04X} is not allowed in a YAML file (a control character or non-character)"


def _position(name: str, text: str, offset: int) -> SourceLocation:
    """``file:line:col`` of a character offset in ``text``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return SourceLocation(name, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def walk_strings(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every string inside a value, with its path (used to scan example fragments)."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_strings(item, (*loc, i))
