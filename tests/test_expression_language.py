"""Behaviour of the condition language: values, missing data, three-valued logic, functions, templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from svcpolicy.errors import CalendarNotCovered, ExpressionError, SourceLocation
from svcpolicy.expr import Compiler, Env, Undetermined, parse_for_each

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=CST)
DEFAULTS: dict[str, Any] = {"operations": [], "complaint": None, "complaint.extensions": [], "offers[].statements": []}
WHERE = SourceLocation("rules/ops.yaml", 12, 11)


class FakeCalendar:
    """Weekends off, and only 2026 known, which is all these tests need of the holiday calendar."""

    def calendar_deadline(self, start: dt.date, days: int) -> dt.date:
        end = self._covered(start) + dt.timedelta(days=days)
        while not self.is_working_day(end):
            end += dt.timedelta(days=1)
        return end

    def is_working_day(self, day: dt.date) -> bool:
        return self._covered(day).weekday() < 5

    @staticmethod
    def _covered(day: dt.date) -> dt.date:
        if day.year != 2026:
            raise CalendarNotCovered(day.year, (2026, 2026))
        return day


def make_env(record: Mapping[str, Any], *, as_of: dt.datetime | None = None, **bound: Any) -> Env:
    env = Env(record, params={"decision_days": 15, "limit": 2}, as_of=as_of, tz=CST, calendar=FakeCalendar())
    for name, (value, path) in bound.items():
        env.bind(name, value, path)
    return env


def compile_expr(source: str, local_names: Sequence[str] = (), **schema: str) -> Any:
    compiler = Compiler(params=["decision_days", "limit"], absent_defaults=DEFAULTS)
    return compiler.compile(source, location=WHERE, local_names=local_names, local_schema=schema)


def evaluate(source: str, record: Mapping[str, Any], **bound: Any) -> Any:
    return compile_expr(source, list(bound))(make_env(record, **bound))


def undetermined(source: str, record: Mapping[str, Any], **bound: Any) -> Undetermined:
    with pytest.raises(Undetermined) as caught:
        evaluate(source, record, **bound)
    return caught.value


OPS = {
    "operations": [
        {"kind": "transfer", "affects_customer_rights": False, "at": T0, "authorization": None},
        {"kind": "close_account", "affects_customer_rights": True, "at": T0, "authorization": {"by": "c"}},
        {"kind": "freeze", "affects_customer_rights": True, "at": T0},
    ]
}


# -- values and field paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("15", 15),
        ("2.5 * 2", 5.0),
        ('"保本"', "保本"),
        ("None is None", True),
        ('("a", "b")', ["a", "b"]),
        ("7 % 4 - -1", 4),
        ('"b" if 1 > 2 else "c"', "c"),
        ("params.decision_days + params.limit", 17),
        ("len(operations)", 3),
        ("operations[1].kind", "close_account"),
        ("operations[-1].kind", "freeze"),
        ('operations[0]["kind"]', "transfer"),
        ("upper(operations[0].kind)", "TRANSFER"),
    ],
)
def test_literals_fields_and_arithmetic_evaluate_as_written(source: str, expected: Any) -> None:
    assert evaluate(source, OPS) == expected


def test_reading_an_absent_field_is_undetermined_and_names_the_field() -> None:
    exc = undetermined("operations[2].authorization is None", OPS)
    assert exc.field == "operations[2].authorization"
    assert exc.reason == "field operations[2].authorization is absent"


def test_an_absent_field_under_the_loop_variable_is_named_by_its_concrete_path() -> None:
    op = {"kind": "close_account", "authorization": {"by": "c"}}
    exc = undetermined("op.authorization.at > op.at", OPS, op=(op, "operations[2]"))
    assert exc.field == "operations[2].authorization.at"


def test_an_absent_field_inside_a_quantifier_is_named_with_the_item_position() -> None:
    exc = undetermined(
        "all(o.affects_customer_rights is not None for o in operations if o.kind != 'x')",
        {"operations": [{"kind": "a", "affects_customer_rights": True}, {"kind": "b"}]},
    )
    assert exc.field == "operations[1].affects_customer_rights"


def test_null_is_a_value_but_absent_is_not() -> None:
    op = {"authorization": None}
    assert evaluate("op.authorization is None", {}, op=(op, "operations[0]")) is True
    assert undetermined("op.authorization is None", {}, op=({}, "operations[0]")).field == (
        "operations[0].authorization"
    )


def test_absence_with_a_declared_meaning_reads_as_that_meaning() -> None:
    assert evaluate("len(operations) == 0 and complaint is None", {}) is True
    assert evaluate("complaint.extensions", {"complaint": {"id": "c1"}}) == []
    assert evaluate("len(offers[0].statements) == 0", {"offers": [{}]}) is True


def test_the_loop_variable_schema_gives_item_fields_their_declared_meaning() -> None:
    expr = compile_expr("len(o.statements)", ["o"], o="offers[]")
    env = make_env({}, o=({}, "offers[0]"))
    assert expr(env) == 0


def test_has_tells_present_from_absent_without_ever_being_undetermined() -> None:
    record = {"operations": [{"authorization": None}], "customer": {"age": 40}}
    assert evaluate("has(customer.age)", record) is True
    assert evaluate("has(operations[0].authorization)", record) is True
    assert evaluate("has(operations[0].authorization.at)", record) is False
    assert evaluate("has(operations[3])", record) is False
    assert evaluate("has(complaint)", record) is False  # a declared default is not the record saying so
    assert evaluate("has(as_of)", record) is False


def test_coalesce_skips_absent_and_null_values_but_never_guesses_null_for_absence() -> None:
    record = {"a": None, "b": 3}
    assert evaluate("coalesce(a, missing, b)", record) == 3
    assert evaluate("coalesce(a, a)", record) is None
    assert undetermined("coalesce(a, missing)", record).field == "missing"


def test_reading_a_field_of_a_non_mapping_is_undetermined_with_the_reason() -> None:
    exc = undetermined("operations[0].kind.code", OPS)
    assert exc.field is None
    assert "operations[0].kind is a string" in exc.reason


def test_as_of_without_a_reference_time_is_undetermined() -> None:
    assert undetermined("as_of > operations[0].at", OPS).reason == "no as_of given"
    env = make_env(OPS, as_of=T0 + dt.timedelta(days=1))
    assert compile_expr("as_of - operations[0].at == days(1)")(env) is True


def test_a_let_value_is_read_by_name_and_its_fields_are_named_from_its_path() -> None:
    auth = {"by": "c"}
    exc = undetermined("auth.at > T", {}, auth=(auth, "operations[1].authorization"))
    assert exc.field == "operations[1].authorization.at"


# -- three-valued logic --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("missing or True", True),
        ("True or missing", True),
        ("missing and False", False),
        ("False and missing", False),
        ("missing or False or 1 > 0", True),
        ("True and missing and False", False),
        ("3 < 2 < missing", False),
        ("missing < 2 < 1", False),
    ],
)
def test_kleene_logic_decides_whenever_the_known_operands_decide(source: str, expected: bool) -> None:
    assert evaluate(source, {}) is expected


@pytest.mark.parametrize(
    "source",
    [
        "missing or False",
        "missing and True",
        "not missing",
        "missing if True else 1",
        "1 < missing < 3",
        "-missing",
    ],
)
def test_kleene_logic_stays_undetermined_when_the_unknown_operand_matters(source: str) -> None:
    assert undetermined(source, {}).field == "missing"


def test_and_or_not_give_booleans_not_operand_values() -> None:
    assert evaluate('"a" and "b"', {}) is True
    assert evaluate('"" or 0', {}) is False


def test_any_is_true_when_some_item_is_true_even_if_others_are_undetermined() -> None:
    ops = [{"kind": "x"}, {"kind": "y", "affects_customer_rights": True}]
    assert evaluate("any(o.affects_customer_rights for o in operations)", {"operations": ops}) is True


def test_any_is_undetermined_when_no_item_is_true_and_some_are_undetermined() -> None:
    ops = [{"affects_customer_rights": False}, {"kind": "y"}]
    exc = undetermined("any(o.affects_customer_rights for o in operations)", {"operations": ops})
    assert exc.field == "operations[1].affects_customer_rights"


def test_all_is_false_when_some_item_is_false_even_if_others_are_undetermined() -> None:
    ops = [{"kind": "x"}, {"affects_customer_rights": False}]
    assert evaluate("all(o.affects_customer_rights for o in operations)", {"operations": ops}) is False


def test_all_ignores_items_its_filter_excludes_even_when_their_element_is_unknown() -> None:
    ops = [{"kind": "x"}, {"kind": "y", "affects_customer_rights": True}]
    source = "all(o.affects_customer_rights for o in operations if o.kind == 'y')"
    assert evaluate(source, {"operations": ops}) is True


def test_quantifiers_over_an_empty_list_follow_logic() -> None:
    assert evaluate("any(o for o in operations)", {}) is False
    assert evaluate("all(o for o in operations)", {}) is True
    assert evaluate("count(o for o in operations)", {}) == 0


def test_count_counts_filtered_items_or_true_elements() -> None:
    offers = [{"sold": True}, {"sold": False}, {"sold": True}]
    assert evaluate("count(o for o in offers if o.sold)", {"offers": offers}) == 2
    assert evaluate("count(not o.sold for o in offers)", {"offers": offers}) == 1
    assert undetermined("count(o for o in offers if o.sold)", {"offers": [*offers, {}]}).field == "offers[3].sold"


def test_quantifying_over_something_that_is_not_a_list_is_undetermined() -> None:
    assert "not a list" in undetermined("any(c for c in customer)", {"customer": "x"}).reason


# -- comparisons and types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 < 2 <= 2 < 3", True),
        ("1 < 2 > 3", False),
        ("1 == 1.0 != 2", True),
        ('"a" in ["a", "b"]', True),
        ('"c" not in ("a", "b")', True),
        ('"保本" in "承诺保本保息"', True),
        ("[1, 2] == (1, 2)", True),
    ],
)
def test_comparisons_chain_and_test_membership_as_in_python(source: str, expected: bool) -> None:
    assert evaluate(source, {}) is expected


@pytest.mark.parametrize(
    "source",
    ['"40" > 3', '"40" == 40', "d < t", "d == t", "True == 1", "1 in 'abc'", "1 in 2", '"a" + "b"', "t + t"],
)
def test_type_errors_at_run_time_are_undetermined_with_the_reason(source: str) -> None:
    exc = undetermined(source, {"d": T0.date(), "t": T0})
    assert exc.field is None
    assert source in exc.reason


def test_decimal_amounts_mix_with_literal_numbers() -> None:
    fee = {"amount": Decimal("10.50")}
    assert evaluate("fee.amount * 1.1 > 11", {}, fee=(fee, "fees[0]")) is True
    assert evaluate("fee.amount > 10.4", {}, fee=(fee, "fees[0]")) is True


def test_division_by_zero_is_undetermined() -> None:
    assert undetermined("1 / n", {"n": 0}).reason == "division by zero in `1 / n`"


# -- dates, durations and the calendar -------------------------------------------------------------------


def test_datetime_arithmetic_gives_durations_and_shifted_times() -> None:
    record = {"a": T0, "b": T0 + dt.timedelta(hours=2)}
    assert evaluate("b - a == hours(2)", record) is True
    assert evaluate("a + days(1) - minutes(30) > b", record) is True
    assert evaluate("minutes_between(a, b)", record) == 120.0
    assert evaluate("b - a > hours(1.5)", record) is True


def test_date_takes_the_calendar_day_in_the_packs_zone() -> None:
    late_utc = dt.datetime(2026, 1, 5, 20, tzinfo=dt.UTC)  # already 6 January in +08:00
    assert evaluate("date(t)", {"t": late_utc}) == dt.date(2026, 1, 6)


def test_date_of_a_time_without_offset_is_undetermined() -> None:
    assert "without offset" in undetermined("date(t)", {"t": dt.datetime(2026, 1, 5)}).reason


def test_calendar_deadline_moves_off_rest_days() -> None:
    friday = dt.datetime(2026, 1, 2, 9, tzinfo=CST)
    assert evaluate("calendar_deadline(t, 1)", {"t": friday}) == dt.date(2026, 1, 5)
    assert evaluate("is_working_day(t)", {"t": friday}) is True


def test_a_calendar_year_that_is_not_covered_is_undetermined_with_the_calendars_reason() -> None:
    exc = undetermined("calendar_deadline(t, params.decision_days)", {"t": dt.datetime(2031, 1, 1, tzinfo=CST)})
    assert exc.field is None
    assert "2031" in exc.reason


def test_calendar_periods_are_bounded() -> None:
    assert "whole number of days" in undetermined("calendar_deadline(t, 10000000)", {"t": T0}).reason


def test_contains_any_looks_in_text_or_in_each_string_of_a_list() -> None:
    assert evaluate('contains_any("本产品保本保息", ["保本", "无风险"])', {}) is True
    assert evaluate('contains_any(["稳健", "高收益"], ["保本"])', {}) is False


# -- compile-time checks --------------------------------------------------------------------------------


def test_an_undeclared_parameter_is_a_compile_error_with_a_suggestion() -> None:
    with pytest.raises(
        ExpressionError,
        match=r"rules/ops.yaml:12:15: unknown parameter `params.decision_day`; "
        r"did you mean `decision_days`\?",
    ):
        compile_expr("1 + params.decision_day")


def test_an_unknown_function_is_a_compile_error_with_a_suggestion() -> None:
    with pytest.raises(ExpressionError, match=r"unknown function `lenn`; did you mean `len`\?"):
        compile_expr("lenn(steps)")


def test_error_columns_count_characters_not_bytes() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expr('"保本" in x.__dict__')
    assert caught.value.location == SourceLocation("rules/ops.yaml", 12, 11 + 8)


def test_errors_on_later_lines_of_a_parenthesised_expression_give_that_line() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expr("(a and\n  b.__class__)")
    assert caught.value.location == SourceLocation("rules/ops.yaml", 13, 3)


def test_a_quantifier_variable_may_not_shadow_a_name_in_scope() -> None:
    with pytest.raises(ExpressionError, match="already in use"):
        compile_expr("any(op for op in operations)", ["op"])


def test_for_each_splits_into_the_variable_and_the_collection() -> None:
    assert parse_for_each("op in operations", WHERE) == ("op", "operations")
    assert parse_for_each("e in complaint.extensions", WHERE) == ("e", "complaint.extensions")
    for bad in ("operations", "op not in operations", "as_of in operations", "op.x in operations"):
        with pytest.raises(ExpressionError, match="for_each"):
            parse_for_each(bad, WHERE)


def test_reads_lists_the_field_paths_in_source_spelling() -> None:
    expr = compile_expr(
        "op.affects_customer_rights and has(op.authorization) and params.limit > len(steps)"
        " and any(s.at for s in steps)",
        ["op"],
    )
    assert expr.reads == frozenset({"op.affects_customer_rights", "op.authorization", "steps", "s.at"})


# -- tracing and templates ------------------------------------------------------------------------------


def test_traced_evaluation_gives_the_same_result_and_records_each_path_read() -> None:
    op = OPS["operations"][1]
    expr = compile_expr("op.affects_customer_rights and (op.authorization is None or op.authorization.at > T)", ["op"])
    env = make_env(OPS, op=(op, "operations[1]"))
    with pytest.raises(Undetermined):
        expr(env)
    env = make_env(OPS, op=({**op, "authorization": None}, "operations[1]"))
    assert expr(env) is True
    assert env.trace is None  # the fast path records nothing
    assert expr.traced(env) is True
    assert env.trace == {"op.affects_customer_rights": True, "op.authorization": None}


def test_tracing_a_quantifier_keeps_the_witness_item() -> None:
    offers = [{"sold": False, "product_id": "p1"}, {"sold": True, "product_id": "p2"}, {"sold": True}]
    env = make_env({"offers": offers})
    assert compile_expr("any(o.sold for o in offers)").traced(env) is True
    assert env.trace == {"o.sold": True}


def test_templates_render_placeholders_and_say_a_missing_value_is_not_given() -> None:
    compiler = Compiler(params=["decision_days"], absent_defaults=DEFAULTS)
    template = compiler.template(
        "{op.kind} at {op.at} by {op.authorization.by} ({len(op.kind)} chars, {{literal}}, limit "
        "{params.decision_days}d, {coalesce(op.note, '-')})",
        location=WHERE,
        local_names=["op"],
    )
    env = make_env({}, op=({"kind": "freeze", "at": T0, "note": None}, "operations[0]"))
    assert template.render(env) == (
        "freeze at 2026-01-05T10:00:00+08:00 by (not given) (6 chars, {literal}, limit 15d, -)"
    )


@pytest.mark.parametrize(("text", "column"), [("bad {x", 15), ("bad } x", 15), ("ok {x.__class__}", 15)])
def test_template_errors_point_at_the_bad_brace_or_placeholder(text: str, column: int) -> None:
    compiler = Compiler(params=[], absent_defaults={})
    with pytest.raises(ExpressionError) as caught:
        compiler.template(text, location=WHERE)
    assert caught.value.location == SourceLocation("rules/ops.yaml", 12, column)


def test_month_gives_the_calendar_month_in_the_packs_time_zone() -> None:
    late_utc = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)  # already 1 November in Beijing
    assert evaluate("month(t)", {"t": late_utc}) == "2026-11"


def test_lookup_reads_a_parameter_table_by_a_record_value_and_gives_null_for_unknown_keys() -> None:
    table = {"account_opening": ["identity_verification", "customer_signature"]}
    record = {"table": table, "business_type": "account_opening", "other": "deposit"}
    assert evaluate("lookup(table, business_type)", record) == table["account_opening"]
    assert evaluate("lookup(table, other) is None", record) is True
    assert "expects a mapping" in undetermined("lookup(business_type, other)", record).reason


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [
        (0.6, "60%"),
        (0.625, "62.5%"),
        (Decimal("0.8"), "80%"),
        (1 / 3, "33.3%"),
        (0, "0%"),
        (1, "100%"),
        (0.0004, "0.04%"),  # one decimal would say 0%
        (0.9999, "99.99%"),  # one decimal would say 100%
    ],
)
def test_percent_shows_a_ratio_as_a_percentage_with_no_trailing_zero(ratio: Any, shown: str) -> None:
    assert evaluate("percent(ratio)", {"ratio": ratio}) == shown


@pytest.mark.parametrize("record", [{"ratio": None}, {"ratio": "0.6"}, {"ratio": True}])
def test_percent_of_anything_but_a_number_is_undetermined_with_the_reason(record: dict[str, Any]) -> None:
    assert "percent() expects a number" in undetermined("percent(ratio)", record).reason


def test_percent_of_an_absent_field_is_undetermined_and_names_the_field() -> None:
    assert undetermined("percent(ratio)", {}).field == "ratio"
