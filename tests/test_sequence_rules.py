"""Sequence rules in packs: validated with the pack, every problem reported at its line, runnable by a Monitor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import MINI_PACK
from monitor_streams import ev
from svcpolicy.errors import PackErrors
from svcpolicy.monitor import Monitor
from svcpolicy.results.findings import Finding

SEQUENCES = """\
sequences:
  - id: EVT-AUTH-001-authorisation-before-operation
    kind: preceded-by
    title: Authorisation before operation
    cite: [svc-rules/16]
    events: [authorization.granted, operation.performed]
    rule: operation.performed must be preceded by authorization.granted of its kind
    opens: {event: authorization.granted, key: [customer_id, scope]}
    checks: {event: operation.performed, key: [customer_id, kind], where: {affects_customer_rights: true}}
    message: {zh: "未经授权：{kind}", en: "Unauthorised {kind} for {customer_id}"}
"""


def pack_with(write_pack: Callable[..., Path], sequences: str) -> Path:
    return write_pack({"pack.yaml": MINI_PACK + "include: [monitor/*.yaml]\n", "monitor/seq.yaml": sequences})


def test_a_pack_of_ones_own_runs_its_sequences_with_its_citations(write_pack: Callable[..., Path]) -> None:
    policy = svcpolicy.load_policy(pack_with(write_pack, SEQUENCES))
    op = {"customer_id": "C1", "kind": "transfer", "affects_customer_rights": True}
    with Monitor(policy) as monitor:
        alerts = [*monitor.feed(ev("o1", "operation.performed", "03-02 10:00", **op)), *monitor.flush()]
    finding = alerts[0].item
    assert isinstance(finding, Finding)
    assert (finding.message("en"), finding.citations[0].label) == ("Unauthorised transfer for C1", "第十六条")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("key: [customer_id, kind]", "key: [customer_id, knd]"), "operation.performed has no field 'knd'"),
        (("cite: [svc-rules/16]", "cite: [svc-rules/17]"), "citation 'svc-rules/17': no such provision"),
        (("event: authorization.granted,", "event: authorization.given,"), "unknown event type 'authorization.given'"),
        (("{kind} for", "{knd} for"), "message names knd"),
        (("kind: preceded-by", "kind: within"), "a `within` sequence needs `period` and `closes`"),
        (("events: [authorization.granted, ", "events: ["), "`events` must list every event read"),
    ],
)
def test_a_broken_sequence_is_a_pack_error_at_its_file_and_line(
    write_pack: Callable[..., Path], change: tuple[str, str], expected: str
) -> None:
    assert SEQUENCES.count(change[0]) == 1
    root = pack_with(write_pack, SEQUENCES.replace(*change))
    with pytest.raises(PackErrors) as caught:
        svcpolicy.load_policy(root)
    message = str(caught.value)
    assert expected in message and "seq.yaml:" in message


def test_a_sequence_defined_twice_is_an_error(write_pack: Callable[..., Path]) -> None:
    twice = SEQUENCES + SEQUENCES.split("\n", 1)[1]
    with pytest.raises(PackErrors, match="defined twice"):
        svcpolicy.load_policy(pack_with(write_pack, twice))


def test_a_described_sequence_must_say_why_it_is_not_run(write_pack: Callable[..., Path]) -> None:
    described = """\
sequences:
  - id: EVT-CMP-004-progress-reported
    kind: described
    title: Progress is reported
    cite: [svc-rules/16]
    events: [complaint.received]
    rule: progress must be reported regularly
"""
    with pytest.raises(PackErrors, match="reason"):
        svcpolicy.load_policy(pack_with(write_pack, described))


def test_the_bundled_pack_runs_every_sequence_or_says_why_not(bundled: svcpolicy.Policy) -> None:
    kinds = {s.id: s.kind for s in bundled.definition.sequences}
    assert kinds == {
        "EVT-CMP-001-decided-within-period": "within",
        "EVT-CMP-002-decision-told-to-complainant": "within",
        "EVT-CMP-003-extension-notified-in-time": "described",
        "EVT-CMP-004-progress-reported": "described",
        "EVT-CMP-005-withdrawal-ends-handling": "described",
        "EVT-SALE-001-no-sale-after-decline": "not-after",
        "EVT-AUTH-001-authorisation-before-operation": "preceded-by",
        "EVT-RISK-001-disclosure-before-sale": "preceded-by",
        "EVT-DATA-001-consent-before-disclosure": "preceded-by",
    }
    with Monitor(bundled, engine="python") as monitor:
        assert [rule for rule, _ in monitor.described] == [k for k, v in kinds.items() if v == "described"]
        assert all(reason.strip() for _, reason in monitor.described)
