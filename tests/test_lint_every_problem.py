"""Issue 14: ``svcpolicy lint`` reports every problem of a pack in one run, even when part of it does not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from svcpolicy.authoring.lint import lint_pack
from svcpolicy.errors import PackErrors
from svcpolicy.pack.loader import read_pack

PACK = """\
pack: many
title: many problems
version: "1"
sources:
  s:
    title: S
    provisions:
      "1": {label: 第一条, class: record, text: 文本}
rules:
  - id: R-1-misspelt-field
    title: a
    title_zh: 甲
    cite: [s/1]
    severity: low
    when: wait_minuts > 3
    message: {zh: "甲", en: "a"}
    examples: [{violates: {wait_minutes: 4}}, {complies: {wait_minutes: 2}}]
  - id: R-2-bad-citation-and-assignment
    title: b
    title_zh: 乙
    cite: [s/2]
    severity: low
    when: channel = "counter"
    message: {zh: "乙", en: "b"}
    examples: [{violates: {channel: counter}}, {complies: {channel: phone}}]
  - id: R-3-unknown-severity
    title: c
    title_zh: 丙
    cite: [s/1]
    severity: severe
    when: wait_minutes > 9
    message: {zh: "丙", en: "c"}
    examples: [{violates: {wait_minutes: 10}}, {complies: {wait_minutes: 2}}]
"""


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    (tmp_path / "pack.yaml").write_text(PACK, encoding="utf-8")
    return tmp_path


def test_lint_reports_a_schema_error_a_citation_a_single_equals_and_a_misspelt_field_together(pack: Path) -> None:
    errors = [str(m).replace(f"{pack}/", "") for m in lint_pack(pack).errors]
    assert errors == [
        "pack.yaml:15:11: error: unknown field `wait_minuts`; did you mean `wait_minutes`? [unknown-field]",
        "pack.yaml:21:12: error: citation 's/2': s has no provision '2' [pack]",
        "pack.yaml:23:19: error: `=` assigns, it does not compare: use == to compare [expression]",
        "pack.yaml:30:15: error: rules.2.severity: Input should be 'info', 'low', 'medium', 'high' or 'critical' "
        "[pack]",
    ]


def test_a_rule_that_breaks_the_schema_does_not_hide_the_other_rules_load_errors(pack: Path) -> None:
    with pytest.raises(PackErrors) as caught:
        read_pack(pack)
    assert [e.message for e in caught.value.errors] == [
        "rules.2.severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
        "citation 's/2': s has no provision '2'",
    ]


def test_a_manifest_broken_outside_its_rules_gives_its_schema_errors_and_nothing_read_past_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "pack.yaml").write_text(PACK.replace("version:", "versoin:"), encoding="utf-8")
    messages = [m.message for m in lint_pack(tmp_path).errors]
    assert messages == [
        "version: Field required",
        "versoin: Extra inputs are not permitted",
        "rules.2.severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'",
    ]
