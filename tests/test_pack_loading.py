"""A pack is validated before anything runs, and every problem is reported at its file:line:col."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import MINI_PACK


def load_errors(path: Path) -> list[str]:
    with pytest.raises(svcpolicy.PackErrors) as caught:
        svcpolicy.load_policy(path)
    return [str(e) for e in caught.value.errors]


def test_the_mini_pack_loads_with_its_rule_and_citation(mini: svcpolicy.Policy) -> None:
    assert [p.id for p in mini.programs] == ["SVC-016-unauthorized-operation"]
    citation = mini.programs[0].citations[0]
    assert (citation.label, citation.chapter) == ("第十六条", "第三章 客户权益保护")


def test_a_misspelt_key_is_an_error_at_its_line(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK.replace("    severity: critical", "    severty: critical")})
    errors = load_errors(pack)
    assert any("pack.yaml:21:" in e and "severty" in e for e in errors), errors


def test_a_citation_that_resolves_nowhere_is_an_error_with_a_suggestion(
    write_pack: Callable[..., Path],
) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK.replace("cite: [svc-rules/16]", "cite: [svc-rule/16]")})
    (error,) = load_errors(pack)
    assert "pack.yaml:20:" in error and "did you mean 'svc-rules'" in error


def test_an_unsafe_condition_is_an_error_at_the_condition(write_pack: Callable[..., Path]) -> None:
    hostile = MINI_PACK.replace(
        "    when: op.affects_customer_rights and", "    when: op.__class__.__subclasses__() and"
    )
    with pytest.raises(svcpolicy.PackErrors) as caught:
        svcpolicy.load_policy(write_pack({"pack.yaml": hostile}))
    (error,) = caught.value.errors
    assert isinstance(error, svcpolicy.ExpressionError)
    assert error.location is not None and error.location.line == 23


def test_a_rule_defined_twice_names_both_places(write_pack: Callable[..., Path]) -> None:
    rules_text = MINI_PACK[MINI_PACK.index("\nrules:") + 1 :]
    pack = write_pack({"pack.yaml": MINI_PACK + "include: [more.yaml]\n", "more.yaml": rules_text})
    errors = load_errors(pack)
    assert any("more.yaml:2:" in e and "defined twice (first at" in e and "pack.yaml:18" in e for e in errors), errors


def test_a_not_checkable_provision_without_a_reason_is_refused(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK.replace("class: record", "class: not-checkable")})
    (error,) = load_errors(pack)
    assert "reason" in error


def test_a_yaml_alias_bomb_is_a_pack_error_not_an_exhausted_machine(write_pack: Callable[..., Path]) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ",".join([f"*{prev}"] * 10) + "]")
    pack = write_pack({"pack.yaml": "\n".join(lines) + "\n"})
    with pytest.raises(svcpolicy.PackError, match="alias bomb"):
        svcpolicy.load_policy(pack)


def test_python_object_tags_are_refused(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": "pack: !!python/object/apply:os.system ['true']\n"})
    with pytest.raises(svcpolicy.PackError, match=r"pack.yaml:1:7: .*python/object/apply"):
        svcpolicy.load_policy(pack)


def test_an_include_cannot_leave_the_pack_directory(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK + "include: ['../*.yaml']\n"})
    with pytest.raises(svcpolicy.PackError, match="inside the pack directory"):
        svcpolicy.load_policy(pack)


def test_a_parameter_must_cite_a_source_or_say_it_is_bank_set(write_pack: Callable[..., Path]) -> None:
    pack = write_pack({"pack.yaml": MINI_PACK.replace("    bank_set: true\n", "")})
    (error,) = load_errors(pack)
    assert "bank_set" in error and "pack.yaml:14:" in error


def test_an_unknown_parameter_in_a_condition_is_an_error(write_pack: Callable[..., Path]) -> None:
    pack = write_pack(
        {
            "pack.yaml": MINI_PACK.replace(
                "    when: op.affects_customer_rights and", "    when: params.min_scor > 1 and"
            )
        }
    )
    with pytest.raises(svcpolicy.PackErrors, match="min_scor"):
        svcpolicy.load_policy(pack)


def test_a_missing_pack_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(svcpolicy.PackError, match="no such pack"):
        svcpolicy.load_policy(tmp_path / "nowhere")
