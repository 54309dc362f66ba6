"""A bank's records given as one JSON array file are judged exactly as the same records given as JSON Lines.

Array items take the JSONL fast path (msgspec); the items it does not take are read as the JSON reader always
read them. Either way a compliance officer sees the same valid records and the same invalid-record messages, at
the line where each item starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from svcpolicy.errors import InputError
from svcpolicy.records.model import INTERACTION_ADAPTER
from svcpolicy.records.readers import JsonArrayItem, Validation, read_records, validate
from test_fast_decode import json_lines

SPACING = st.sampled_from([b",", b", ", b",\n", b"\n,\n  ", b" ,\r\n\t"])


def _outcomes(path: Path, **options: Any) -> list[tuple[int, Validation]]:
    return [(raw.locator.line, validate(raw)) for raw in read_records(path, **options)]


def _array(items: list[bytes], spacing: bytes = b",\n") -> bytes:
    return b"[\n" + spacing.join(items) + b"\n]\n"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(json_lines(), min_size=1, max_size=4), SPACING)
def test_records_in_a_json_array_validate_to_the_same_values_and_errors_as_json_lines(
    tmp_path: Path, lines: list[bytes], spacing: bytes
) -> None:
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_bytes(b"".join(line + b"\n" for line in lines))
    array = tmp_path / "records.json"
    array.write_bytes(_array(lines, spacing))
    from_lines = [validation for _, validation in _outcomes(jsonl)]
    from_array = [validation for _, validation in _outcomes(array)]
    assert len(from_array) == len(from_lines)
    for (line_record, line_error, line_id), (array_record, array_error, array_id) in zip(
        from_lines, from_array, strict=True
    ):
        assert array_error == line_error
        assert array_id == line_id
        assert array_record == line_record


def test_each_array_item_is_located_at_the_line_it_starts_on(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    array.write_bytes(b'[{"id": "a"},\n\n  {"id": "b",\n "wait_minutes": "x"}, {"id": "c"}\n,\n{"id": "d"}]')
    outcomes = _outcomes(array)
    assert [line for line, _ in outcomes] == [1, 3, 4, 6]
    assert [validation[1] for _, validation in outcomes] == [
        None,
        "wait_minutes: Input should be a valid number",
        None,
        None,
    ]


def test_a_key_given_twice_in_an_array_item_makes_only_that_record_invalid(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    array.write_bytes(_array([b'{"id": "a", "customer": {"age": 30, "age": 31}}', b'{"id": "b"}']))
    (_, first), (_, second) = _outcomes(array)
    assert first[0] is None
    assert first[1] is not None and first[1].startswith("customer.age: the key is given twice")
    assert second == ({"id": "b"}, None, None)


def test_a_whole_number_too_long_for_python_is_an_invalid_record_and_the_next_is_read(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    array.write_bytes(_array([b'{"id": "a", "extra": {"n": 1' + b"0" * 5000 + b"}}", b'{"id": "b"}']))
    (_, first), (_, second) = _outcomes(array)
    assert first == (None, "a number of 5,001 digits: no field takes more than 4,300", None)
    assert second == ({"id": "b"}, None, None)


def test_a_nan_in_an_array_is_an_input_error_for_the_whole_file(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    array.write_bytes(_array([b'{"id": "a"}', b'{"id": "b", "wait_minutes": NaN}']))
    with pytest.raises(InputError, match="NaN is not JSON"):
        read_records(array)


def test_an_amount_written_as_a_json_number_reads_in_an_array_as_in_json_lines(tmp_path: Path) -> None:
    item = b'{"id": "a", "fees": [{"code": "F", "amount": 10.50, "currency": "CNY"}]}'
    array = tmp_path / "records.json"
    array.write_bytes(_array([item]))
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_bytes(item + b"\n")
    ((_, (record, error, _)),) = _outcomes(array)
    assert error is None and record is not None
    assert repr(record["fees"][0]["amount"]) == repr(_outcomes(jsonl)[0][1][0]["fees"][0]["amount"])  # type: ignore[index]


def test_a_gbk_array_with_a_byte_order_free_header_reads_like_its_utf8_twin(tmp_path: Path) -> None:
    items = ['{"id": "a", "stated_need": "理财咨询"}', '{"id": "b", "wait_minutes": "慢"}']
    gbk = tmp_path / "gbk.json"
    gbk.write_bytes(_array([item.encode("gbk") for item in items]))
    utf8 = tmp_path / "utf8.json"
    utf8.write_bytes(b"\xef\xbb\xbf" + _array([item.encode() for item in items]))
    assert _outcomes(gbk, encoding="gbk") == _outcomes(utf8)
    assert _outcomes(utf8)[0][1] == ({"id": "a", "stated_need": "理财咨询"}, None, None)


def test_array_items_are_handed_on_as_bytes_for_the_fast_path(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    array.write_bytes(orjson.dumps([{"id": "a"}, {"id": "b"}]))
    payloads = [raw.payload for raw in read_records(array)]
    assert payloads == [b'{"id":"a"}', b'{"id":"b"}']
    assert all(type(payload) is JsonArrayItem for payload in payloads)


def test_an_item_nested_too_deep_is_an_invalid_record_and_the_next_is_read(tmp_path: Path) -> None:
    array = tmp_path / "records.json"
    deep = b'{"id": "a", "extra": {"x": ' + b"[" * 300 + b"]" * 300 + b"}}"
    array.write_bytes(_array([deep, b'{"id": "b"}']))
    first, second = read_records(array)
    assert validate(first) == (None, "extra: nested more than 200 levels deep (or contains itself)", "a")
    assert validate(second) == ({"id": "b"}, None, None)


@pytest.mark.parametrize("levels", [198, 199, 200])
@pytest.mark.parametrize(("opening", "innermost", "closing"), [(b"[", b"", b"]"), (b'{"k": ', b"1", b"}")])
def test_extra_data_is_read_as_deep_as_pydantic_reads_it_in_both_formats(
    tmp_path: Path, levels: int, opening: bytes, innermost: bytes, closing: bytes
) -> None:
    line = b'{"id": "a", "extra": {"x": ' + opening * levels + innermost + closing * levels + b"}}"
    try:
        INTERACTION_ADAPTER.validate_json(line)
        pydantic_takes = True
    except ValidationError:
        pydantic_takes = False
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_bytes(line + b"\n")
    array = tmp_path / "records.json"
    array.write_bytes(_array([line]))
    ((_, from_lines),) = _outcomes(jsonl)
    ((_, from_array),) = _outcomes(array)
    assert (from_lines[0] is not None) is pydantic_takes
    assert (from_array[0] is not None) is pydantic_takes
