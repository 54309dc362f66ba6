"""Shared fixtures: the bundled policy (loaded once) and a small pack written per test."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

import svcpolicy

# the suite's packs are cached in a folder of its own (inherited by the commands it runs), not the user's cache
if "SVCPOLICY_CACHE_DIR" not in os.environ:
    os.environ["SVCPOLICY_CACHE_DIR"] = tempfile.mkdtemp(prefix="svcpolicy-test-cache-")

ON_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
"""Any CI service sets CI (to true, 1, yes, …): there a test that needs a real component fails, never skips."""

# CI replays the same generated examples every run, so a red CI is reproducible; locally they vary.
settings.register_profile("ci", derandomize=True)
if ON_CI:
    settings.load_profile("ci")

CST = dt.timezone(dt.timedelta(hours=8))
AS_OF = dt.datetime(2026, 11, 27, tzinfo=CST)
REPO = Path(__file__).resolve().parents[1]

MINI_PACK = """\
pack: mini
title: 测试规则包
version: "1"
sources:
  svc-rules:
    title: 银行客户服务规章制度
    provisions:
      "16":
        label: 第十六条
        chapter: 第三章 客户权益保护
        class: record
        text: 本行员工应遵守客户申请和授权原则,不得擅自进行涉及客户权益的操作。
parameters:
  min_score:
    value: 3
    bank_set: true
rules:
  - id: SVC-016-unauthorized-operation
    title: Operation affecting customer rights without the customer's authorisation
    cite: [svc-rules/16]
    severity: critical
    for_each: op in operations
    when: op.affects_customer_rights and (op.authorization is None or op.authorization.at > op.at)
    message:
      zh: "未经客户授权执行了涉及客户权益的操作：{op.kind}"
      en: "Operation {op.kind} was done without the customer's authorisation"
"""


@pytest.fixture(scope="session")
def bundled() -> svcpolicy.Policy:
    return svcpolicy.load_policy()


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[..., Path]:
    """Write pack files (name -> YAML text) into a fresh directory and return it."""

    def write(files: dict[str, str] | None = None, **more: str) -> Path:
        root = tmp_path / "pack"
        root.mkdir(exist_ok=True)
        for name, text in {**(files or {"pack.yaml": MINI_PACK}), **more}.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write


@pytest.fixture
def mini(write_pack: Callable[..., Path]) -> svcpolicy.Policy:
    return svcpolicy.load_policy(write_pack())


def operation(authorized_at: str | None = "2026-01-05T09:58:00+08:00", **extra: object) -> dict[str, object]:
    op: dict[str, object] = {
        "kind": "close_account",
        "affects_customer_rights": True,
        "at": "2026-01-05T10:00:00+08:00",
    }
    op["authorization"] = (
        None
        if authorized_at is None
        else {"by": "C1", "method": "signature", "scope": "close_account", "at": authorized_at}
    )
    op.update(extra)
    return op
