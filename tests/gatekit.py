"""Shared by the compliance-gate tests: a two-rule pack (one rule not waivable) and record writers."""

from __future__ import annotations

import json
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

from svcpolicy.cli import main

AS_OF = "2026-11-27T00:00:00+08:00"
ARTICLE_16 = "本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。"
ARTICLE_15 = "本行员工应严格遵守银行业务规定,不得将客户信息泄露给任何第三方。"
UNAUTHORISED = "SVC-016-unauthorized-operation"
DISCLOSURE = "SVC-015-disclosure-without-consent"

GATE_PACK = f"""\
pack: gate
title: 门禁测试规则包
version: "1"
sources:
  svc-rules:
    title: 银行客户服务规章制度
    provisions:
      "16":
        label: 第十六条
        chapter: 第三章 客户权益保护
        class: record
        text: {ARTICLE_16}
      "15":
        label: 第十五条
        chapter: 第三章 客户权益保护
        class: record
        text: {ARTICLE_15}
rules:
  - id: {UNAUTHORISED}
    title: Operation affecting customer rights without the customer's authorisation
    description: An operation on the customer's rights needs the customer's prior authorisation.
    cite: [svc-rules/16]
    severity: critical
    for_each: op in operations
    when: op.affects_customer_rights and (op.authorization is None or op.authorization.at > op.at)
    message:
      zh: "未经客户授权执行了涉及客户权益的操作：{{op.kind}}"
      en: "Operation {{op.kind}} was done without the customer's authorisation"
  - id: {DISCLOSURE}
    title: Customer information given to a third party without consent
    cite: [svc-rules/15]
    severity: medium
    waivable: false
    for_each: d in disclosures
    when: d.third_party == True and d.consent_ref is None
    message:
      zh: "未经客户同意向第三方 {{d.recipient}} 提供了客户信息"
      en: "Customer data was given to third party {{d.recipient}} without consent"
"""


def write_gate_pack(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pack.yaml").write_text(GATE_PACK, encoding="utf-8")
    return directory


def unauthorised(record_id: str, n_ops: int = 1) -> dict[str, object]:
    """A record whose operations were all done without authorisation."""
    ops = [
        {
            "kind": "close_account",
            "affects_customer_rights": True,
            "at": "2026-11-02T10:00:00+08:00",
            "authorization": None,
        }
        for _ in range(n_ops)
    ]
    return {"id": record_id, "operations": ops}


def authorised(record_id: str) -> dict[str, object]:
    auth = {"by": "C1", "method": "signature", "scope": "close_account", "at": "2026-11-02T09:58:00+08:00"}
    op = {"kind": "close_account", "affects_customer_rights": True, "at": "2026-11-02T10:00:00+08:00"}
    return {"id": record_id, "operations": [{**op, "authorization": auth}]}


def disclosed(record_id: str) -> dict[str, object]:
    return {
        "id": record_id,
        "disclosures": [{"fields": ["phone"], "recipient": "insurer", "third_party": True, "consent_ref": None}],
    }


def write_records(path: Path, *records: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def svcpolicy(*args: str | Path) -> tuple[int, str, str]:
    """Run the command in-process: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()
