"""A compliance officer asks which articles a pack checks: coverage and explain answer article by article."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from conftest import MINI_PACK
from svcpolicy.authoring.coverage import coverage
from svcpolicy.cli import main
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.loader import read_pack

TWO_ARTICLES = MINI_PACK.replace(
    "parameters:",
    """      "15":
        label: 第十五条
        chapter: 第三章 客户权益保护
        class: record
        text: 本行员工应严格遵守银行业务规定,不得将客户信息泄露给任何第三方。
      "7":
        label: 第七条
        chapter: 第一章 总则
        class: not-checkable
        reason: effective-date clause
        text: 本规章制度自发布之日起生效。
      "16b":
        label: null
        confidence: unconfirmed
        class: record
        restates: [svc-rules/16]
        text: 不得擅自进行涉及客户权益的操作
parameters:""",
)


def run(*args: str | Path) -> tuple[int, str]:
    out = StringIO()
    with redirect_stdout(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def test_every_provision_is_listed_with_its_class_and_the_rules_enforcing_it(write_pack: Callable[..., Path]) -> None:
    matrix = coverage(read_pack(write_pack({"pack.yaml": TWO_ARTICLES})))
    rows = {row.ref: row for row in matrix.provisions}
    assert rows["svc-rules/16"].rules == ("SVC-016-unauthorized-operation",)
    assert rows["svc-rules/16b"].via_restated == ("SVC-016-unauthorized-operation",) and rows["svc-rules/16b"].enforced
    assert rows["svc-rules/7"].reason == "effective-date clause" and not rows["svc-rules/7"].gap
    assert [row.ref for row in matrix.gaps] == ["svc-rules/15"]
    assert matrix.totals()["svc-rules"] == {
        "provisions": 4,
        "record": 3,
        "not-checkable": 1,
        "checkable": 3,
        "enforced": 2,
    }


def test_the_coverage_command_prints_totals_and_names_the_gaps(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": TWO_ARTICLES})
    code, out = run("coverage", "--pack", pack)
    assert code == 0
    assert "4 provisions, 100 % classified; 2 of 3 checkable provisions enforced; not enforced: svc-rules/15" in out
    assert run("coverage", "--pack", pack, "--gaps")[0] == 1


def test_coverage_as_json_and_markdown(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": TWO_ARTICLES})
    data = json.loads(run("coverage", "--pack", pack, "--format", "json")[1])
    assert data["gaps"] == ["svc-rules/15"] and data["totals"]["svc-rules"]["enforced"] == 2
    markdown = run("coverage", "--pack", pack, "--format", "markdown")[1]
    assert "| svc-rules/15 | 第十五条 | record |" in markdown and "(not enforced)" in markdown


def test_the_bundled_pack_classifies_every_provision() -> None:
    matrix = coverage(read_pack(bundled_pack_path()))
    assert matrix.provisions and all(row.class_ for row in matrix.provisions)
    assert all(row.reason for row in matrix.provisions if row.class_ == "not-checkable")


def test_explain_an_article_by_its_label_shows_its_text_and_rules() -> None:
    code, out = run("explain", "第十六条")
    assert code == 0
    assert "本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。" in out
    assert "SVC-016-unauthorized-operation" in out and "when:" in out


def test_explain_a_rule_shows_what_it_cites_and_its_examples() -> None:
    code, out = run("explain", "SVC-016-unauthorized-operation")
    assert code == 0 and "cites 银行客户服务规章制度 第十六条 [svc-rules/16]" in out and "examples:" in out


def test_explain_something_unknown_is_an_error() -> None:
    assert run("explain", "第九十九条")[0] == 2
