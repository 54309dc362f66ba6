"""Find a key that one JSON object gives twice (``{"consent": false, "consent": true}``).

Every fast JSON parser keeps the last value silently, but another system reading the same export may keep the
first: such a record is ambiguous, so it is invalid, and its error names the key's path. The exact check parses
the text again with Python's parser, which hands each object over as its list of pairs; it runs only when a
cheap test cannot rule a repeated key out.

The cheap test compares the number of ``"`` bytes in the line with the number in the JSON of what a parser
decoded from it (:func:`may_repeat_keys`). Every key and every text value is one quoted string; a ``"`` inside
one is written ``\\"`` by the line (unless it is written ``\\u0022``, which sends the line to the exact check)
and by the encoder alike, and decoding never makes a string out of a value that was not one. So the decoded
JSON holds at most as many ``"`` as the line, and exactly as many only when every key and value of the line
survived decoding: a repeated key loses one key and its value, and with them at least two ``"``. Keys a parser
drops for another reason (fields the record model does not know) also make the counts differ; those lines just
take the exact check, which finds nothing.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = [
    "REPEATED_KEY",
    "checked_repeated_key",
    "duplicate_key_problem",
    "may_repeat_keys",
    "repeated_key",
    "repeated_key_problem",
]

_ESCAPED_QUOTE = b"\\u0022"


def may_repeat_keys(line: bytes, decoded_json: bytes) -> bool:
    """False when ``line`` certainly gives no key twice in one object: ``decoded_json`` is the JSON a parser's
    value for ``line`` encodes to (two C-level counts and a search, no Python per key)."""
    return decoded_json.count(b'"') != line.count(b'"') or (b"\\" in line and _ESCAPED_QUOTE in line)


class _Repeating(dict[str, Any]):
    """An object that gave a key twice, and which key: marked so that its path can be found afterwards."""

    repeated: str


def repeated_key(text: bytes | str) -> str | None:
    """The path of the first key an object of ``text`` gives twice (``customer.consent``, ``operations.0.at``),
    else None; None too for text that is no JSON (its own error says so)."""
    repeating: list[_Repeating] = []

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        marked = _Repeating(value)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                marked.repeated = key
                break
            seen.add(key)
        repeating.append(marked)
        return marked

    # numbers kept as their text: no number, however long, stops the check before it has seen every key
    decoder = json.JSONDecoder(object_pairs_hook=build, parse_float=str, parse_int=str, parse_constant=str)
    try:
        value = decoder.decode(text.decode("utf-8", "surrogatepass") if isinstance(text, bytes) else text)
    except (ValueError, RecursionError):
        return None
    return _path_to_first(value) if repeating else None


def _path_to_first(value: Any) -> str | None:
    """The path of the first object, in the order of the text, marked as giving a key twice (iterative: a deep
    record cannot overflow the stack)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Repeating):
            return f"{path}.{item.repeated}" if path else item.repeated
        if isinstance(item, dict):
            stack.extend((f"{path}.{key}" if path else key, child) for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}.{index}", child) for index, child in reversed(list(enumerate(item))))
    return None


def checked_repeated_key(text: bytes | str) -> str | None:
    """:func:`repeated_key` after the cheap test, which orjson's value for ``text`` gives (for the lines the fast
    path did not decode, JSON record files and events)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        decoded_json = orjson.dumps(orjson.loads(data))
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # a number past 64 bits, a NaN, deep nesting:
        decoded_json = b""  # no JSON to orjson, so no count to compare; the exact check decides
    return repeated_key(data) if may_repeat_keys(data, decoded_json) else None


def repeated_key_problem(text: bytes | str) -> str | None:
    """An invalid record's error when ``text`` gives a key twice in one object, else None."""
    path = checked_repeated_key(text)
    return None if path is None else duplicate_key_problem(path)


def duplicate_key_problem(path: str) -> str:
    """The error of a record that gives the key at ``path`` twice, in words a data owner acts on."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in path)
    return f"{shown}: {REPEATED_KEY}"  # a key's control characters escaped: a message must not drive a terminal


REPEATED_KEY = (
    "the key is given twice in one object: which value counts is ambiguous (another system may read the other)"
)
