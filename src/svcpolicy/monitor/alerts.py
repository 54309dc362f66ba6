"""What the monitor tells its consumer: numbered alerts, the kinds of item they carry, and how they are worded.

An :class:`Alert` carries a :class:`~svcpolicy.results.findings.Finding` (worded like a record rule's, citing its
provisions), a :class:`DueSoon` warning, a :class:`LateEvent` or an
:class:`~svcpolicy.results.findings.InvalidRecord`. These are the monitor's output format, kept apart from the
state machine that decides them, so a consumer (``svcpolicy watch``, a test) can read them without the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svcpolicy.engine.undetermined import undetermined_finding
from svcpolicy.pack.sequences import PLACEHOLDER, SequenceRule
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, PackRef, RecordRef
from svcpolicy.severity import Severity


@dataclass(frozen=True, slots=True)
class DueSoon:
    """A ``within`` deadline is near: ``lead_days`` or less before its end, and the case is still open."""

    rule: str
    title: str
    severity: Severity
    citations: tuple[Citation, ...]
    record: RecordRef
    message_zh: str
    message_en: str
    pack: PackRef
    evidence: dict[str, Any]

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "due-soon",
            "rule": self.rule,
            "title": self.title,
            "severity": str(self.severity),
            "record": self.record.to_dict(),
            "citations": [c.to_dict() for c in self.citations],
            "message": {"zh": self.message_zh, "en": self.message_en},
            "evidence": self.evidence,
            "pack": self.pack.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class LateEvent:
    """An event that arrived after the watermark had passed it by more than the allowance."""

    event: str
    type: str
    at: str
    watermark: str
    allowance_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "late-event",
            "event": self.event,
            "type": self.type,
            "at": self.at,
            "watermark": self.watermark,
            "allowance_seconds": self.allowance_seconds,
            "applied": True,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One output of the monitor, numbered: its ``seq`` is stable across restarts and replays."""

    seq: int
    item: Finding | DueSoon | LateEvent | InvalidRecord

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.item.to_dict()}


@dataclass
class MonitorCounts:
    """How many events the monitor took, and what it made of them (kept in its state)."""

    events: int = 0
    duplicates: int = 0
    late: int = 0
    invalid: int = 0
    violations: int = 0
    undetermined: int = 0
    due_soon: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def render(text: str, names: Mapping[str, Any]) -> str:
    """A sequence rule's message with its ``{name}`` placeholders filled (``?`` for a value not known)."""

    def value(match: Any) -> str:
        found = names.get(match.group(1))
        return "?" if found is None else str(found)

    return PLACEHOLDER.sub(value, text)


def sequence_violation(
    rule: SequenceRule, citations: tuple[Citation, ...], record: RecordRef, names: dict[str, Any], pack: PackRef
) -> Finding:
    """A breached sequence rule, its message filled from ``names`` (which are also its evidence)."""
    message = rule.message
    assert message is not None  # noqa: S101 - an executed sequence rule has a message (the schema checks it)
    return Finding(
        rule=rule.id,
        title=rule.title,
        severity=rule.severity,
        outcome=Outcome.VIOLATION,
        citations=citations,
        record=record,
        message_zh=render(message.zh, names),
        message_en=render(message.en, names),
        pack=pack,
        evidence=names,
    )


def sequence_undetermined(
    rule: SequenceRule,
    citations: tuple[Citation, ...],
    record: RecordRef,
    names: dict[str, Any],
    pack: PackRef,
    reason: str,
) -> Finding:
    """A sequence rule the monitor cannot decide for a case (e.g. its deadline falls outside the calendar)."""
    return undetermined_finding(
        rule.id, rule.title, rule.severity, citations, record, pack, reason=reason, evidence=names
    )


def due_soon(
    rule: SequenceRule, citations: tuple[Citation, ...], names: dict[str, Any], due: str | None, pack: PackRef
) -> DueSoon:
    """The warning that a case's deadline ``due`` is near."""
    return DueSoon(
        rule=rule.id,
        title=rule.title,
        severity=rule.severity,
        citations=citations,
        record=RecordRef(names["case"]),
        message_zh=f"{names['case']}：期限 {due} 将至（{rule.title}）",
        message_en=f"{names['case']}: due {due} ({rule.title})",
        pack=pack,
        evidence=names,
    )
