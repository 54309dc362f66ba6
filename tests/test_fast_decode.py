"""The msgspec fast path and pydantic accept the same JSONL records and give them equal values."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strategies import strategy
from svcpolicy.records.fast_decode import decode_fast
from svcpolicy.records.model import INTERACTION_ADAPTER, Interaction
from svcpolicy.records.readers import Locator, RawRecord, validate

# JSON values that pydantic takes with a coercion, or refuses, and that the fast path must not take differently
ODD_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [
        None,
        True,
        0,
        1,
        5.0,
        -1,
        151,
        2**70,
        1.5,
        1e308,
        "",
        "1",
        "5",
        "true",
        "yes",
        "10.50",
        "NaN",
        "Infinity",
        "1_0",
        " 7 ",
        "١٠",
        "2026-03-01T09:00:00+08:00",
        "2026-03-01T09:00+08:00",
        "2026-03-01 09:00:00Z",
        "2026-03-01T09:00:00.1234567+08:00",
        "2026-03-01T09:00:00.999999999+08:00",
        "2026-03-01T09:00:00",
        "2026-03-01",
        "individual",
        "complex",
        [],
        [{}],
        {},
        {"name": "x"},
    ]
)


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    """A valid record written as JSON, with up to three of its values (at any depth) replaced by odd ones."""
    record = orjson.loads(orjson.dumps(draw(strategy(Interaction)), default=_to_json))
    for _ in range(draw(st.integers(0, 3))):
        node: Any = record
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            node[key] = copy.deepcopy(draw(ODD_VALUES))  # the pool's lists and dicts stay as they are
            break
    return json.dumps(record, ensure_ascii=False).encode()  # json: ints beyond 64 bits too


def _typed(value: Any) -> Any:
    """A value with the types of its parts spelt out, so ``5 == 5.0`` or ``Decimal("1.0") == 1`` do not pass."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, dt.datetime):
        return ("datetime", value.isoformat(), value.utcoffset())
    return (type(value).__name__, str(value))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_lines())
def test_the_fast_path_takes_only_records_pydantic_takes_with_the_same_values(line: bytes) -> None:
    fast = decode_fast(line)
    try:
        expected: Interaction | None = INTERACTION_ADAPTER.validate_json(line)
    except ValidationError:
        expected = None
    if fast is not None:
        assert expected is not None, "the fast path took a record pydantic refuses"
        assert _typed(fast) == _typed(expected)
        assert list(fast) == list(expected)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy(Interaction))
def test_the_fast_path_takes_every_valid_record_written_plainly(record: dict[str, Any]) -> None:
    line = orjson.dumps(record, default=_to_json)
    fast = decode_fast(line)
    assert fast is not None
    assert _typed(fast) == _typed(INTERACTION_ADAPTER.validate_json(line))


def test_fast_path_datetimes_carry_a_standard_time_zone() -> None:
    record = decode_fast(b'{"id": "r1", "started_at": "2026-03-01T09:00:00+08:00"}')
    assert record is not None
    started = record["started_at"]
    assert started is not None and type(started.tzinfo) is dt.timezone


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"id": "r1", "wait_minutes": "soon"}', "wait_minutes: Input should be a valid number"),
        (b'{"id": "r1", "fees": [{"amount": "NaN"}]}', "fees.0.amount: Input should be a finite number"),
        (b'{"id": ""}', "id: String should have at least 1 character"),
    ],
)
def test_records_the_fast_path_refuses_get_pydantics_explanation(line: bytes, message: str) -> None:
    record, error, _ = validate(RawRecord(Locator("x.jsonl", 1), line))
    assert record is None
    assert error is not None and message in error


def test_what_the_fast_path_declines_pydantic_reads_with_the_models_remaining_coercions() -> None:
    line = b'{"id": 42, "fees": [{"amount": 10.50}]}'
    assert decode_fast(line) is None
    record, error, _ = validate(RawRecord(Locator("x.jsonl", 1), line))
    assert error is None and record is not None
    assert record["id"] == "42"
    assert record["fees"] == [{"amount": Decimal("10.5")}]


def test_a_number_written_as_text_is_invalid_on_both_paths() -> None:
    line = b'{"id": "R1", "customer": {"age": "40"}}'
    assert decode_fast(line) is None
    record, error, _ = validate(RawRecord(Locator("x.jsonl", 1), line))
    assert record is None and error == "customer.age: Input should be a valid integer"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(b'"10.50"', Decimal("10.50")), (b'"-0.001"', Decimal("-0.001")), (b'" 7 "', Decimal("7")), (b"null", None)],
)
def test_decimal_text_becomes_an_exact_decimal_on_the_fast_path(amount: bytes, expected: Decimal | None) -> None:
    line = b'{"id": "r1", "fees": [{"amount": %s}, {"code": "X"}], "loan": {"apr": "3.65"}}' % amount
    record = decode_fast(line)
    assert record is not None
    assert record["fees"] == [{"amount": expected}, {"code": "X"}]  # absent stays absent
    assert type(record["fees"][0]["amount"]) is type(expected)
    assert record["loan"] == {"apr": Decimal("3.65")}
    assert _typed(record) == _typed(INTERACTION_ADAPTER.validate_json(line))


@pytest.mark.parametrize("amount", [b"10.50", b"10", b'"NaN"', b'"-Infinity"', b'"\xd9\xa1\xd9\xa0"', b'"ten"', b"[1]"])
def test_decimals_the_fast_path_cannot_read_as_pydantic_does_go_to_pydantic(amount: bytes) -> None:
    line = b'{"id": "r1", "operations": [{"kind": "transfer", "amount": %s}]}' % amount
    assert decode_fast(line) is None


def test_a_time_with_seven_fractional_digits_goes_to_pydantic_which_truncates_it() -> None:
    line = b'{"id": "r1", "started_at": "2026-03-01T09:00:00.9999999+08:00"}'
    assert decode_fast(line) is None
    record, error, _ = validate(RawRecord(Locator("x.jsonl", 1), line))
    assert error is None and record is not None
    started = record["started_at"]
    assert started is not None and started.second == 0 and started.microsecond == 999999


def test_numbers_with_many_digits_elsewhere_stay_on_the_fast_path() -> None:
    line = b'{"id": "r1", "wait_minutes": 0.30000000000000004, "satisfaction": {"score": 1.0000000000000002e+16}}'
    record = decode_fast(line)
    assert record == {"id": "r1", "wait_minutes": 0.30000000000000004, "satisfaction": {"score": 1.0000000000000002e16}}
