"""Properties that hold for any record the model admits: no crash, same answer twice, nothing lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from conftest import AS_OF, REPO
from strategies import records_between, strategy
from svcpolicy.records.model import Interaction

POLICY = svcpolicy.load_policy()
RECORDS_2026 = records_between(dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 31))
ANY_RECORDS = strategy(Interaction)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


@SETTINGS
@given(st.one_of(RECORDS_2026, ANY_RECORDS))
def test_any_record_the_model_admits_is_judged_without_raising(record: dict[str, Any]) -> None:
    report = POLICY.evaluate(record, as_of=AS_OF)
    assert report.counts.records == 1 and report.counts.reconciled
    assert report.counts.invalid == 0
    for finding in report.findings:
        assert finding.citations and finding.citations[0].text
        if finding.outcome is svcpolicy.Outcome.UNDETERMINED:
            assert finding.missing or finding.reason


@SETTINGS
@given(st.lists(RECORDS_2026, max_size=6))
def test_evaluating_twice_gives_the_same_findings_in_the_same_order(records: list[dict[str, Any]]) -> None:
    first = [f.to_dict() for f in POLICY.evaluate(records, as_of=AS_OF).findings]
    second = [f.to_dict() for f in POLICY.evaluate(records, as_of=AS_OF).findings]
    assert first == second


@SETTINGS
@given(st.lists(st.one_of(RECORDS_2026, st.just({"id": ""}), st.just({"kind": "x"})), max_size=8))
def test_every_record_is_accounted_for_once(records: list[dict[str, Any]]) -> None:
    counts = POLICY.evaluate(records, as_of=AS_OF).counts
    assert counts.records == len(records)
    assert counts.compliant + counts.with_violations + counts.undetermined + counts.invalid == len(records)


@SETTINGS
@given(records=st.lists(RECORDS_2026, min_size=1, max_size=5))
def test_a_file_and_the_same_records_in_memory_give_the_same_findings(
    records: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    path = Path(tmp_path_factory.mktemp("records")) / "records.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r, default=_plain) + b"\n" for r in records))
    from_file = [(f.rule, f.record.id, f.record.path, f.outcome) for f in POLICY.evaluate(path, as_of=AS_OF).findings]
    in_memory = [
        (f.rule, f.record.id, f.record.path, f.outcome) for f in POLICY.evaluate(records, as_of=AS_OF).findings
    ]
    assert from_file == in_memory


def _single_file_pack(policy: svcpolicy.Policy) -> dict[str, Any]:
    pack = policy.definition
    return {
        **pack.manifest.model_dump(mode="json", by_alias=True, exclude={"include", "sources", "parameters", "rules"}),
        "sources": {k: v.model_dump(mode="json", by_alias=True) for k, v in pack.sources.items()},
        "parameters": {k: v.model_dump(mode="json", by_alias=True) for k, v in pack.parameters.items()},
        "rules": [rule.model_dump(mode="json", by_alias=True) for rule in pack.rules],
    }


def test_the_bundled_pack_dumped_to_yaml_and_loaded_again_gives_the_same_findings(tmp_path: Path) -> None:
    dumped = tmp_path / "pack.yaml"
    dumped.write_text(yaml.safe_dump(_single_file_pack(POLICY), allow_unicode=True, sort_keys=False), "utf-8")
    reloaded = svcpolicy.load_policy(dumped)
    examples = REPO / "examples" / "records.jsonl"
    before = [f.to_dict() for f in POLICY.evaluate(examples, as_of=AS_OF).findings]
    after = [f.to_dict() for f in reloaded.evaluate(examples, as_of=AS_OF).findings]
    assert before and before == after
    assert [r.passed for r in reloaded.run_examples()] == [r.passed for r in POLICY.run_examples()]
