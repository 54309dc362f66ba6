"""Hypothesis strategies that build records from the record model alone (its annotations and constraints)."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import annotated_types
from hypothesis import strategies as st
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo
from typing_extensions import Required, is_typeddict  # noqa: UP035 - the model's own Required

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what orjson writes
SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=8),
    bool: st.booleans(),
    Decimal: st.decimals(allow_nan=False, allow_infinity=False, places=2),
    AwareDatetime: st.datetimes(
        min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=OFFSETS
    ),
}


def strategy(
    annotation: Any, bounds: dict[str, Any] | None = None, scalars: dict[Any, st.SearchStrategy[Any]] = SCALARS
) -> st.SearchStrategy[Any]:
    """Values of a model annotation, honouring its Field constraints: records built from the model alone."""
    bounds = dict(bounds or {})
    origin = get_origin(annotation)
    if origin is Required:
        return strategy(get_args(annotation)[0], bounds, scalars)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        for item in metadata:
            for constraint in item.metadata if isinstance(item, FieldInfo) else [item]:
                if isinstance(constraint, annotated_types.Ge):
                    bounds["ge"] = constraint.ge
                elif isinstance(constraint, annotated_types.Le):
                    bounds["le"] = constraint.le
                elif isinstance(constraint, annotated_types.MinLen):
                    bounds["min_length"] = constraint.min_length
        return strategy(inner, bounds, scalars)
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy(arg, bounds, scalars) for arg in get_args(annotation)))
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        return st.lists(strategy(get_args(annotation)[0], scalars=scalars), max_size=2)
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), INT64 | st.text(max_size=5), max_size=2)
    if is_typeddict(annotation):
        hints = get_type_hints(annotation, include_extras=True)
        fields = {name: strategy(hint, scalars=scalars) for name, hint in hints.items()}
        required = {name: fields.pop(name) for name in annotation.__required_keys__}
        return st.fixed_dictionaries(required, optional=fields)
    low, high = bounds.get("ge"), bounds.get("le")
    if annotation is int:
        return st.integers(min_value=low, max_value=high)
    if annotation is float:
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if annotation is str and "min_length" in bounds:
        return st.text(min_size=bounds["min_length"], max_size=8)
    return scalars[annotation]


def records_between(start: dt.datetime, end: dt.datetime) -> st.SearchStrategy[Any]:
    """Records whose times all fall between two dates (e.g. a year the holiday calendar knows)."""
    scalars = {**SCALARS, AwareDatetime: st.datetimes(min_value=start, max_value=end, timezones=OFFSETS)}
    from svcpolicy.records.model import Interaction

    return strategy(Interaction, scalars=scalars)
