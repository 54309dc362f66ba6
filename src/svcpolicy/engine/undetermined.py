"""The one way a rule that cannot be decided becomes a finding, whichever engine or room decided it.

Record rules (on either engine), aggregate groups and the monitor's sequence rules all report "cannot
decide" the same way: the same outcome, the same wording of the reason in both languages, and the field the
input must supply. Keeping it in one function keeps their messages, and the reports built on them, in step.
"""

from __future__ import annotations

from typing import Any

from svcpolicy.results.findings import Citation, Finding, Outcome, PackRef, RecordRef
from svcpolicy.severity import Severity


def undetermined_finding(
    rule: str,
    title: str,
    severity: Severity,
    citations: tuple[Citation, ...],
    record: RecordRef,
    pack: PackRef,
    *,
    reason: str | None,
    missing: str | None = None,
    evidence: dict[str, Any] | None = None,
    effective: tuple[str | None, str | None] | None = None,
    group: dict[str, Any] | None = None,
    members: tuple[RecordRef, ...] = (),
    members_total: int = 0,
    left_out: int = 0,
) -> Finding:
    """An undetermined finding: ``reason`` says why (worded "undetermined" when there is none), ``missing`` names
    the absent field when that is the cause; ``group`` and the member counts are an aggregate group's."""
    what = reason or "undetermined"
    return Finding(
        rule=rule,
        title=title,
        severity=severity,
        outcome=Outcome.UNDETERMINED,
        citations=citations,
        record=record,
        message_zh=f"无法判定：{what}",
        message_en=f"Cannot decide: {what}",
        pack=pack,
        evidence={} if evidence is None else evidence,
        missing=missing,
        reason=reason,
        group=group,
        members=members,
        members_total=members_total,
        left_out=left_out,
        effective=effective,
    )
