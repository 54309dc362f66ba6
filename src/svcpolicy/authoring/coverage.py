"""Which articles does a pack check? Every provision, its class and the rules that enforce it.

A provision is *enforced* when a rule cites it, or cites the provision it restates (a restatement is
checked by the rule that checks the original). ``record`` and ``aggregate`` provisions should all be
enforced; ``event`` provisions are left to the event monitor; ``not-checkable`` ones carry a reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from svcpolicy.pack.definition import PackDefinition
from svcpolicy.pack.schema import ProvisionClass

CHECKABLE = (ProvisionClass.RECORD, ProvisionClass.AGGREGATE)


@dataclass(frozen=True)
class ProvisionCoverage:
    source: str
    provision: str
    title: str
    label: str | None
    chapter: str | None
    class_: ProvisionClass
    text: str
    reason: str | None
    note: str | None
    restates: tuple[str, ...]
    rules: tuple[str, ...]
    via_restated: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.source}/{self.provision}"

    @property
    def enforced(self) -> bool:
        return bool(self.rules or self.via_restated)

    @property
    def gap(self) -> bool:
        """A checkable provision no rule enforces."""
        return self.class_ in CHECKABLE and not self.enforced

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "source": self.source,
            "title": self.title,
            "label": self.label,
            "chapter": self.chapter,
            "class": str(self.class_),
            "text": self.text,
            "reason": self.reason,
            "note": self.note,
            "restates": list(self.restates),
            "rules": list(self.rules),
            "via_restated": list(self.via_restated),
            "enforced": self.enforced,
        }


@dataclass
class Coverage:
    """The coverage matrix of one pack, with totals per document and class."""

    pack: str
    version: str
    provisions: list[ProvisionCoverage] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, int]]:
        """Per source: provisions per class, checkable ones, and how many of those are enforced."""
        out: dict[str, dict[str, int]] = {}
        for row in self.provisions:
            counts = out.setdefault(row.source, Counter())
            counts["provisions"] += 1
            counts[str(row.class_)] += 1
            if row.class_ in CHECKABLE:
                counts["checkable"] += 1
                counts["enforced"] += row.enforced
        return {source: dict(counts) for source, counts in out.items()}

    @property
    def gaps(self) -> list[ProvisionCoverage]:
        return [row for row in self.provisions if row.gap]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": {"id": self.pack, "version": self.version},
            "totals": self.totals(),
            "gaps": [row.ref for row in self.gaps],
            "provisions": [row.to_dict() for row in self.provisions],
        }


def coverage(pack: PackDefinition) -> Coverage:
    """Build the coverage matrix of a validated pack."""
    citing: dict[str, list[str]] = {}
    for rule in pack.rules:
        for ref in rule.cite:
            citing.setdefault(ref, []).append(rule.id)
    result = Coverage(pack.manifest.pack, pack.manifest.version)
    for source_id, source in pack.sources.items():
        for provision_id, provision in source.provisions.items():
            via = tuple(dict.fromkeys(rule for ref in provision.restates for rule in citing.get(ref, ())))
            result.provisions.append(
                ProvisionCoverage(
                    source=source_id,
                    provision=provision_id,
                    title=source.title,
                    label=provision.label,
                    chapter=provision.chapter,
                    class_=provision.class_,
                    text=provision.text,
                    reason=provision.reason,
                    note=provision.note,
                    restates=tuple(provision.restates),
                    rules=tuple(citing.get(f"{source_id}/{provision_id}", ())),
                    via_restated=via,
                )
            )
    return result
