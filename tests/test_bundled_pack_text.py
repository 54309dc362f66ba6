"""The bundled cn-bank-service pack transcribes its regulation faithfully and is internally complete.

These tests read the pack's YAML directly (PyYAML only), so they hold whatever the engine does.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

PACK = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-service"
SEED_NAME = "000_cd703e736dc0dd10.txt"
SEED_COPY = PACK / "seed" / SEED_NAME
SEED_SHA256 = "381a0c663ca55766ad1089efcfe58a43ff08acd0ba4df684356328a1a211065d"
"""The seed as the project received it (shared/seeds/); the shipped copy must stay byte-identical to it."""
CLASSES = {"record", "aggregate", "event", "not-checkable"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def _pack_files() -> list[Path]:
    manifest = _load(PACK / "pack.yaml")
    files = [PACK / "pack.yaml"]
    for pattern in manifest["include"]:
        files.extend(sorted(PACK.glob(pattern)))
    return files


def _merged() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    sources: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for path in _pack_files():
        part = _load(path)
        sources.update(part.get("sources") or {})
        parameters.update(part.get("parameters") or {})
        rules.extend(part.get("rules") or [])
    return sources, parameters, rules


SOURCES, PARAMETERS, RULES = _merged()
SEED_TEXT = SEED_COPY.read_text(encoding="utf-8")
PROVISIONS = [
    (source_id, provision_id, provision)
    for source_id, source in SOURCES.items()
    for provision_id, provision in source["provisions"].items()
]
SEED_PROVISIONS = [p for p in PROVISIONS if SOURCES[p[0]].get("kind", "seed") == "seed"]


def _ids(items: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [f"{s}/{p}" for s, p, _ in items]


def test_the_shipped_seed_copy_is_byte_identical_to_the_seed_the_project_received() -> None:
    assert hashlib.sha256(SEED_COPY.read_bytes()).hexdigest() == SEED_SHA256


def test_the_pack_transcribes_every_seed_document() -> None:
    expected = {
        "svc-rules", "overview-a", "accounts-1994", "model-rules", "intro", "post-rules",
        "overview-b", "plan-2024", "psbc-2023", "overview-c", "svc-system",
    }  # fmt: skip
    seed_sources = {sid for sid, s in SOURCES.items() if s.get("kind", "seed") == "seed"}
    assert seed_sources == expected
    assert {str(n) for n in range(1, 22)} <= set(SOURCES["svc-rules"]["provisions"])
    assert {"11.1", "11.2", "11.3", "11.4"} <= set(SOURCES["model-rules"]["provisions"])


@pytest.mark.parametrize(("source_id", "provision_id", "provision"), SEED_PROVISIONS, ids=_ids(SEED_PROVISIONS))
def test_every_seed_provision_text_occurs_verbatim_in_the_seed(
    source_id: str, provision_id: str, provision: dict[str, Any]
) -> None:
    text = provision["text"]
    assert isinstance(text, str) and text.strip(), f"{source_id}/{provision_id} has no text"
    assert text in SEED_TEXT, f"{source_id}/{provision_id} is not verbatim from the seed"


@pytest.mark.parametrize(("source_id", "provision_id", "provision"), PROVISIONS, ids=_ids(PROVISIONS))
def test_every_provision_has_exactly_one_class_and_not_checkable_ones_say_why(
    source_id: str, provision_id: str, provision: dict[str, Any]
) -> None:
    assert provision.get("class") in CLASSES, f"{source_id}/{provision_id}: class {provision.get('class')!r}"
    if provision["class"] == "not-checkable":
        assert str(provision.get("reason") or "").strip(), f"{source_id}/{provision_id} needs a reason"


@pytest.mark.parametrize(("source_id", "provision_id", "provision"), PROVISIONS, ids=_ids(PROVISIONS))
def test_a_provision_without_an_article_number_says_how_sure_it_is(
    source_id: str, provision_id: str, provision: dict[str, Any]
) -> None:
    if provision.get("label") is None:
        assert provision.get("confidence") in {"secondary-source", "unconfirmed"}


def _resolves(ref: str) -> bool:
    source_id, _, provision_id = ref.partition("/")
    return source_id in SOURCES and provision_id in SOURCES[source_id]["provisions"]


def test_every_restatement_points_to_an_existing_provision() -> None:
    broken = [
        f"{s}/{p} -> {ref}" for s, p, prov in PROVISIONS for ref in prov.get("restates") or [] if not _resolves(ref)
    ]
    assert broken == []


def test_every_citation_of_rules_and_parameters_resolves() -> None:
    cited = [(r["id"], ref) for r in RULES for ref in r["cite"]]
    cited += [(name, ref) for name, p in PARAMETERS.items() for ref in p.get("cite") or []]
    assert [f"{owner}: {ref}" for owner, ref in cited if not _resolves(ref)] == []


def _enforceable_by(rule: dict[str, Any], provision: dict[str, Any]) -> bool:
    """A record rule judges one record: it cannot enforce an aggregate provision, so it does not cite one."""
    if provision["class"] == "not-checkable":
        return False
    return bool(provision["class"] != "aggregate" or rule.get("kind", "record") == "aggregate")


def test_a_rule_citing_a_provision_also_cites_its_restatements_that_it_can_enforce() -> None:
    missing = [
        f"{rule['id']} cites {ref} but not {s}/{p}"
        for rule in RULES
        for ref in rule["cite"]
        for s, p, prov in PROVISIONS
        if ref in (prov.get("restates") or []) and _enforceable_by(rule, prov) and f"{s}/{p}" not in rule["cite"]
    ]
    assert missing == []


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_every_rule_has_at_least_two_violating_and_two_complying_examples(rule: dict[str, Any]) -> None:
    examples = rule.get("examples") or []
    assert sum("violates" in e for e in examples) >= 2
    assert sum("complies" in e for e in examples) >= 2


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_every_rule_cites_the_seed_and_has_both_languages(rule: dict[str, Any]) -> None:
    assert any(SOURCES[ref.partition("/")[0]].get("kind", "seed") == "seed" for ref in rule["cite"])
    assert rule["message"]["zh"].strip() and rule["message"]["en"].strip()


def test_rule_ids_are_unique() -> None:
    ids = [r["id"] for r in RULES]
    assert len(ids) == len(set(ids))


def test_every_parameter_a_rule_reads_is_defined() -> None:
    used: set[str] = set()
    for rule in RULES:
        texts = [rule["when"], rule.get("applies_if") or "", rule.get("for_each") or "", rule.get("where") or ""]
        texts += [*(rule.get("let") or {}).values(), *(rule.get("group_by") or {}).values()]
        texts += [*(rule.get("aggregate") or {}).values(), rule["message"]["zh"], rule["message"]["en"]]
        for text in texts:
            used.update(re.findall(r"params\.([a-z_][a-z0-9_]*)", text))
    assert used - set(PARAMETERS) == set()


def test_the_step_order_table_is_derived_from_required_steps() -> None:
    """required_step_precedence (read by the order rule) lists, per business type, every pair of required steps in
    the order required_steps gives them, leaving out identity verification (judged by INTRO-21)."""
    required = PARAMETERS["required_steps"]["value"]
    derived = {
        business_type: [
            [earlier, later]
            for i, earlier in enumerate(steps)
            for later in steps[i + 1 :]
            if earlier != "identity_verification"
        ]
        for business_type, steps in required.items()
    }
    assert PARAMETERS["required_step_precedence"]["value"] == derived
    assert set(PARAMETERS["identity_verification_required_for"]["value"]) == {
        business_type for business_type, steps in required.items() if steps[:1] == ["identity_verification"]
    }


def test_the_reference_tables_have_the_columns_the_rules_read() -> None:
    for day, schedule in PARAMETERS["published_fee_schedule"]["values"].items():
        codes = [entry["code"] for entry in schedule]
        assert len(codes) == len(set(codes)), f"fee schedule of {day} lists a code twice"
        for entry in schedule:
            assert set(entry) == {"code", "name", "amount_fen", "currency"}, entry
            assert isinstance(entry["amount_fen"], int) and entry["amount_fen"] >= 0, entry
    for day, register in PARAMETERS["qualified_staff"]["values"].items():
        assert isinstance(register, dict), f"training register of {day} is not a mapping"
        for employee, business_types in register.items():
            assert isinstance(employee, str) and business_types, f"{day}: {employee}"
            assert all(isinstance(b, str) for b in business_types), f"{day}: {employee}"
