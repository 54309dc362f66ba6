"""The fast path from a JSONL line to a validated record: msgspec Structs generated from the record model.

pydantic's ``INTERACTION_ADAPTER`` stays the definition of a valid record and of every error message; this
path only takes the common case faster (decoding and validating with msgspec costs about a third of pydantic's
time) and gives datetimes a standard ``datetime.timezone``, which compares about ten times faster than
pydantic's own ``TzInfo``. The Structs are generated from :data:`~svcpolicy.records.model.RECORD_TYPE` at
import, so a field added to the model is decoded here too.

The fast path is strict, and rejects whatever it could not turn into exactly pydantic's value: numbers written
as text (and text as numbers), lax booleans, JSON numbers in decimal fields (pydantic reads them through a
float: ``10.50`` becomes ``10.5``), times with more than six fractional digits (msgspec rounds them, pydantic
truncates) and any field kind or constraint it does not mirror. A rejected line goes to pydantic, which applies its
documented coercions or explains what is wrong. ``tests/test_fast_decode.py`` checks, on generated records, that
both paths accept the same records with equal values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import annotated_types
import msgspec
from pydantic import AllowInfNan
from pydantic.fields import FieldInfo

from svcpolicy.records.model import RECORD_TYPE, Interaction
from svcpolicy.records.types import FieldSpec

__all__ = ["decode_fast"]


class _Unmirrored:
    """Stands for a field whose kind or constraint the fast path does not mirror: present, it goes to pydantic."""


_META_KEYS: dict[type, str] = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}


def _constraints(spec: FieldSpec) -> dict[str, Any] | None:
    """The field's pydantic constraints as msgspec ``Meta`` arguments; None when one has no counterpart."""
    meta: dict[str, Any] = {}
    for extra in spec.metadata:
        for constraint in extra.metadata if isinstance(extra, FieldInfo) else ():
            key = _META_KEYS.get(type(constraint))
            if key is not None:
                meta[key] = getattr(constraint, key)
            elif not (isinstance(constraint, AllowInfNan) and not constraint.allow_inf_nan):
                return None  # JSON has no inf/nan and msgspec refuses 1e400, so allow_inf_nan=False holds as is
    return meta


def _value_type(spec: FieldSpec, structs: dict[str, type[msgspec.Struct]]) -> Any:
    """The msgspec type of one field's values (None included when the model admits null)."""
    meta = _constraints(spec)
    if meta is None:
        return _Unmirrored
    kind = spec.kind
    base: Any
    if spec.choices:
        base = Literal.__getitem__(spec.choices) if kind in ("string", "number") else _Unmirrored
    elif kind == "bool":
        base = bool
    elif kind == "number":
        base = spec.scalar if spec.scalar in (int, float) else _Unmirrored
    elif kind == "decimal":
        base = _DecimalText if not meta else _Unmirrored  # made a Decimal by _decimal_from_text
    elif kind == "string":
        base = str
    elif kind == "datetime":
        base, meta = dt.datetime, {**meta, "tz": True}
    elif kind == "date":
        base = dt.date
    elif kind == "list" and spec.item is not None:
        base = list[_value_type(spec.item, structs)]  # type: ignore[misc]
    elif kind == "mapping":
        base = dict[str, Any] if spec.fields is None else _struct(spec, structs)
    else:
        base = _Unmirrored
    if meta and base is not _Unmirrored:
        base = Annotated[base, msgspec.Meta(**meta)]
    return base | None if spec.nullable else base


def _struct(spec: FieldSpec, structs: dict[str, type[msgspec.Struct]]) -> type[msgspec.Struct]:
    """One Struct per mapping of the model; absent fields are ``UNSET`` so that they stay absent."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, child in (spec.fields or {}).items():
        value = _value_type(child, structs)
        fields.append((name, value) if child.required else (name, value | msgspec.UnsetType, msgspec.UNSET))
    name = "".join(part.title() for part in re.split(r"\W+", spec.path) if part) or "Record"
    # gc=False: a decoded Struct lives only until it is turned into dicts and cannot be part of a cycle; not
    # tracking it saves the collector's bookkeeping on every one
    struct = msgspec.defstruct(name, fields, kw_only=True, module=__name__, gc=False)
    structs[spec.path] = struct
    return struct


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


_STRUCTS: dict[str, type[msgspec.Struct]] = {}
_decode: Callable[[bytes], msgspec.Struct] = msgspec.json.Decoder(
    _struct(RECORD_TYPE, _STRUCTS), dec_hook=_decimal_from_text
).decode
# ``:\d\d\.\d{7}`` (seconds with seven or more fractional digits), written to start at the dot: a literal first
# character the scan can skip ahead to, which JSON has far fewer of than colons (twice as fast)
_has_long_fraction = re.compile(rb"\.(?<=:\d\d\.)\d{7}").search
_BUILTINS = (dt.datetime, dt.date, Decimal)
_to_builtins: Callable[..., Any] = msgspec.to_builtins


def decode_fast(line: bytes) -> Interaction | None:
    """The validated record of a JSONL line, or None when the fast path does not take it (ask pydantic)."""
    if _has_long_fraction(line) is not None:
        return None
    try:
        struct = _decode(line)
    except (msgspec.MsgspecError, RecursionError):  # also nesting too deep for msgspec: pydantic explains
        return None
    record: Interaction = _to_builtins(struct, builtin_types=_BUILTINS)
    return record
