"""contains_unnegated's test kept for many texts (phrases from parameters) says what the per-record one says, for
one text as for a list of texts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from svcpolicy.expr.functions import _contains_unnegated, _contains_unnegated_of

PHRASES = ["保本", "保收益", "无风险"]
NEGATIONS = ["不保本", "并非无风险"]
TEXTS = st.lists(st.sampled_from(["保本", "不", "保收益", "并非", "无风险", "产品", "，", "a"]), max_size=6).map(
    "".join
)


@given(TEXTS)
def test_one_text_is_judged_as_the_per_record_function_judges_it(text: str) -> None:
    assert _contains_unnegated_of(PHRASES, NEGATIONS)(text) is _contains_unnegated(None, text, PHRASES, NEGATIONS)  # type: ignore[arg-type]


@given(TEXTS)
def test_one_text_is_judged_as_a_list_holding_only_it(text: str) -> None:
    contains = _contains_unnegated_of(PHRASES, NEGATIONS)
    assert contains(text) is contains([text])


def test_a_negated_phrase_is_no_promise_but_the_same_phrase_elsewhere_is() -> None:
    contains = _contains_unnegated_of(PHRASES, NEGATIONS)
    assert contains("本产品不保本") is False
    assert contains("合同上写的是不保本，但其实这款保本") is True
