"""Packs are untrusted: no expression may reach Python, and every accepted one runs in bounded work."""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcpolicy.errors import ExpressionError
from svcpolicy.expr import Compiler, Env, Undetermined, parse
from svcpolicy.expr.parser import MAX_DEPTH, MAX_SOURCE_CHARS

CST = dt.timezone(dt.timedelta(hours=8))
RECORD = {
    "steps": [{"name": "a", "at": dt.datetime(2026, 1, 5, tzinfo=CST)}] * 50,
    "s": "x" * 1000,
    "n": 10**15,
}
COMPILER = Compiler(params=["limit"], absent_defaults={"steps": []})


class NoCalendar:
    def calendar_deadline(self, start: dt.date, days: int) -> dt.date:
        return start + dt.timedelta(days=days)

    def is_working_day(self, day: dt.date) -> bool:
        return True


@contextmanager
def no_code_execution() -> Iterator[None]:
    """Fail on eval/exec and on any compile() other than the AST-only one that ast.parse makes."""
    real_compile = builtins.compile

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec called")

    def ast_only(source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kwargs: Any) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "compile() to bytecode"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    with (
        mock.patch.object(builtins, "eval", forbidden),
        mock.patch.object(builtins, "exec", forbidden),
        mock.patch.object(builtins, "compile", ast_only),
    ):
        yield


def run(source: str) -> Any:
    """Compile and evaluate; returns the value or the Undetermined, and checks the work stayed small."""
    env = Env(RECORD, params={"limit": 3}, as_of=None, tz=CST, calendar=NoCalendar())
    started = time.perf_counter()
    with no_code_execution():
        expr = COMPILER.compile(source, location=None)
        try:
            result: Any = expr(env)
        except Undetermined as exc:
            result = exc
    # a generous bound, not a speed test: unbounded work (a 10**9-element expansion) would take minutes
    assert time.perf_counter() - started < 10, f"{source!r} took too long"
    return result


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "steps.__class__",
    "x['__globals__']",
    '"".join(steps)',
    "len.__self__",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[y := 1 for s in steps]",
    "any((y := s) for s in steps)",
    "any(s for s in steps for t in steps)",
    "any(any(t for t in steps) for s in steps)",
    "[s for s in steps]",
    "{s: 1 for s in steps}",
    "{1, 2}",
    "{'a': 1}",
    "f'{steps}'",
    "9**9**9",
    "2 ** 10",
    "len(*steps)",
    "len(x=steps)",
    "steps[0:2]",
    "steps[n]",
    "10**16",
    "10000000000000001",
    "1e999",
    "1j",
    "b'x'",
    "...",
    "x if (y := 1) else 2",
    "params",
    "params.undeclared",
    "open('/etc/passwd')",
    "getattr(steps, 'append')",
    "type(steps)",
    "x is 1",
    "~1",
    "1 << 2",
    "1 // 2",
    "'" + "x" * 1001 + "'",
    "[" + ", ".join(["1"] * 201) + "]",
    "(" * 250 + "1" + ")" * 250,
    "[" * 50 + "]" * 50,
    "-" * 3000 + "1",
    "not " * 50 + "x",
    "a" + ".b" * 60,
    " + ".join(["1"] * 501),
    "x" * (MAX_SOURCE_CHARS + 1),
    "",
    "x = 1",
    "import os",
    "a\x00b",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_expressions_are_rejected_with_an_expression_error(source: str) -> None:
    with no_code_execution(), pytest.raises(ExpressionError):
        COMPILER.compile(source, location=None)


@pytest.mark.parametrize(
    "source",
    [
        "'x' * 1000000000000000",
        "s * n",
        "steps * n",
        "[1] * n",
        "s + s",
        "n * n * n * n * n * n * n * n * n * n * n * n * n * n * n * n",
        "days(n) + days(n)",
        "-days(999999999)",
    ],
)
def test_operations_that_would_blow_up_evaluate_quickly_to_undetermined_or_a_small_value(source: str) -> None:
    result = run(source)
    assert isinstance(result, Undetermined | int | dt.timedelta)
    assert not isinstance(result, int) or result.bit_length() < 1000


def test_deep_nesting_within_the_limit_is_accepted() -> None:
    assert run("(" * 150 + "1" + ")" * 150) == 1  # parentheses group, they do not nest nodes
    assert run("not " * (MAX_DEPTH - 1) + "True") is False


# -- generated expressions -----------------------------------------------------------------------------

NAMES = st.sampled_from(["steps", "s", "n", "x", "as_of", "params.limit", "__class__", "__import__", "_x"])
ATOMS = st.one_of(
    NAMES,
    st.integers(min_value=-(10**17), max_value=10**17).map(str),
    st.floats(allow_nan=False).map(repr),
    st.text(max_size=20).map(repr),
    st.sampled_from(["None", "True", "False", "[]", "()", "9**9**9", "'a' * 10**9"]),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children,
        st.sampled_from(["+", "-", "*", "/", "%", "**", "and", "or", "<", "==", "in", "is"]),
        children,
    )
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, st.sampled_from(["__class__", "join", "upper", "at", "__globals__", "name"])).map(
            lambda t: f"{t[0]}.{t[1]}"
        ),
        st.tuples(st.sampled_from(["len", "upper", "days", "eval", "__import__", "getattr", "has"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(st.sampled_from(["any", "all", "count"]), children, children).map(
            lambda t: f"{t[0]}({t[1]} for v in {t[2]})"
        ),
        children.map(lambda c: f"(lambda: {c})()"),
        children.map(lambda c: f"[(w := {c}) for v in steps]"),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"{c}[0]"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
    )


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=25)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_generated_expressions_are_rejected_or_evaluate_within_limits(source: str) -> None:
    try:
        run(source)
    except ExpressionError:
        return


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_fails_to_parse_with_an_expression_error(text: str) -> None:
    try:
        with no_code_execution():
            parse(text)
    except ExpressionError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("()[]{}'\"\\.,:=+-*/%<>!~ \n\t0123456789abcxyz_")), max_size=300))
def test_punctuation_soup_only_ever_fails_with_an_expression_error(text: str) -> None:
    try:
        with no_code_execution():
            COMPILER.compile(text, location=None)
    except ExpressionError:
        pass


def test_carriage_returns_count_as_line_breaks_when_locating_text() -> None:
    assert parse("\r0").text == "0"
    assert parse("(1 +\r2)").text == "1 +\n2"
