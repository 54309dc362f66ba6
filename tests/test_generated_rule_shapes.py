"""The shapes the code generator writes for speed, each judged as the closures judge (issue 12).

A cache computed earlier on the way to a read is not tested again; an ``and`` operand that makes a loop item false
goes on to the next item at once; chained resets; a parameter table's search positions kept per key. The verdicts
stay the closures' own: each shape meets drawn records through ``assert_same_verdicts``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from durable_strategies import RECORD
from svcpolicy.expr.codegen import _index, _selected, _visit
from test_durable_differential import PACK_HEAD
from test_generated_rules import TABLE_PARAMETER, assert_same_verdicts

SHAPED_RULES = [
    # the guard's lookup is computed once, and read again by the loop without a test
    (
        "lookup(params.steps_by_type, business_type) is not None",
        "required in lookup(params.steps_by_type, business_type)",
        'required != "identity_verification" and not any(s.name == required for s in steps)',
    ),
    # items false at their first operand continue at once; an absent field of a later one still undetermines
    (None, "step in steps", "any([step.name, later.name] in params.pairs and later.at < step.at for later in steps)"),
    (None, "op in operations", "op.kind in params.channels and op.at > started_at or op.affects_customer_rights"),
    (None, None, "all(not (s.name == 3) or s.at > started_at for s in steps)"),
    (None, "s in steps", "count(t for t in params.table if t.name == s.name and t.kind is not None) > 0"),
]
SHAPED_PARAMETERS = """\
  steps_by_type:
    bank_set: true
    value: {transfer: [identity_verification, customer_signature], loss_report: [risk_disclosure]}
  pairs:
    bank_set: true
    value: [[identity_verification, customer_signature], [risk_disclosure, customer_signature]]
"""


def _policy(tmp: Path) -> svcpolicy.Policy:
    pack_rules = [
        {"id": f"GEN-{i}-shaped", "title": "g", "cite": ["src/1"], "severity": "low", "when": when}
        | ({"applies_if": guard} if guard else {})
        | ({"for_each": loop} if loop else {})
        | {"message": {"zh": "违规", "en": "violation"}}
        for i, (guard, loop, when) in enumerate(SHAPED_RULES)
    ]
    path = tmp / "pack.yaml"
    head = PACK_HEAD + TABLE_PARAMETER + SHAPED_PARAMETERS
    path.write_text(head + yaml.safe_dump({"rules": pack_rules}, allow_unicode=True), encoding="utf-8")
    return svcpolicy.load_policy(path)


def test_a_cache_computed_before_the_read_is_read_without_a_test(tmp_path: Path) -> None:
    source = _policy(tmp_path).programs[0].generated_source
    assert source is not None
    tested = re.findall(r"if (c\d+) is M:", source)
    assert tested and len(tested) == len(set(tested))  # each per-record cache tested once, where it is first met


def test_a_false_first_operand_of_an_item_goes_on_to_the_next_item(tmp_path: Path) -> None:
    sources = [p.generated_source or "" for p in _policy(tmp_path).programs]
    continued = [bool(re.search(r"if (not )?\w+:\n\s+continue\n", source)) for source in sources]
    assert continued == [True, True, False, True, True]  # an ``or`` that is true has a verdict to keep


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(RECORD, min_size=1, max_size=6))
def test_the_shaped_rules_give_the_verdicts_of_their_closures(
    records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    assert_same_verdicts(_policy(tmp_path_factory.mktemp("pack")), records)


def test_a_tables_search_positions_are_kept_per_key_and_match_a_fresh_search() -> None:
    table: list[Any] = [{"name": "a"}, {"name": None}, {"name": "b"}, "text", {"name": "a"}]
    kept: dict[int, Any] = {}
    for key in ("a", "b", "c", None):
        expected = list(_visit(_index(table, "name"), key, len(table)))
        assert list(_selected(table, "name", key, kept)) == expected
        assert _selected(table, "name", key, kept) is _selected(table, "name", key, kept)
    assert list(_selected(table, "name", 3, kept)) == list(range(len(table)))  # another kind: every item


def test_the_sentinel_and_the_list_type_are_read_as_locals(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    functions = [program._results for program in policy.programs]
    generator = policy.programs[0]._generator()
    kind = generator.kind([program.trees for program in policy.programs], [False] * len(functions))
    assert kind is not None
    for function in [*functions, kind.fn]:
        code = function.__code__
        assert {"M", "list_type"} <= set(code.co_varnames)
        assert not {"M", "list_type"} & set(code.co_names)
