"""Customer identifiers never reach a report svcpolicy check writes, in any format, unless asked (issue 10)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekit import svcpolicy
from svcpolicy.errors import PackErrors
from svcpolicy.pack.loader import read_pack
from svcpolicy.policy import load_policy
from svcpolicy.reporting.registry import FORMATS

CUSTOMER, PHONE = "C1234567", "13800138000"

PRIVATE_PACK = """\
pack: private
title: 测试规则包
version: "1"
privacy:
  identifying_fields: [customer.id, extra.phone]
sources:
  svc-rules:
    title: 银行客户服务规章制度
    provisions:
      "16":
        label: 第十六条
        class: record
        text: 本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。
rules:
  - id: SVC-016-unauthorized-operation
    title: Operation without the customer's authorisation
    cite: [svc-rules/16]
    severity: critical
    for_each: op in operations
    when: op.affects_customer_rights and op.authorization is None
    message:
      zh: "客户 {customer.id}（电话 {extra.phone}）的操作 {op.id} 未经授权"
      en: "Operation {op.id} of customer {customer.id} (phone {extra.phone}) was not authorised"
  - id: SVC-016-operations-per-depositor
    kind: aggregate
    title: Operations per depositor
    cite: [svc-rules/16]
    severity: low
    group_by:
      depositor: customer.id
    aggregate:
      records: count()
    when: records >= 1
    message:
      zh: "存款人 {depositor} 有 {records} 条记录"
      en: "Depositor {depositor} has {records} records"
"""

RECORD = {
    "id": f"INT-{CUSTOMER}",
    "kind": "interaction",
    "customer": {"id": CUSTOMER},
    "extra": {"phone": PHONE},
    "operations": [
        {"id": f"OP-{CUSTOMER}", "kind": "close_account", "affects_customer_rights": True, "authorization": None}
    ],
}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(PRIVATE_PACK, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    return pack, records


def _check(project: tuple[Path, Path], fmt: str, *more: str | Path) -> str:
    pack, records = project
    code, out, _ = svcpolicy("check", records, "--pack", pack, "--no-config", "--format", fmt, *more)
    assert code == 1
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_format_shows_a_customer_id_or_phone_by_default(project: tuple[Path, Path], fmt: str) -> None:
    out = _check(project, fmt, "--lang", "en")
    assert "C1****67" in out
    assert CUSTOMER not in out
    assert PHONE not in out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_customer_id_run_into_letters_or_digits_of_a_record_id_is_masked_in_every_format(
    tmp_path: Path, fmt: str
) -> None:
    """A bank's record id may carry the customer id inside a longer token (``INT-X1234567B``, ``OP1234567``):
    an identifier of six characters or more is masked wherever it occurs."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(PRIVATE_PACK, encoding="utf-8")
    record = RECORD | {
        "id": "INT-X1234567B",
        "customer": {"id": "1234567"},
        "operations": [{"id": "OP1234567", "kind": "close_account", "affects_customer_rights": True}],
    }
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(record) + "\n", encoding="utf-8")
    out = _check((pack, records), fmt, "--lang", "en")
    assert "1234567" not in out
    assert "12***67" in out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_show_customer_ids_reveals_them_in_every_format(project: tuple[Path, Path], fmt: str) -> None:
    out = _check(project, fmt, "--lang", "en", "--show-customer-ids")
    assert CUSTOMER in out
    assert PHONE in out


def test_a_group_keyed_by_customer_id_is_masked_in_its_key_and_message(project: tuple[Path, Path]) -> None:
    findings = json.loads(_check(project, "json"))["findings"]
    group = next(f for f in findings if f["group"] is not None)
    assert group["group"] == {"depositor": "C1****67"}
    assert CUSTOMER not in group["message"]["en"]


def test_masked_findings_keep_their_fingerprints(project: tuple[Path, Path]) -> None:
    pack, records = project
    raw = load_policy(pack).evaluate(records)
    shown = json.loads(_check(project, "json"))["findings"]
    assert [f["fingerprint"] for f in shown] == [f.fingerprint for f in raw.findings]


def test_a_waiver_on_a_record_whose_id_is_masked_still_applies(project: tuple[Path, Path], tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        textwrap.dedent(f"""\
            waivers:
              - rule: SVC-016-unauthorized-operation
                record: INT-{CUSTOMER}
                reason: accepted in review
                approver: 王经理
                expires: 2099-12-31
            """),
        encoding="utf-8",
    )
    out = _check(project, "text", "--lang", "en", "--waivers", waivers)
    assert "waived" in out and CUSTOMER not in out


def test_library_reports_keep_the_raw_values(project: tuple[Path, Path]) -> None:
    pack, records = project
    report = load_policy(pack).evaluate(records)
    assert CUSTOMER in report.findings[0].message_en and PHONE in report.findings[0].message_en


def test_the_bundled_pack_declares_customer_identifying_fields() -> None:
    fields = load_policy().definition.identifying_fields
    assert {"customer.id", "operations[].authorization.by", "extra.phone"} <= set(fields)


def test_an_identifying_field_that_is_no_record_path_is_a_pack_error(
    write_pack: Callable[..., Path],
) -> None:
    pack = write_pack({"pack.yaml": PRIVATE_PACK.replace("extra.phone]", "customer.phone]")})
    with pytest.raises(PackErrors) as raised:
        read_pack(pack)
    assert "customer.phone" in str(raised.value) and "pack.yaml:" in str(raised.value)


AGENT, AUTHORISER = "P9999888", "P3001777"

AGENT_RECORD = {
    "id": "INT-AGENT-1",
    "kind": "interaction",
    "channel": "counter",
    "branch_id": "B1",
    "employee": {"id": "E2001", "role": "teller"},
    "customer": {"id": CUSTOMER},
    "business_type": "account_service",
    "started_at": "2026-03-02T09:50:00+08:00",
    "ended_at": "2026-03-02T10:10:00+08:00",
    "operations": [
        {
            "id": "OP-1",
            "kind": "close_account",
            "affects_customer_rights": True,
            "at": "2026-03-02T10:00:00+08:00",
            "applied_by": AUTHORISER,
            "account_id": "62220001",
            "authorization": {
                "by": AUTHORISER,
                "method": "signature",
                "scope": "close_account",
                "at": "2026-03-02T09:55:00+08:00",
                "power_of_attorney": {
                    "reference": "POA-1",
                    "agent": AGENT,
                    "scope": ["close_account"],
                    "valid_from": "2026-01-01T00:00:00+08:00",
                    "valid_until": None,
                },
            },
        }
    ],
}
"""Someone other than the agent a power of attorney names closes the account: SVC-016 cites the document's agent."""


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_agent_a_power_of_attorney_names_is_masked_in_every_format(tmp_path: Path, fmt: str) -> None:
    """An agent is a private person acting for the customer: their id is as private as the customer's."""
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(AGENT_RECORD) + "\n", encoding="utf-8")
    code, out, _ = svcpolicy("check", records, "--no-config", "--format", fmt, "--as-of", "2026-11-27T00:00:00+08:00")
    assert code == 1
    assert AGENT not in out and AUTHORISER not in out
    if fmt in ("json", "jsonl", "sarif", "html"):  # the formats that carry a finding's evidence
        assert "P9****88" in out


def test_the_html_report_of_the_library_masks_the_agent_too(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(AGENT_RECORD) + "\n", encoding="utf-8")
    report = load_policy().evaluate(records, as_of=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    assert AGENT in json.dumps([f.evidence for f in report.findings], default=str)  # the library keeps raw values
    page = report.to_html()
    assert AGENT not in page and AUTHORISER not in page
