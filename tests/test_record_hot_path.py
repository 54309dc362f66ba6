"""The record-rule hot path's shortcuts decide exactly as the long way round.

Each shortcut (a phrase list searched as one compiled pattern, an absent field whose path is joined only when
read, per-record tallies counted as combinations, a dated parameter's values resolved once per day) is checked
against the plain computation it replaces.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from svcpolicy.engine.parameters import ParameterTable
from svcpolicy.expr.codegen import _field_miss, _hashed_of
from svcpolicy.expr.compiler import _hashed
from svcpolicy.expr.functions import FUNCTIONS
from svcpolicy.expr.undetermined import AbsentField, Undetermined
from svcpolicy.pack.schema import Parameter
from svcpolicy.pack.spec import ParameterSpec
from svcpolicy.results.findings import Outcome
from svcpolicy.results.tallies import TALLY_KEYS, KeyTally, _text, month_of

ALPHABET = "保本收益稳赚不非无风险，ab"
TEXTS = st.text(alphabet=ALPHABET, max_size=12)
PHRASES = st.lists(st.text(alphabet=ALPHABET, max_size=3), max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXTS, st.lists(TEXTS, max_size=3)), PHRASES)
def test_contains_any_with_a_constant_phrase_list_answers_as_a_search_phrase_by_phrase(
    haystack: Any, phrases: list[str]
) -> None:
    contains_any = FUNCTIONS["contains_any"]
    assert contains_any.specialize is not None
    texts = [haystack] if isinstance(haystack, str) else haystack
    expected = any(phrase in text for text in texts for phrase in phrases)
    assert contains_any.specialize(phrases)(haystack) is expected
    assert contains_any.impl(None, haystack, phrases) is expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXTS, st.lists(TEXTS, max_size=3)), PHRASES, PHRASES)
def test_contains_unnegated_with_constant_lists_answers_as_with_lists_given_per_record(
    haystack: Any, phrases: list[str], negations: list[str]
) -> None:
    contains_unnegated = FUNCTIONS["contains_unnegated"]
    assert contains_unnegated.specialize is not None
    fixed = contains_unnegated.specialize(phrases, negations)(haystack)
    assert fixed is contains_unnegated.impl(None, haystack, phrases, negations)


def test_contains_unnegated_still_finds_a_phrase_a_negation_covers_elsewhere() -> None:
    promise = FUNCTIONS["contains_unnegated"].specialize
    assert promise is not None
    test = promise(["保本", "稳赚"], ["不保本"])
    assert test("合同上写的是不保本，但其实这款保本") is True
    assert test("本产品不保本") is False
    assert test(["产品有风险", "买了稳赚"]) is True
    assert promise([], ["不保本"])("保本") is False


def test_an_undetermined_keeps_its_reason_and_field_and_pickles() -> None:
    plain = Undetermined("no as_of given")
    located = Undetermined("operations[0].authorization is null, not a mapping", "operations[0].authorization")
    assert (plain.reason, plain.field, str(plain)) == ("no as_of given", None, "no as_of given")
    assert located.field == "operations[0].authorization"
    copy = pickle.loads(pickle.dumps(located))  # noqa: S301 - our own bytes
    assert (type(copy), copy.reason, copy.field) == (Undetermined, located.reason, located.field)


def test_an_absent_field_joins_its_path_only_into_the_words_a_finding_shows() -> None:
    error = _field_miss({"id": "A"}, "authorization", "operations[2]", ".authorization")
    assert isinstance(error, AbsentField) and isinstance(error, Undetermined)
    assert error.field == "operations[2].authorization"
    assert error.reason == str(error) == "field operations[2].authorization is absent"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.field, copy.reason) == (error.field, error.reason)


def test_a_field_of_a_value_that_is_no_mapping_is_no_absent_field() -> None:
    error = _field_miss(None, "authorization", "operations[2]", ".authorization")
    assert not isinstance(error, AbsentField)
    assert error.reason.startswith("operations[2] is null") and error.field is None


def test_a_parameter_table_is_hashed_once_per_value_and_never_confused_with_another() -> None:
    kept: dict[int, Any] = {}
    first, second = ["a", "b"], ["c"]
    assert _hashed_of(first, kept) is _hashed_of(first, kept) == _hashed(first)
    assert _hashed_of(second, kept) == _hashed(second)
    assert _hashed_of("not a list", kept) is None


RECORD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "branch_id": st.sampled_from(["B1", "B2", "", None, 7]),
        "employee": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"id": st.sampled_from(["E1", ""])})),
        "started_at": st.sampled_from(
            [
                dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC),
                "2026-10-31T23:59:00+08:00",
                "not a time",
                None,
            ]
        ),
    },
)


def _key_values(record: dict[str, Any]) -> tuple[tuple[str, str | None], ...]:
    """The value of each tallied key in a record, read the plain way: what the tally must count it under."""
    employee = record.get("employee")
    values = (
        _text(record.get("branch_id")),
        _text(employee.get("id")) if isinstance(employee, Mapping) else None,
        month_of(record.get("started_at")),
    )
    return tuple(zip(TALLY_KEYS, values, strict=True))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(RECORD_VALUES, st.sampled_from(list(Outcome))), max_size=40))
def test_a_tally_counts_each_record_under_each_key_value_as_one_count_per_key_would(
    judged: list[tuple[dict[str, Any], Outcome]],
) -> None:
    tally = KeyTally()
    expected: dict[str, dict[Any, Counter[str]]] = {key: {} for key in TALLY_KEYS}
    for record, outcome in judged:
        tally.add(record, outcome)
        for key, value in _key_values(record):
            expected[key].setdefault(value, Counter())[outcome.value] += 1
    assert tally.by_key == expected
    assert pickle.loads(pickle.dumps(tally)) == tally  # noqa: S301 - our own bytes


def test_a_dated_parameter_resolves_per_day_and_stays_undetermined_before_its_first_value() -> None:
    table = ParameterTable(
        {
            "fee": ParameterSpec(
                Parameter.model_validate({"values": {"2026-01-01": 10, "2026-07-01": 12}, "bank_set": True})
            ),
            "limit": ParameterSpec(Parameter.model_validate({"value": 5, "bank_set": True})),
        },
        dt.UTC,
    )

    def on(day: str) -> Any:
        return table.for_record({"started_at": dt.datetime.fromisoformat(f"{day}T09:00:00+00:00")})

    assert [on("2026-03-01")["fee"], on("2026-03-01")["fee"], on("2026-08-01")["fee"]] == [10, 10, 12]
    assert on("2026-03-01")["limit"] == 5
    for _ in range(2):
        try:
            on("2025-12-31")["fee"]
        except Undetermined as exc:
            assert exc.reason == "parameter fee has no value in force on 2025-12-31"
        else:
            raise AssertionError("a day before the first value has no value in force")
