"""A finding's evidence as an auditor reads it: one (field, value) line per value the rule looked at.

The engine records evidence under the names the rule's expressions use (``op.authorization.at``,
``params.max_wait_minutes``) with JSON-like values. The page shows each name in words (``操作 · 授权 · 时间``,
the expression kept as a tooltip for whoever checks the rule) and each value as text: times as
``2026-11-02 09:18``, yes/no, lists joined, numbers with thousands separators, nothing as 未提供. Values in the
other language (``problem_en`` in a Chinese report) are left out. The template escapes all of it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svcpolicy.reporting.masking import Masker

__all__ = ["EvidenceLine", "evidence_lines", "readable_value"]

FIELD_WORDS: dict[str, str] = {
    "params": "参数",
    "op": "操作",
    "operations": "操作",
    "offer": "产品推介",
    "offers": "产品推介",
    "step": "步骤",
    "steps": "步骤",
    "later": "后续步骤",
    "s": "步骤",
    "d": "信息披露",
    "disclosures": "信息披露",
    "complaint": "投诉",
    "customer": "客户",
    "employee": "员工",
    "authorization": "授权",
    "auth": "授权",
    "fees": "收费",
    "fee": "收费",
    "id": "编号",
    "at": "时间",
    "by": "授权人",
    "kind": "类型",
    "name": "名称",
    "scope": "范围",
    "method": "方式",
    "role": "岗位",
    "age": "年龄",
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "wait_minutes": "等候分钟数",
    "business_type": "业务类型",
    "branch_id": "网点",
    "channel": "渠道",
    "as_of": "判定时点",
    "risk_tolerance": "风险承受能力",
    "product_risk_level": "产品风险等级",
    "product_category": "产品类别",
    "sold": "已售出",
    "sold_at": "售出时间",
    "declined_at": "拒绝时间",
    "customer_declined": "客户已拒绝",
    "risk_disclosed_at": "风险揭示时间",
    "principal_guaranteed": "保本",
    "related_to_stated_need": "与客户需求相关",
    "received_at": "受理时间",
    "decided_at": "办结时间",
    "withdrawn_at": "撤回时间",
    "complexity": "复杂程度",
    "purpose": "用途",
    "third_party": "第三方",
    "lawful_basis": "合法依据",
    "consent_ref": "同意凭证",
    "affects_customer_rights": "涉及客户权益",
    "amount": "金额",
    "required": "应有",
    "mandate": "委托",
}
"""Chinese words for the names rules use most; any other part of a name is shown as it is."""

_LANGUAGE_SUFFIX = re.compile(r"_(zh|en)$")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class EvidenceLine:
    """One row of the evidence table: the field in words, the expression it came from, and the value as text."""

    field: str
    expression: str
    value: str


def _field(name: str, lang: str) -> str:
    plain = _LANGUAGE_SUFFIX.sub("", name)
    if lang == "en":
        return plain
    return " · ".join(FIELD_WORDS.get(part, part) for part in plain.split("."))


def readable_value(value: Any, words: Mapping[str, str]) -> str:
    """A value as text: nothing as 未提供, yes/no, numbers with separators, times to the minute, lists joined."""
    if value is None:
        return words["absent"]
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}".rstrip("0")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        if value == "":
            return words["empty"]
        if _ISO_TIME.match(value):
            try:
                return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                return value
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {readable_value(item, words)}" for key, item in value.items()) or words["empty"]
    if isinstance(value, list | tuple | set | frozenset):
        return words["list_separator"].join(readable_value(item, words) for item in value) or words["empty"]
    return str(value)


def evidence_lines(
    evidence: Mapping[str, Any], words: Mapping[str, str], lang: str, mask: Masker
) -> tuple[EvidenceLine, ...]:
    """The evidence of a finding as table rows, customer identifiers masked; the other language's texts left out."""
    other = "_zh" if lang == "en" else "_en"
    return tuple(
        EvidenceLine(_field(name, lang), mask(name), mask(readable_value(value, words)))
        for name, value in evidence.items()
        if not name.endswith(other)
    )
