"""The rules of a pack as report writers need them: one entry per rule, fired or not.

CI formats describe every rule, not only the ones that fired: SARIF lists a ``reportingDescriptor`` per rule
(so a code-scanning dashboard can close an alert when its rule stops firing) and JUnit has a test case per
rule (a rule with no finding is a passing test). A :class:`~svcpolicy.results.report.Report` carries this catalogue
in ``report.rules``; ``svcpolicy check`` fills it from ``policy.catalog()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from svcpolicy.frozen import Frozen
from svcpolicy.results.findings import Citation, Finding
from svcpolicy.severity import Severity


class RuleInfo(Frozen):
    """What a report says about a rule: its id, title, severity, every provision it cites, and more."""

    _fields = ("id", "title", "severity", "citations", "description", "kind", "waivable", "title_zh", "description_zh")
    id: str
    title: str
    severity: Severity
    citations: tuple[Citation, ...]
    description: str | None
    kind: str
    waivable: bool
    title_zh: str | None
    """The title in Chinese (the pack's ``title_zh``), for reports in Chinese."""
    description_zh: str | None

    def __init__(
        self,
        id: str,
        title: str,
        severity: Severity,
        citations: tuple[Citation, ...],
        description: str | None = None,
        kind: str = "record",
        waivable: bool = True,
        title_zh: str | None = None,
        description_zh: str | None = None,
    ) -> None:
        self.__dict__.update(
            id=id,
            title=title,
            severity=severity,
            citations=citations,
            description=description,
            kind=kind,
            waivable=waivable,
            title_zh=title_zh,
            description_zh=description_zh,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": str(self.severity),
            "kind": self.kind,
            "waivable": self.waivable,
            "description": self.description,
            "title_zh": self.title_zh,
            "description_zh": self.description_zh,
            "citations": [c.to_dict() for c in self.citations],
        }


def rules_of(catalog: Iterable[RuleInfo], findings: Iterable[Finding]) -> list[RuleInfo]:
    """The catalogue, completed with any rule that only appears in findings (a report built by hand)."""
    infos = list(catalog)
    known = {info.id for info in infos}
    for finding in findings:
        if finding.rule not in known:
            known.add(finding.rule)
            infos.append(RuleInfo(finding.rule, finding.title, finding.severity, finding.citations))
    return infos
