"""The fast path from a JSONL line to a validated record: msgspec Structs generated from the record model.

pydantic's ``INTERACTION_ADAPTER`` stays the definition of a valid record and of every error message; this
path only takes the common case faster (decoding and validating with msgspec costs about a third of pydantic's
time) and gives datetimes a standard ``datetime.timezone``, which compares about ten times faster than
pydantic's own ``TzInfo``. The Structs are generated, when the first line is decoded, from the model's shape as
plain data (:mod:`svcpolicy.records.record_shape`, checked against the model by ``tests/test_record_shape.py``):
a field added to the model is decoded here too, and decoding valid records never imports pydantic.

The fast path is strict, and rejects whatever it could not turn into exactly pydantic's value: numbers written
as text (and text as numbers), lax booleans, JSON numbers in decimal fields (pydantic reads them through a
float: ``10.50`` becomes ``10.5``), times with more than six fractional digits (msgspec rounds them, pydantic
truncates) and any field kind or constraint it does not mirror. A rejected line goes to pydantic, which applies its
documented coercions or explains what is wrong. ``tests/test_fast_decode.py`` checks, on generated records, that
both paths accept the same records with equal values.

``extra``, the one free mapping, may nest as deep as its data goes, and msgspec reads deeper than pydantic's JSON
parser (200 levels below the record): a line whose ``extra`` goes deeper is left to pydantic, which refuses it.

msgspec keeps the last of a key given twice, so a line that may give one twice
(:func:`~svcpolicy.records.duplicate_keys.may_repeat_keys`, from the Structs encoded again) is checked exactly, and
one that does is not taken.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from svcpolicy.records.duplicate_keys import may_repeat_keys, repeated_key
from svcpolicy.records.record_shape import RECORD_SHAPE

if TYPE_CHECKING:
    from svcpolicy.records.model import Interaction
    from svcpolicy.records.shape import ShapeNode

__all__ = ["decode_fast"]


class _Unmirrored:
    """Stands for a field whose kind or constraint the fast path does not mirror: present, it goes to pydantic."""


def _value_type(node: ShapeNode) -> Any:
    """The msgspec type of one field's values (None included when the model admits null)."""
    constraints = node["constraints"]
    if isinstance(constraints, str):  # UNMIRRORED
        return _Unmirrored
    meta = dict(constraints)
    kind = node["kind"]
    item = node["item"]
    base: Any
    if node["choices"]:
        base = Literal.__getitem__(node["choices"]) if kind in ("string", "number") else _Unmirrored
    elif kind == "bool":
        base = bool
    elif kind == "number":
        base = _NUMBERS.get(node["scalar"], _Unmirrored)
    elif kind == "decimal":
        base = _DecimalText if not meta else _Unmirrored  # made a Decimal by _decimal_from_text
    elif kind == "string":
        base = str
    elif kind == "datetime":
        base, meta = dt.datetime, {**meta, "tz": True}
    elif kind == "date":
        base = dt.date
    elif kind == "list" and item is not None:
        base = list[_value_type(item)]  # type: ignore[misc]
    elif kind == "mapping":
        base = dict[str, Any] if node["fields"] is None else _struct(node)
    else:
        base = _Unmirrored
    if meta and base is not _Unmirrored:
        base = Annotated[base, msgspec.Meta(**meta)]
    return base | None if node["nullable"] else base


_NUMBERS: dict[str | None, type] = {"int": int, "float": float}


def _struct(node: ShapeNode) -> type[msgspec.Struct]:
    """One Struct per mapping of the model; absent fields are ``UNSET`` so that they stay absent."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, child in (node["fields"] or {}).items():
        value = _value_type(child)
        fields.append((name, value) if child["required"] else (name, value | msgspec.UnsetType, msgspec.UNSET))
    name = "".join(part.title() for part in re.split(r"\W+", node["path"]) if part) or "Record"
    # gc=False: a decoded Struct lives only until it is turned into dicts and cannot be part of a cycle; not
    # tracking it saves the collector's bookkeeping on every one
    return msgspec.defstruct(name, fields, kw_only=True, module=__name__, gc=False)


class _IsDecimal(type):
    """The metaclass of ``_DecimalText``: a ``Decimal`` is an instance, told by its exact type."""

    def __instancecheck__(cls, instance: object) -> bool:
        return type(instance) is Decimal


class _DecimalText(metaclass=_IsDecimal):
    """A decimal field's type for msgspec: JSON text that :func:`_decimal_from_text` makes a ``Decimal``.

    msgspec's own ``Decimal`` also takes JSON numbers (``10.50`` stays ``Decimal("10.50")``, pydantic reads
    ``10.5``) and ``"NaN"``; a type of our own sends each value through the hook instead. msgspec then checks
    that the hook's value is an instance of this type, which the hook's plain ``Decimal`` is by the metaclass:
    one call per decimal value, where an ABC with ``Decimal`` registered took two (and its cache look-ups).
    """


def _decimal_from_text(kind: type, value: Any) -> Decimal:
    """msgspec's ``dec_hook``: decimal text to a finite ``Decimal`` as pydantic makes it (``Decimal(text)``);
    ASCII only, so that every text taken here is one pydantic takes too. Raising sends the line to pydantic."""
    if kind is not _DecimalText or type(value) is not str or not value.isascii():
        raise ValueError("left to pydantic")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("not a decimal") from None
    if not number.is_finite():
        raise ValueError("not finite")
    return number


def _first_decode(line: bytes) -> msgspec.Struct:
    """Decode the first line, after building the Structs and their decoder, which then decodes every later line:
    importing the readers (to read CSV, or to import the engine) does not pay for them. Two threads decoding the
    first lines at once may both build one; either decoder is right."""
    global _decode
    _decode = msgspec.json.Decoder(_struct(RECORD_SHAPE), dec_hook=_decimal_from_text).decode
    return _decode(line)


_decode: Callable[[bytes], msgspec.Struct] = _first_decode
# ``:\d\d\.\d{7}`` (seconds with seven or more fractional digits), written to start at the dot: a literal first
# character the scan can skip ahead to, which JSON has far fewer of than colons (twice as fast)
_has_long_fraction = re.compile(rb"\.(?<=:\d\d\.)\d{7}").search
_BUILTINS = (dt.datetime, dt.date, Decimal)
_to_builtins: Callable[..., Any] = msgspec.to_builtins
_encode = msgspec.json.Encoder().encode


_EXTRA_DEPTH = 199
"""How many levels below ``extra`` a value may sit: pydantic's JSON parser reads values up to 200 levels into
the record (the record's own fields at 1, ``extra``'s at 2)."""


def _nests_deeper(mapping: dict[str, Any], levels: int) -> bool:
    """Whether a value sits more than ``levels`` levels below ``mapping`` (its own values at 1); iterative, so the
    walk itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(value, 1) for value in mapping.values()]
    while stack:
        value, depth = stack.pop()
        if depth > levels:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


def decode_fast(line: bytes) -> Interaction | None:
    """The validated record of a JSONL line, or None when the fast path does not take it (ask pydantic)."""
    if _has_long_fraction(line) is not None:
        return None
    try:
        struct = _decode(line)
    except (msgspec.MsgspecError, RecursionError):  # also nesting too deep for msgspec: pydantic explains
        return None
    if may_repeat_keys(line, _encode(struct)) and repeated_key(line) is not None:
        return None  # a key given twice: the caller says so
    extra = getattr(struct, "extra", None)
    if extra and _nests_deeper(extra, _EXTRA_DEPTH):
        return None
    record: Interaction = _to_builtins(struct, builtin_types=_BUILTINS)
    return record
