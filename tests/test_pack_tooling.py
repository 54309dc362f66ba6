"""Pack tooling: `svcpolicy lint`, `svcpolicy test` and `svcpolicy init-pack`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import REPO
from gatekit import GATE_PACK, UNAUTHORISED, svcpolicy, write_gate_pack
from svcpolicy.authoring.lint import lint_pack

HEADER = """\
pack: lintme
title: lint test
version: "1"
sources:
  s:
    title: S
    provisions:
      "1": {label: 第一条, class: record, text: 文本}
"""


def lint_rules(tmp_path: Path, rules: str, extra: str = "") -> list[str]:
    """Lint a pack holding these rules; the messages with the pack directory stripped."""
    root = tmp_path / "p"
    root.mkdir(exist_ok=True)
    (root / "pack.yaml").write_text(HEADER + extra + "rules:\n" + rules, encoding="utf-8")
    return [str(m).replace(f"{root}/", "") for m in lint_pack(root).messages]


def rule(when: str, **more: str) -> str:
    lines = "".join(f"    {k}: {v}\n" for k, v in more.items())
    return (
        f"  - id: R-1-x\n    title: x\n    cite: [s/1]\n    severity: low\n{lines}    when: {when}\n"
        '    message: {zh: "a", en: "b"}\n    title_zh: 某\n'
        "    examples: [{violates: {id: a}}, {complies: {id: b}}]\n"
    )


# -- lint ---------------------------------------------------------------------------------------------


def test_lint_finds_a_misspelt_field_with_a_suggestion_at_file_line_col(tmp_path: Path) -> None:
    messages = lint_rules(tmp_path, rule("customer.risk_tolerence < 3"))
    assert messages == [
        "pack.yaml:14:11: error: unknown field `risk_tolerence` of `customer` (customer); "
        "did you mean `risk_tolerance`? [unknown-field]"
    ]


def test_lint_maps_loop_variables_and_lets_to_model_paths(tmp_path: Path) -> None:
    messages = lint_rules(
        tmp_path,
        rule(
            "op.afects_customer_rights and auth.att > op.at",
            for_each="op in operations",
            let="{auth: op.authorization}",
        ),
    )
    assert any(
        "`afects_customer_rights` of `op` (operations[]); did you mean `affects_customer_rights`?" in m
        for m in messages
    )
    assert any("`att` of `auth` (operations[].authorization); did you mean `at`?" in m for m in messages)


def test_lint_checks_quantifier_variables_messages_and_bare_names(tmp_path: Path) -> None:
    text = rule('any(s.nmae == "x" for s in steps) or operation == 1')
    text = text.replace('message: {zh: "a", en: "b"}', 'message: {zh: "{customer.nam}", en: "b"}')
    messages = lint_rules(tmp_path, text)
    assert any("unknown field `nmae` of `s` (steps[]); did you mean `name`?" in m for m in messages)
    assert any("unknown field `operation`; did you mean `operations`?" in m for m in messages)
    assert any("unknown field `nam` of `customer`" in m for m in messages)


def test_lint_leaves_extra_fields_free(tmp_path: Path) -> None:
    assert lint_rules(tmp_path, rule('extra.vip_level >= 3 and extra["branch-code"] == "SH01"')) == []


def test_lint_checks_types_and_values_against_the_record_model(tmp_path: Path) -> None:
    messages = lint_rules(
        tmp_path,
        rule(
            'customer.age == "60" or complaint.complexity == "compex" or operations.kind == "x" or customer.id.x == 1'
        ),
    )
    assert any("compares customer.age (a number) with a text ('60')" in m and "[type-mismatch]" in m for m in messages)
    assert any(
        "complaint.complexity is one of 'simple', 'complex'; 'compex' never occurs; did you mean `complex`?" in m
        for m in messages
    )
    assert any("`operations` is a list: read `kind` of its items" in m for m in messages)
    assert any("`customer.id` is a text value: it has no field `x`" in m for m in messages)


def test_lint_finds_conditions_that_cannot_depend_on_the_record(tmp_path: Path) -> None:
    params = "parameters:\n  limit: {value: 3, cite: [s/1]}\n"
    assert lint_rules(tmp_path, rule("params.limit > 2"), params) == [
        "pack.yaml:16:11: error: `when` is always true: every record rule R-1-x applies to violates it "
        "[constant-condition]"
    ]
    assert lint_rules(tmp_path, rule("params.limit > 5"), params) == [
        "pack.yaml:16:11: error: `when` is never true: rule R-1-x can never find a violation [unreachable-rule]"
    ]
    messages = lint_rules(tmp_path, rule("wait_minutes > 3", applies_if="params.limit < 2"), params)
    assert messages == [
        "pack.yaml:16:17: error: applies_if is always False: rule R-1-x never applies [unreachable-rule]"
    ]
    messages = lint_rules(tmp_path, rule("operations is None or id is None or (wait_minutes > 3 and True)"), params)
    assert any(
        "`operations is None` is always False: operations is never null (a list: absent means empty)" in m
        for m in messages
    )
    assert any("`id is None` is always False" in m for m in messages)
    assert any("warning: `True` in `and` is a constant" in m for m in messages)


def test_lint_warns_about_unused_names_uncited_parameters_and_missing_examples(tmp_path: Path) -> None:
    params = "parameters:\n  unused: {value: 3, bank_set: true}\n"
    text = rule("wait_minutes > 3", let="{spare: customer.id}").replace(
        "    examples: [{violates: {id: a}}, {complies: {id: b}}]\n", ""
    )
    messages = lint_rules(tmp_path, text, params)
    assert (
        "pack.yaml:10:3: warning: parameter `unused` cites no source (bank_set): cite the bank's own rule "
        "[uncited-parameter]" in messages
    )
    assert "pack.yaml:10:3: warning: parameter `unused` is not used by any rule [unused-parameter]" in messages
    assert any("warning: let `spare` is never used [unused-let]" in m for m in messages)
    assert any("warning: rule R-1-x has no violating example [missing-example]" in m for m in messages)


def test_lint_reports_schema_and_citation_errors_as_file_line_col(tmp_path: Path) -> None:
    broken = rule("wait_minutes > 3").replace("severity: low", "severty: low")
    assert lint_rules(tmp_path, broken) == [
        "pack.yaml:10:5: error: rules.0.severity: Field required [pack]",
        "pack.yaml:13:14: error: rules.0.severty: Extra inputs are not permitted [pack]",
    ]
    assert lint_rules(tmp_path, rule("wait_minutes > 3").replace("[s/1]", "[s/2]")) == [
        "pack.yaml:12:12: error: citation 's/2': s has no provision '2' [pack]"
    ]


def test_lint_reports_a_rule_id_used_twice(tmp_path: Path) -> None:
    messages = lint_rules(tmp_path, rule("wait_minutes > 3") + rule("wait_minutes > 4"))
    assert messages == [
        "pack.yaml:18:5: error: rule 'R-1-x' is defined twice (first at pack.yaml:10:5) [pack]",
    ]


def test_lint_command_exit_codes_and_summary(tmp_path: Path) -> None:
    lint_rules(tmp_path, rule("customer.risk_tolerence < 3"))
    code, out, _ = svcpolicy("lint", tmp_path / "p", "--no-config")
    assert code == 1 and out.strip().endswith("1 pack(s) linted: 1 error(s), 0 warning(s)")
    write_gate_pack(tmp_path / "gate")
    code, out, _ = svcpolicy("lint", tmp_path / "gate", "--no-config")
    assert code == 0 and "0 error(s), 7 warning(s)" in out  # two rules without examples, three without title_zh
    assert svcpolicy("lint", tmp_path / "gate", "--no-config", "--strict")[0] == 1


def test_the_bundled_pack_lints_without_errors() -> None:
    result = lint_pack(REPO / "rules" / "cn-bank-service")
    assert result.errors == [], "\n".join(str(m) for m in result.errors)


# -- svcpolicy test -----------------------------------------------------------------------------------

EXAMPLES = """\
    examples:
      - name: no authorisation
        violates: {operations: [{kind: close_account, affects_customer_rights: true,
                                  at: "2026-11-02T10:00:00+08:00", authorization: null}]}
      - name: wrongly expected to comply
        complies: {operations: [{kind: close_account, affects_customer_rights: true,
                                 at: "2026-11-02T10:00:00+08:00", authorization: null}]}
