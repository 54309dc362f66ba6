"""The record model's shape as plain data, so that decoding a valid record never imports pydantic.

The model (:mod:`svcpolicy.records.model`) is pydantic TypedDicts, and importing pydantic costs more than a short
run does. What the msgspec fast path (:mod:`svcpolicy.records.fast_decode`), the CSV reader and the engine need
of it is plain data: each field's kind, nullability, choices and constraints, and what absence means. This
module says how that data is laid out (:class:`ShapeNode`) and derives it from the model; the result is checked
in as :mod:`svcpolicy.records.record_shape`, regenerated with ``make record-shape``
(``python -m svcpolicy.records.shape``), and ``tests/test_record_shape.py`` fails when it no longer matches the
model, which stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from svcpolicy.records.types import FieldSpec, Kind

__all__ = ["UNMIRRORED", "ShapeNode", "fields_below", "render", "shape_of"]

UNMIRRORED: Literal["unmirrored"] = "unmirrored"
"""A field's ``constraints`` when one of them has no msgspec counterpart: present, the field goes to pydantic."""


class ShapeNode(TypedDict):
    """One field of the model as plain data (the record itself at path ``""``, a list's item at ``path[]``).

    ``constraints`` are the field's pydantic constraints as ``msgspec.Meta`` arguments, or :data:`UNMIRRORED`;
    ``scalar`` names a scalar field's Python type (``int`` or ``float`` tell numbers apart); the other keys are
    :class:`~svcpolicy.records.types.FieldSpec`'s.
    """

    path: str
    kind: Kind
    nullable: bool
    required: bool
    choices: tuple[Any, ...]
    constraints: dict[str, Any] | Literal["unmirrored"]
    scalar: str | None
    item: ShapeNode | None
    fields: dict[str, ShapeNode] | None


def fields_below(node: ShapeNode) -> Iterator[ShapeNode]:
    """Every named field below ``node``, depth first, as :meth:`FieldSpec.descendants` lists them."""
    for child in (node["fields"] or {}).values():
        yield child
        yield from fields_below(child)
    if node["item"] is not None:
        yield from fields_below(node["item"])


def _constraints(spec: FieldSpec) -> dict[str, Any] | Literal["unmirrored"]:
    """The field's pydantic constraints as msgspec ``Meta`` arguments, or :data:`UNMIRRORED` when one has none."""
    import annotated_types
    from pydantic import AllowInfNan
    from pydantic.fields import FieldInfo

    meta_keys: dict[type, str] = {
        annotated_types.Ge: "ge",
        annotated_types.Gt: "gt",
        annotated_types.Le: "le",
        annotated_types.Lt: "lt",
        annotated_types.MinLen: "min_length",
        annotated_types.MaxLen: "max_length",
    }
    meta: dict[str, Any] = {}
    for extra in spec.metadata:
        for constraint in extra.metadata if isinstance(extra, FieldInfo) else ():
            key = meta_keys.get(type(constraint))
            if key is not None:
                meta[key] = getattr(constraint, key)
            elif not (isinstance(constraint, AllowInfNan) and not constraint.allow_inf_nan):
                return UNMIRRORED  # JSON has no inf/nan and msgspec refuses 1e400, so allow_inf_nan=False holds as is
    return meta


def shape_of(spec: FieldSpec) -> ShapeNode:
    """The plain shape of a :class:`FieldSpec` tree (for the whole model, of ``RECORD_TYPE``)."""
    return {
        "path": spec.path,
        "kind": spec.kind,
        "nullable": spec.nullable,
        "required": spec.required,
        "choices": spec.choices,
        "constraints": _constraints(spec),
        "scalar": None if spec.scalar is None else spec.scalar.__name__,
        "item": None if spec.item is None else shape_of(spec.item),
        "fields": None if spec.fields is None else {name: shape_of(child) for name, child in spec.fields.items()},
    }


_HEADER = '''\
"""The record model's shape as plain data: GENERATED from svcpolicy.records.model, do not edit.

Regenerate with ``make record-shape`` (``python -m svcpolicy.records.shape > src/svcpolicy/records/record_shape.py``
then ``ruff format``); tests/test_record_shape.py fails while this differs from the model. The layout is
:class:`svcpolicy.records.shape.ShapeNode`.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from svcpolicy.records.shape import ShapeNode

'''


def render(record_shape: ShapeNode, absent_defaults: Mapping[str, Any]) -> str:
    """The source of :mod:`svcpolicy.records.record_shape` for a shape and the model's absent-field meanings."""
    import pprint

    shape = pprint.pformat(record_shape, width=120, sort_dicts=False)
    defaults = pprint.pformat(dict(absent_defaults), width=120, sort_dicts=False)
    return (
        f"{_HEADER}RECORD_SHAPE: ShapeNode = {shape}\n"
        '"""The record model, as :func:`svcpolicy.records.shape.shape_of` gives it for ``RECORD_TYPE``."""\n\n'
        f"ABSENT_DEFAULTS: Mapping[str, Any] = types.MappingProxyType({defaults})\n"
        '"""What absence means, by schema path (``offers[].statements``); fields not listed have no default.\n\n'
        'The list values are shared: copy before mutating.\n"""\n'
    )


def _main() -> None:
    import sys

    from svcpolicy.records.model import ABSENT_DEFAULTS, RECORD_TYPE

    sys.stdout.write(render(shape_of(RECORD_TYPE), ABSENT_DEFAULTS))


if __name__ == "__main__":
    _main()
