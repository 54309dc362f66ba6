"""One walker over the record model's types: the model, lint and the durable compiler see the same kinds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, Required

import pytest
from typing_extensions import TypedDict

from svcpolicy.authoring.lint import FIELD_KINDS
from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engines.durable.lowering import NodeCompiler, Scope
from svcpolicy.engines.durable.slots import SlotTable
from svcpolicy.engines.durable.unsupported import Unsupported
from svcpolicy.expr import parse
from svcpolicy.records.model import ABSENT_DEFAULTS, RECORD_TYPE, AbsentMeans, field_paths
from svcpolicy.records.types import FieldSpec, describe

WALKED = {spec.path: spec for spec in RECORD_TYPE.descendants()}


def _durable_compiler() -> NodeCompiler:
    return NodeCompiler(
        root_type=RECORD_TYPE,
        defaults=ABSENT_DEFAULTS,
        record_table=SlotTable("p"),
        loop_table=None,
        constants={},
        params=frozenset(),
        tz=dt.UTC,
        calendar=HolidayCalendar.official(),
    )


def _durable_kind(path: str) -> str:
    """The kind the durable compiler resolves a schema path to (``a[].b`` read as ``a[0].b``)."""
    node = parse(path.replace("[]", "[0]"))
    _, _, spec, schema = _durable_compiler().path(node, Scope(), use_defaults=False)
    assert schema == path
    return spec.kind


def test_lint_knows_every_field_the_walker_describes_with_the_same_kind_nullability_and_choices() -> None:
    assert set(FIELD_KINDS) == set(WALKED) == field_paths()
    for path, spec in WALKED.items():
        known = FIELD_KINDS[path]
        assert (known.kind, known.nullable, known.choices) == (spec.kind, spec.nullable, spec.choices), path


@pytest.mark.parametrize("path", sorted(p for p in FIELD_KINDS if not p.startswith("extra.")))
def test_every_path_lint_knows_has_the_kind_the_durable_type_tree_gives(path: str) -> None:
    assert _durable_kind(path) == FIELD_KINDS[path].kind


def test_absence_meanings_are_the_absent_means_markers_the_walker_finds() -> None:
    marked = {path: m.value for path, spec in WALKED.items() for m in spec.metadata if isinstance(m, AbsentMeans)}
    assert dict(ABSENT_DEFAULTS) == marked


def test_a_decimal_amount_is_a_decimal_in_every_view() -> None:
    for path in ("fees[].amount", "operations[].amount", "service_recovery.compensation_amount"):
        assert WALKED[path].kind == FIELD_KINDS[path].kind == _durable_kind(path) == "decimal"


def test_the_durable_compiler_leaves_a_decimal_amount_to_the_closure_engine() -> None:
    with pytest.raises(Unsupported, match="exact decimal amount"):
        _durable_compiler().key(parse("service_recovery.compensation_amount"), Scope())


class _Inner(TypedDict, total=False):
    at: dt.datetime | None


class _Sample(TypedDict, total=False):
    id: Required[Annotated[str, "a note"]]
    level: Literal[1, 2] | None
    amount: Decimal
    flags: Annotated[list[_Inner], AbsentMeans([])]
    free: dict[str, Any]
    either: int | str
    day: dt.date


def test_the_walker_describes_every_kind_of_annotation_the_model_uses() -> None:
    sample = describe(_Sample)
    fields = sample.fields or {}
    assert fields["id"] == FieldSpec("id", "string", metadata=("a note",))
    assert fields["level"] == FieldSpec("level", "number", nullable=True, choices=(1, 2))
    assert fields["amount"].kind == "decimal"
    assert fields["flags"].kind == "list" and fields["flags"].metadata == (AbsentMeans([]),)
    assert fields["flags"].item is not None and fields["flags"].item.path == "flags[]"
    assert fields["free"].free_form and not fields["flags"].free_form
    assert fields["either"].kind == "any"
    assert fields["day"].kind == "date"
    assert [spec.path for spec in sample.descendants()] == [
        "id",
        "level",
        "amount",
        "flags",
        "flags[].at",
        "free",
        "either",
        "day",
    ]
    assert next(s for s in sample.descendants() if s.path == "flags[].at") == FieldSpec(
        "flags[].at", "datetime", nullable=True
    )
