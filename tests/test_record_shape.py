"""The record model's shape as plain data: equal to the model's, and enough to read valid records without pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from svcpolicy.records import record_shape
from svcpolicy.records.model import ABSENT_DEFAULTS, RECORD_TYPE
from svcpolicy.records.readers import Locator, RawRecord, read_records, validate
from svcpolicy.records.shape import UNMIRRORED, fields_below, render, shape_of
from svcpolicy.records.types import describe


def test_the_checked_in_shape_is_the_models_shape_regenerate_with_make_record_shape() -> None:
    assert shape_of(RECORD_TYPE) == record_shape.RECORD_SHAPE


def test_the_checked_in_absence_meanings_are_the_models() -> None:
    assert dict(record_shape.ABSENT_DEFAULTS) == dict(ABSENT_DEFAULTS)
    assert list(record_shape.ABSENT_DEFAULTS) == list(ABSENT_DEFAULTS)


def test_the_rendered_module_holds_the_shape_it_was_rendered_from() -> None:
    namespace: dict[str, Any] = {}
    exec(render(shape_of(RECORD_TYPE), ABSENT_DEFAULTS), namespace)  # noqa: S102 - our own generated source
    assert namespace["RECORD_SHAPE"] == shape_of(RECORD_TYPE)
    assert dict(namespace["ABSENT_DEFAULTS"]) == dict(ABSENT_DEFAULTS)


def test_the_shapes_fields_are_the_models_fields_in_the_same_order() -> None:
    assert [node["path"] for node in fields_below(record_shape.RECORD_SHAPE)] == [
        spec.path for spec in RECORD_TYPE.descendants()
    ]


def test_constraints_become_msgspec_arguments_and_others_are_unmirrored() -> None:
    assert shape_of(describe(Annotated[int, Field(ge=1, le=5)]))["constraints"] == {"ge": 1, "le": 5}
    assert shape_of(describe(Annotated[float, Field(ge=0, allow_inf_nan=False)]))["constraints"] == {"ge": 0}
    assert shape_of(describe(Annotated[str, Field(pattern="^R")]))["constraints"] == UNMIRRORED


def test_a_numbers_scalar_type_is_named() -> None:
    fields = record_shape.RECORD_SHAPE["fields"]
    assert fields is not None
    assert fields["wait_minutes"]["scalar"] == "float"
    customer = fields["customer"]["fields"]
    assert customer is not None and customer["age"]["scalar"] == "int"


def _run_fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter (nothing imported yet) and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_readers_imports_neither_pydantic_nor_the_record_model() -> None:
    imported = _run_fresh(
        """
        import json, sys
        import svcpolicy.records.readers, svcpolicy.records.fast_decode, svcpolicy.records.record_shape
        print(json.dumps(["pydantic" in sys.modules, "svcpolicy.records.model" in sys.modules]))
        """
    )
    assert imported == [False, False]


def test_valid_jsonl_records_are_read_without_pydantic(tmp_path: Any) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(
        b'{"id": "R1", "started_at": "2026-03-01T09:00:00+08:00", "fees": [{"amount": "10.50"}]}\n'
        b'{"id": "R2", "customer": {"age": 40, "identity_verified": true}}\n'
    )
    outcome = _run_fresh(
        f"""
        import json, sys
        from svcpolicy.records.readers import read_records, validate
        results = [validate(raw) for raw in read_records({str(path)!r})]
        print(json.dumps([[r is not None, e] for r, e, _ in results] + ["pydantic" in sys.modules]))
        """
    )
    assert outcome == [[True, None], [True, None], False]


def test_a_line_the_fast_path_refuses_is_judged_by_pydantic_imported_then() -> None:
    outcome = _run_fresh(
        """
        import json, sys
        from svcpolicy.records.readers import Locator, RawRecord, validate
        coerced, error, _ = validate(RawRecord(Locator("x.jsonl", 1), b'{"id": 42, "fees": [{"amount": 10.50}]}'))
        _, message, record_id = validate(RawRecord(Locator("x.jsonl", 2), b'{"id": "R3", "wait_minutes": "12"}'))
        print(json.dumps([coerced["id"], str(coerced["fees"][0]["amount"]), error, message, record_id,
                          "pydantic" in sys.modules]))
        """
    )
    assert outcome == ["42", "10.5", None, "wait_minutes: Input should be a valid number", "R3", True]


def test_records_given_as_data_are_still_validated_and_explained_by_pydantic() -> None:
    record, error, _ = validate(RawRecord(Locator("x.yaml", 1), {"id": "R1", "fees": [{"amount": 10.5}]}))
    assert error is None and record is not None and record["fees"] == [{"amount": Decimal("10.5")}]
    record, error, record_id = validate(RawRecord(Locator("x.yaml", 2), {"id": "R2", "customer": {"age": "old"}}))
    assert record is None and error == "customer.age: Input should be a valid integer" and record_id == "R2"


def test_csv_cells_are_read_by_the_shapes_kinds(tmp_path: Any) -> None:
    path = tmp_path / "records.csv"
    path.write_text("id,wait_minutes,customer.age,customer.identity_verified,channel\nR1,2.5,40,yes,7\n")
    [raw] = read_records(path)
    assert raw.payload == {
        "id": "R1",
        "wait_minutes": 2.5,
        "customer": {"age": 40, "identity_verified": True},
        "channel": "7",
    }
