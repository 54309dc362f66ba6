"""What an evaluation produces: findings that cite their articles, and invalid records.

These are plain frozen dataclasses: cheap to create on the hot path, hashable, and easy to turn into JSON
(``to_dict``). Every finding carries enough to stand alone in an audit file: the rule, every provision it
enforces with its verbatim text, the record and the item inside it, the values the condition read, and a
fingerprint that stays the same across runs (baselines and waivers key on it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from svcpolicy.severity import Severity


class Outcome(StrEnum):
    """The four outcomes a record (or a rule on a record) can have."""

    VIOLATION = "violation"
    COMPLIANT = "compliant"
    UNDETERMINED = "undetermined"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Citation:
    """One provision a rule enforces, as written in its source document."""

    source: str
    provision: str
    title: str
    label: str | None
    chapter: str | None
    text: str
    kind: str = "seed"
    reference: str | None = None
    confidence: str = "confirmed"
    wording: str = "verbatim"
    effective_from: str | None = None
    label_repeats: bool = False

    @property
    def ref(self) -> str:
        return f"{self.source}/{self.provision}"

    @property
    def display_label(self) -> str:
        """The label to print: never an invented article number, with its chapter where the label alone is ambiguous.

        A label such as "3." appears under several chapters of one document; printed alone it would point at
        the wrong article, so the chapter goes in front of it.
        """
        if self.label:
            label = self.label if self.confidence == "confirmed" else f"{self.label} (unconfirmed)"
        else:
            label = "article number unconfirmed"
        if self.label_repeats and self.chapter:
            label = f"{self.chapter} {label}"
        return label if self.wording == "verbatim" else f"{label} ({self.wording})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "provision": self.provision,
            "title": self.title,
            "label": self.label,
            "chapter": self.chapter,
            "text": self.text,
            "kind": self.kind,
            "reference": self.reference,
            "confidence": self.confidence,
            "wording": self.wording,
            "effective_from": self.effective_from,
            "display_label": self.display_label,
        }


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a finding points: the record id, its file and line, and the item path inside it."""

    id: str | None
    source: str | None = None
    line: int | None = None
    path: str | None = None

    @property
    def locator(self) -> str:
        if self.source is None:
            return "<input>" if self.line is None else f"<input>:{self.line}"
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "line": self.line, "path": self.path}


@dataclass(frozen=True, slots=True)
class PackRef:
    id: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict on one record (or one item of it) that needs attention: a violation or an undetermined."""

    rule: str
    title: str
    severity: Severity
    outcome: Outcome
    citations: tuple[Citation, ...]
    record: RecordRef
    message_zh: str
    message_en: str
    pack: PackRef
    evidence: dict[str, Any] = field(default_factory=dict)
    missing: str | None = None
    reason: str | None = None
    group: dict[str, Any] | None = None
    members: tuple[RecordRef, ...] = ()
    members_total: int = 0
    left_out: int = 0
    effective: tuple[str | None, str | None] | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across runs and file moves: pack, rule, and the record id and item path (or the group)."""
        where = (
            (self.record.id or "", self.record.path or "")
            if self.group is None
            else tuple(f"{k}={v}" for k, v in self.group.items())
        )
        key = "\x1f".join((self.pack.id, self.rule, *where))
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "severity": str(self.severity),
            "outcome": str(self.outcome),
            "record": self.record.to_dict(),
            "citations": [c.to_dict() for c in self.citations],
            "message": {"zh": self.message_zh, "en": self.message_en},
            "evidence": self.evidence,
            "missing": self.missing,
            "reason": self.reason,
            "pack": self.pack.to_dict(),
            "fingerprint": self.fingerprint,
            "group": self.group,
            "members": [m.to_dict() for m in self.members],
            "members_total": self.members_total,
            "left_out": self.left_out,
            "effective": None if self.effective is None else {"from": self.effective[0], "until": self.effective[1]},
        }


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """An input item that could not be judged: unparseable or failing the record model."""

    record: RecordRef
    error: str
    outcome: Outcome = Outcome.INVALID

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": str(self.outcome), "record": self.record.to_dict(), "error": self.error}