"""

CASES = f"""\
as_of: 2026-11-27T00:00:00+08:00
cases:
  - name: the unauthorised close is caught
    records:
      - {{id: R1, operations: [{{kind: close_account, affects_customer_rights: true,
                                at: "2026-11-02T10:00:00+08:00", authorization: null}}]}}
    expect:
      - {{rule: {UNAUTHORISED}, record: R1, path: "operations[0]"}}
  - name: expects a finding that does not come, and gets one it did not expect
    records:
      - {{id: R2, disclosures: [{{fields: [phone], recipient: x, third_party: true, consent_ref: null}}]}}
    expect:
      - {{rule: {UNAUTHORISED}, record: R2}}
  - name: an invalid record can be expected
    records:
      - {{id: R3, started_at: "yesterday"}}
    expect:
      - {{record: R3, outcome: invalid}}
"""


@pytest.fixture
def tested_pack(tmp_path: Path) -> Path:
    root = tmp_path / "gate"
    root.mkdir()
    text = GATE_PACK.replace(
        '      en: "Operation {op.kind} was done without the customer\'s authorisation"\n',
        '      en: "Operation {op.kind} was done without the customer\'s authorisation"\n' + EXAMPLES,
    )
    (root / "pack.yaml").write_text(text, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "cases.yaml").write_text(CASES, encoding="utf-8")
    return root


def test_svcpolicy_test_prints_a_result_per_case_and_the_summary_line(tested_pack: Path) -> None:
    code, out, _ = svcpolicy("test", tested_pack, "--no-config")
    lines = out.splitlines()
    assert code == 1
    assert f"PASS  gate::{UNAUTHORISED}[0:violation] no authorisation" in lines
    assert any(line.startswith(f"FAIL  gate::{UNAUTHORISED}[1:compliant] wrongly expected to comply") for line in lines)
    assert (
        "    expected compliant, got violation: Operation close_account was done without the customer's authorisation"
        in lines
    )
    assert "PASS  gate::cases.yaml::the unauthorised close is caught" in lines
    fail = next(i for i, line in enumerate(lines) if "expects a finding that does not come" in line)
    assert lines[fail].startswith("FAIL") and "cases.yaml:9:5" in lines[fail]
    assert lines[fail + 1] == (
        f"    expected rule={UNAUTHORISED}, record=R2, outcome=violation: no such finding; "
        "unexpected violation SVC-015-disclosure-without-consent on R2 disclosures[0]: "
        "Customer data was given to third party x without consent"
    )
    assert "PASS  gate::cases.yaml::an invalid record can be expected" in lines
    assert lines[-1] == "3 passed, 2 failed"


def test_an_invalid_test_file_fails_with_its_location(tested_pack: Path) -> None:
    (tested_pack / "tests" / "cases.yaml").write_text(
        "cases:\n  - name: x\n    records: []\n    expects: []\n", encoding="utf-8"
    )
    code, out, _ = svcpolicy("test", tested_pack, "--no-config", "-q")
    assert code == 1
    lines = out.splitlines()
    assert f"FAIL  gate::cases.yaml  ({tested_pack}/tests/cases.yaml:3:5)" in lines
    assert "    invalid test file: cases.0.records: List should have at least 1 item after validation, not 0" in lines
    assert f"FAIL  gate::cases.yaml  ({tested_pack}/tests/cases.yaml:4:5)" in lines
    assert "    invalid test file: cases.0.expects: Extra inputs are not permitted" in lines
    assert "    invalid test file: cases.0.expect: Field required" in lines
    assert out.splitlines()[-1] == "1 passed, 4 failed"


def test_a_pack_that_does_not_load_is_a_failed_test_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "pack.yaml").write_text("pack: [\n", encoding="utf-8")
    code, out, _ = svcpolicy("test", tmp_path / "bad", "--no-config")
    assert code == 2 and out.splitlines()[-1] == "0 passed, 1 failed"


def test_lint_with_test_runs_both(tested_pack: Path) -> None:
    code, out, _ = svcpolicy("lint", tested_pack, "--no-config", "--test")
    assert code == 1 and out.splitlines()[-1] == "3 passed, 2 failed"


# -- init-pack ----------------------------------------------------------------------------------------


def test_init_pack_scaffolds_a_branch_overlay_that_lints_and_tests_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = svcpolicy("init-pack", "sh-pudong-branch", "--extends", "cn-bank-service")
    assert code == 0 and "created sh-pudong-branch/pack.yaml" in out
    root = tmp_path / "sh-pudong-branch"
    manifest = yaml.safe_load((root / "pack.yaml").read_text(encoding="utf-8"))
    assert manifest["extends"] == "cn-bank-service" and manifest["pack"] == "sh-pudong-branch"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml")) == [
        "pack.yaml",
        "rules/example.yaml",
        "sources/branch-rules.yaml",
        "tests/example.yaml",
    ]
    code, out, _ = svcpolicy("lint", "sh-pudong-branch", "--no-config")
    assert code == 0, out
    assert out.splitlines() == [
        "sh-pudong-branch/sources/branch-rules.yaml:12:15: warning: branch-rules/1 still holds the scaffold text: "
        "transcribe the article verbatim [scaffold-text]",
        "1 pack(s) linted: 0 error(s), 1 warning(s)",
    ]
    code, out, _ = svcpolicy("test", root, "--no-config")
    assert code == 0, out
    lines = out.splitlines()
    assert "PASS  sh-pudong-branch::SHPUDONGBRAN-001-counter-wait[0:violation] waited 45 minutes" in lines
    assert "PASS  sh-pudong-branch::example.yaml::a record without the wait cannot be decided" in lines
    assert lines[-1] == "8 passed, 0 failed"  # its own rule's 5 examples and 3 cases; the base tests itself


def test_init_pack_without_a_base_is_a_standalone_pack(tmp_path: Path) -> None:
    code, _, _ = svcpolicy("init-pack", "mybank", "--dir", tmp_path / "p")
    assert code == 0
    assert "extends" not in yaml.safe_load((tmp_path / "p" / "pack.yaml").read_text(encoding="utf-8"))
    code, out, _ = svcpolicy("test", tmp_path / "p", "--no-config")
    assert code == 0 and out.splitlines()[-1] == "8 passed, 0 failed"


def test_init_pack_refuses_a_bad_name_a_missing_base_or_a_used_directory(tmp_path: Path) -> None:
    assert svcpolicy("init-pack", "My Bank", "--dir", tmp_path / "a")[0] == 2
    code, _, err = svcpolicy("init-pack", "ok", "--dir", tmp_path / "b", "--extends", "no-such-pack")
    assert code == 2 and "no bundled pack named 'no-such-pack'" in err
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x", encoding="utf-8")
    code, _, err = svcpolicy("init-pack", "ok", "--dir", tmp_path / "c")
    assert code == 2 and "is not empty" in err
