"""One walk over the record model's TypedDicts: what every field holds, in one vocabulary of kinds.

The record model (:mod:`svcpolicy.records.model`) is written as annotated TypedDicts. Several parts of svcpolicy
need to know what a field holds: the model itself (the absent-field defaults and the list of paths), lint (field
paths and the literals they are compared with), and the durable-rules compiler (which fields it can project into
facts). They all read the one tree :func:`describe` builds, so they cannot disagree.

Kinds: ``bool``; ``number`` (``int``, ``float``, a ``Literal`` of ints); ``decimal``; ``string`` (``str``, a
``Literal`` of strings); ``datetime``; ``date``; ``mapping`` (a TypedDict, whose ``fields`` are known, or a
free-form ``dict``, whose ``fields`` are None); ``list`` (its ``item`` is described too); ``any`` (anything else,
e.g. a union of several types).

A ``Decimal`` is its own kind, ``decimal``, not a ``number``: it is exact (amounts of money), it compares exactly
with numbers (``==`` and ordering) but raises when mixed with a float in arithmetic, and a double (durable-rules'
only number) cannot hold it faithfully. A consumer that only asks "can this field equal a number literal"
accepts ``decimal`` where it accepts ``number``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

Kind = Literal["bool", "number", "decimal", "string", "datetime", "date", "mapping", "list", "any"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of the model (or the record itself, at path ``""``, or a list's item, at ``path[]``).

    ``path`` is the schema path (``operations[].authorization.at``); ``nullable`` says the annotation admits
    ``None``; ``choices`` are a ``Literal``'s values; ``metadata`` the ``Annotated`` extras of the field (e.g.
    ``AbsentMeans``, pydantic's ``Field``); ``item`` describes a list's items and ``fields`` a mapping's fields.
    ``required`` says a mapping's field must be present; ``scalar`` is the Python type of a scalar field (``int``
    or ``float`` for a ``number``), for decoders that must tell them apart.
    """

    path: str
    kind: Kind
    nullable: bool = False
    choices: tuple[Any, ...] = ()
    metadata: tuple[Any, ...] = ()
    item: FieldSpec | None = None
    fields: Mapping[str, FieldSpec] | None = None
    # not compared: two fields of one kind read alike to every consumer but a decoder
    scalar: type | None = dataclasses.field(default=None, compare=False)
    required: bool = dataclasses.field(default=False, compare=False)

    @property
    def free_form(self) -> bool:
        """A mapping whose fields the model does not name (``extra``): anything goes below it."""
        return self.kind == "mapping" and self.fields is None

    def descendants(self) -> Iterator[FieldSpec]:
        """Every named field below this one, depth first, the fields of list items included (the items
        themselves are not fields: ``offers[].sold`` is listed, ``offers[]`` is not)."""
        for child in (self.fields or {}).values():
            yield child
            yield from child.descendants()
        if self.item is not None:
            yield from self.item.descendants()


def describe(annotation: Any, path: str = "") -> FieldSpec:
    """The :class:`FieldSpec` tree of an annotation (a TypedDict, for the whole model), at schema ``path``."""
    metadata: list[Any] = []
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin in (Required, NotRequired):
            annotation = get_args(annotation)[0]
        elif origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin in (Union, types.UnionType):
            options = get_args(annotation)
            nullable = nullable or type(None) in options
            rest = [option for option in options if option is not type(None)]
            if len(rest) != 1:
                return FieldSpec(path, "any", nullable, metadata=tuple(metadata))
            annotation = rest[0]
        else:
            break
    kind: Kind
    choices: tuple[Any, ...] = ()
    item: FieldSpec | None = None
    fields: Mapping[str, FieldSpec] | None = None
    scalar: type | None = None
    if origin is Literal:
        choices = get_args(annotation)
        kind = _literal_kind(choices)
    elif origin is list:
        kind, item = "list", describe(get_args(annotation)[0], f"{path}[]")
    elif origin is dict or annotation is dict:
        kind = "mapping"
    elif is_typeddict(annotation):
        hints = get_type_hints(annotation, include_extras=True)
        kind = "mapping"
        required = annotation.__required_keys__
        fields = types.MappingProxyType(
            {
                name: dataclasses.replace(describe(hint, f"{path}.{name}" if path else name), required=name in required)
                for name, hint in hints.items()
            }
        )
    else:
        kind = _scalar_kind(annotation)
        scalar = annotation if isinstance(annotation, type) else None
    return FieldSpec(path, kind, nullable, choices, tuple(metadata), item, fields, scalar)


def _literal_kind(choices: tuple[Any, ...]) -> Kind:
    if all(isinstance(c, str) for c in choices):
        return "string"
    if all(isinstance(c, bool) for c in choices):
        return "bool"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        return "number"
    return "any"


def _scalar_kind(annotation: Any) -> Kind:
    from pydantic import AwareDatetime  # here, not at import: only the model (pydantic already) describes itself

    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if annotation is Decimal:
        return "decimal"
    if annotation is str:
        return "string"
    if annotation is AwareDatetime or (isinstance(annotation, type) and issubclass(annotation, dt.datetime)):
        return "datetime"
    if isinstance(annotation, type) and issubclass(annotation, dt.date):
        return "date"
    return "any"
