"""A small audit scene for the notebook, chart and HTML tests: a pack of three articles and a month of records.

Kept apart from the bundled pack so that counts in these tests follow from this file alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import svcpolicy

CST = dt.timezone(dt.timedelta(hours=8))
AS_OF = dt.datetime(2026, 11, 27, tzinfo=CST)

AUDIT_PACK = """\
pack: audit-mini
title: 审计测试规则包
version: "1"
timezone: "+08:00"
sources:
  svc-rules:
    title: 银行客户服务规章制度
    provisions:
      "9":
        label: 第九条
        chapter: 第二章 客户服务基本准则
        class: record
        text: 本行员工应遵守服务承诺,对客户提出的问题和需求,要及时回复和处理。
      "10":
        label: 第十条
        chapter: 第二章 客户服务基本准则
        class: record
        text: 本行员工在处理客户事务时,应保护客户隐私,确保客户信息的安全。
      "16":
        label: 第十六条
        chapter: 第三章 客户权益保护
        class: record
        text: 本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。
parameters:
  max_wait_minutes:
    value: 30
    bank_set: true
rules:
  - id: SVC-016-unauthorized-operation
    title: Operation affecting customer rights without the customer's authorisation
    cite: [svc-rules/16, svc-rules/10]
    severity: critical
    for_each: op in operations
    when: op.affects_customer_rights and (op.authorization is None or op.authorization.at > op.at)
    message:
      zh: "未经客户授权执行了涉及客户权益的操作：{op.kind}，授权人 {op.authorization.by}"
      en: "Operation {op.kind} was done without the customer's authorisation (by {op.authorization.by})"
  - id: SVC-009-wait-too-long
    title: Customer kept waiting longer than the bank's limit
    cite: [svc-rules/9]
    severity: low
    when: wait_minutes > params.max_wait_minutes
    message:
      zh: "客户排队等候 {wait_minutes} 分钟"
      en: "The customer waited {wait_minutes} minutes"
"""


AGGREGATE_RULE = """\
  - id: AGG-branch-average-wait
    kind: aggregate
    title: A branch's monthly average queue time is above 20 minutes
    cite: [svc-rules/9]
    severity: medium
    group_by:
      branch: branch_id
      month: month(started_at)
    aggregate:
      average: avg(wait_minutes)
    when: average > 20
    message:
      zh: "网点 {branch} {month} 平均排队 {average} 分钟"
      en: "Branch {branch} averaged {average} minutes in {month}"
"""
"""An aggregate rule for AUDIT_PACK: findings about a branch-month, not about one record."""


def op(authorised: bool, by: str = "C100001", kind: str = "close_account") -> dict[str, Any]:
    """An operation affecting customer rights, authorised before it (or not at all)."""
    return {
        "kind": kind,
        "affects_customer_rights": True,
        "at": "2026-11-02T10:00:00+08:00",
        "authorization": (
            {"by": by, "method": "signature", "scope": kind, "at": "2026-11-02T09:58:00+08:00"} if authorised else None
        ),
    }


def record(
    rid: str,
    branch: str | None,
    employee: str,
    customer: str,
    started: str,
    *,
    wait: float = 5,
    operations: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": rid,
        "channel": "counter",
        "employee": {"id": employee, "role": "teller"},
        "customer": {"id": customer, "age": 40},
        "started_at": started,
        "wait_minutes": wait,
        "operations": operations or [],
    }
    if branch is not None:
        data["branch_id"] = branch
    data.update(extra)
    return data


RECORDS: list[dict[str, Any]] = [
    # line 1: compliant
    record("R01", "SH-001", "E1", "C100001", "2026-09-03T09:00:00+08:00", operations=[op(True)]),
    # line 2: SVC-016 (critical), September, SH-001, E1
    record("R02", "SH-001", "E1", "C100002", "2026-09-15T09:00:00+08:00", operations=[op(False)]),
    # line 3: SVC-009 (low), November, SH-001, E2
    record("R03", "SH-001", "E2", "C100003", "2026-11-02T09:00:00+08:00", wait=45),
    # line 4: SVC-016 twice (two operations) + SVC-009, November, SH-002, E2
    record(
        "R04",
        "SH-002",
        "E2",
        "C100004",
        "2026-11-05T23:30:00+08:00",
        wait=50,
        operations=[op(False, kind="transfer_out"), op(False, kind="change_phone")],
    ),
    # line 5: undetermined SVC-009 (wait_minutes absent), no branch, November
    {k: v for k, v in record("R05", None, "E3", "C100005", "2026-11-20T09:00:00+08:00").items() if k != "wait_minutes"},
    # line 6: invalid (a time without an offset)
    record("R06", "SH-002", "E1", "C100006", "2026-11-21T09:00:00"),
    # line 7: SVC-016 authorised by another customer (C999999) after the fact: that id is masked too
    record(
        "R07",
        "SH-002",
        "E1",
        "C100007",
        "2026-11-22T09:00:00+08:00",
        operations=[{**op(True, by="C999999"), "at": "2026-11-02T09:00:00+08:00"}],
    ),
]
"""Seven records: 1 compliant, 4 with violations (6 violations), 1 undetermined, 1 invalid."""

CUSTOMER_IDS = ("C100002", "C100003", "C100004", "C100005", "C100007", "C999999")
"""Customer identifiers that appear in the report's findings (masked in HTML by default)."""

HOSTILE = record(
    "<script>window.pwned=1</script>",
    '"><img src=x onerror="window.pwned=2">',
    "E<b>9</b>",
    "C<i>7</i>",
    "2026-11-23T09:00:00+08:00",
    wait=99,
    stated_need="</script><script>window.pwned=3</script>",
)
"""A record whose every text is markup: the HTML report must show it as text and never run it."""


def write_pack(root: Path, *, aggregate: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pack.yaml").write_text(AUDIT_PACK + (AGGREGATE_RULE if aggregate else ""), encoding="utf-8")
    return root


def write_records(path: Path, records: list[dict[str, Any]] | None = None) -> Path:
    rows = RECORDS if records is None else records
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def audit(tmp_path: Path, records: list[dict[str, Any]] | None = None, *, aggregate: bool = False) -> svcpolicy.Report:
    """The report of the audit scene (records read from a JSONL file, so findings carry file and line)."""
    policy = svcpolicy.load_policy(write_pack(tmp_path / "pack", aggregate=aggregate))
    return policy.evaluate(write_records(tmp_path / "records.jsonl", records), as_of=AS_OF)
