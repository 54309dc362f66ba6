"""The record model: what it accepts, what it refuses, and that its exports agree with it."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from strategies import strategy
from svcpolicy.records.model import ABSENT_DEFAULTS, INTERACTION_ADAPTER, Interaction, field_paths, json_schema

# The design's record example (shared/design/record-example.json), inlined so the tests stand alone.
EXAMPLE: dict[str, Any] = {
    "id": "INT-20261120-000123",
    "kind": "interaction",
    "channel": "counter",
    "branch_id": "SH-PD-001",
    "employee": {"id": "E1024", "role": "teller"},
    "customer": {"id": "C889900", "risk_tolerance": 2, "age": 72},
    "business_type": "wealth_product_sale",
    "stated_need": "定期存款",
    "started_at": "2026-11-20T09:00:00+08:00",
    "ended_at": "2026-11-20T09:25:00+08:00",
    "wait_minutes": 18,
    "steps": [
        {"name": "identity_verification", "at": "2026-11-20T09:02:11+08:00"},
        {"name": "risk_disclosure", "at": "2026-11-20T09:10:00+08:00"},
        {"name": "customer_signature", "at": "2026-11-20T09:20:00+08:00"},
    ],
    "operations": [
        {
            "id": "OP-1",
            "kind": "change_contact_phone",
            "affects_customer_rights": True,
            "at": "2026-11-20T09:15:00+08:00",
            "authorization": {
                "by": "C889900",
                "method": "signature",
                "scope": "change_contact_phone",
                "at": "2026-11-20T09:14:00+08:00",
            },
        }
    ],
    "offers": [
        {
            "product_id": "WM-2026-07",
            "product_risk_level": 4,
            "related_to_stated_need": False,
            "customer_declined": False,
            "sold": True,
            "risk_disclosed_at": "2026-11-20T09:10:00+08:00",
            "statements": ["保本保收益"],
            "recorded": True,
        }
    ],
    "disclosures": [
        {
            "fields": ["phone", "balance"],
            "recipient": "insurer:PingAn",
            "third_party": True,
            "consent_ref": None,
            "legal_basis": None,
        }
    ],
    "fees": [{"code": "ACCT-MGMT", "amount": "10.00", "currency": "CNY"}],
    "complaint": {
        "id": "CMP-77",
        "received_at": "2026-11-20T09:30:00+08:00",
        "logged_ref": "TKT-9981",
        "complexity": "simple",
        "extensions": [],
        "progress_updates": [],
        "decided_at": None,
    },
    "suspicious_activity": None,
    "satisfaction": {"asked": False, "score": None},
}


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def errors_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        INTERACTION_ADAPTER.validate_json(orjson.dumps(data))
    return [(".".join(map(str, e["loc"])), e["type"]) for e in caught.value.errors()]


def test_the_design_example_validates_into_plain_dicts_with_typed_values() -> None:
    record = INTERACTION_ADAPTER.validate_json(orjson.dumps(example()))
    assert type(record) is dict
    assert record["started_at"] == dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    assert record["fees"][0]["amount"] == Decimal("10.00")
    assert record["offers"][0]["statements"] == ["保本保收益"]


def test_absent_fields_stay_absent_and_null_stays_null() -> None:
    record = INTERACTION_ADAPTER.validate_json(
        b'{"id": "R1", "operations": [{"kind": "close_account", "authorization": null}]}'
    )
    assert record == {"id": "R1", "operations": [{"kind": "close_account", "authorization": None}]}
    assert "complaint" not in record


def test_a_time_without_offset_is_refused_at_its_field() -> None:
    data = {"id": "R1", "operations": [{"at": "2026-01-05T10:00:00"}]}
    assert errors_of(data) == [("operations.0.at", "timezone_aware")]


def test_wrong_types_and_out_of_range_levels_are_refused_by_path() -> None:
    data = {
        "id": "R1",
        "customer": {"risk_tolerance": 6, "age": "old"},
        "offers": [{"product_risk_level": 0, "sold": "perhaps"}],
        "fees": [{"amount": "ten"}],
        "kind": "complaint",
    }
    assert sorted(errors_of(data)) == [
        ("customer.age", "int_type"),
        ("customer.risk_tolerance", "less_than_equal"),
        ("fees.0.amount", "decimal_parsing"),
        ("kind", "literal_error"),
        ("offers.0.product_risk_level", "greater_than_equal"),
        ("offers.0.sold", "bool_type"),
    ]


def test_an_id_is_required_and_may_not_be_empty() -> None:
    assert errors_of({"channel": "counter"}) == [("id", "missing")]
    assert errors_of({"id": ""}) == [("id", "string_too_short")]


def test_lists_may_not_be_null_because_an_empty_list_says_none() -> None:
    assert errors_of({"id": "R1", "operations": None}) == [("operations", "list_type")]


def test_unknown_fields_are_dropped_and_extra_is_kept_as_given() -> None:
    record = INTERACTION_ADAPTER.validate_python(
        {"id": "R1", "vip": True, "customer": {"id": "C1", "nickname": "x"}, "extra": {"vip_level": 3}}
    )
    assert record == {"id": "R1", "customer": {"id": "C1"}, "extra": {"vip_level": 3}}


def test_numeric_ids_are_read_as_text() -> None:
    record = INTERACTION_ADAPTER.validate_python({"id": 42, "employee": {"id": 1024}})
    assert record == {"id": "42", "employee": {"id": "1024"}}


def test_amounts_are_exact_decimals_from_strings_and_numbers() -> None:
    record = INTERACTION_ADAPTER.validate_json(
        b'{"id": "R1", "fees": [{"amount": "12345678901234567.89"}, {"amount": 0.1}]}'
    )
    assert [fee["amount"] for fee in record["fees"]] == [Decimal("12345678901234567.89"), Decimal("0.1")]


def test_absence_meanings_come_from_the_model() -> None:
    assert dict(ABSENT_DEFAULTS) == {
        "kind": "interaction",
        "steps": [],
        "operations": [],
        "offers": [],
        "disclosures": [],
        "fees": [],
        "complaint": None,
        "complaint.extensions": [],
        "complaint.progress_updates": [],
        "suspicious_activity": None,
        "standards_missed": [],
        "operations[].refused": False,  # an operation listed was done unless the export says it was refused
        "operations[].authorization.account_id": None,  # an authorisation naming no account covers the operation
        "operations[].authorization.power_of_attorney.revoked_at": None,  # no revocation on record: not revoked
        "fees[].waiver": None,  # a fee charged under no waiver
        "qa_review": None,  # an interaction QA did not sample
        "loan": None,
        "offers[].customer_requested_at": None,  # no record of the customer asking again: the sale stands as made
    }
    assert set(ABSENT_DEFAULTS) <= field_paths()
    assert "offers[].statements" not in ABSENT_DEFAULTS  # omitted statements cannot show no promise was made


def test_field_paths_name_nested_fields_through_list_items() -> None:
    paths = field_paths()
    assert {"id", "operations", "operations[].authorization", "operations[].authorization.at"} <= paths
    assert {"complaint.extensions[].to_days", "offers[].statements", "extra"} <= paths
    assert {"service_recovery.apologized_at", "operations[].account_type", "disclosures[].purpose"} <= paths
    assert "operations.authorization" not in paths


def _schema_paths(schema: dict[str, Any], node: dict[str, Any], prefix: str) -> set[str]:
    """Field paths read back from the JSON Schema, to check it against the model."""
    if "$ref" in node:
        return _schema_paths(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]], prefix)
    if "anyOf" in node:
        return set().union(*(_schema_paths(schema, branch, prefix) for branch in node["anyOf"]))
    if node.get("type") == "array":
        return _schema_paths(schema, node["items"], f"{prefix}[]")
    paths: set[str] = set()
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths |= {path} | _schema_paths(schema, sub, path)
    return paths


def test_the_json_schema_is_draft_2020_12_and_matches_the_model() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["required"] == ["id"]
    assert schema["title"] == "Interaction"
    assert "absent" in schema["description"]
    assert schema["properties"]["operations"]["default"] == []
    assert schema["properties"]["customer"]["anyOf"][0] == {"$ref": "#/$defs/Customer"}
    assert all(definition.get("description") for definition in schema["$defs"].values())
    assert _schema_paths(schema, schema, "") == field_paths()
    orjson.dumps(schema)  # serialisable as it is


def test_the_json_schema_is_valid_under_its_metaschema() -> None:
    import jsonschema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(orjson.loads(orjson.dumps(example())))


# -- generated records ---------------------------------------------------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@settings(max_examples=150, deadline=None)
@given(strategy(Interaction))
def test_records_generated_from_the_model_validate_and_round_trip_through_json(
    record: dict[str, Any],
) -> None:
    line = orjson.dumps(record, default=_json_default)
    validated = INTERACTION_ADAPTER.validate_json(line)
    assert validated == record  # nothing added, nothing lost: absent keys stay absent
    assert INTERACTION_ADAPTER.validate_json(INTERACTION_ADAPTER.dump_json(validated)) == validated
    assert INTERACTION_ADAPTER.validate_python(record) == record
