"""Rule titles for writers that see findings one at a time (the streaming formats).

A finished report titles its rules from ``rules_of(catalog, findings)``; a stream cannot look at every finding
first, so a rule missing from the catalogue (a report built by hand) is titled from the first finding of it,
which gives the same title.
"""

from __future__ import annotations

from svcpolicy.reporting import wording
from svcpolicy.results.catalog import RuleInfo
from svcpolicy.results.findings import Finding


class RuleTitles:
    """The catalogue's rules, completed by rules first met in findings, with their titles in one language."""

    def __init__(self, catalog: tuple[RuleInfo, ...], lang: str) -> None:
        self._lang = lang
        self.rules: dict[str, RuleInfo] = {rule.id: rule for rule in catalog}
        """Every rule by id: the catalogue's in its order, then those met only in findings, as met."""
        self._titles = {rule.id: wording.rule_title(rule, lang) for rule in catalog}

    def of(self, finding: Finding) -> str:
        """The title of a finding's rule (learning the rule when the catalogue lacks it)."""
        title = self._titles.get(finding.rule)
        if title is None:
            rule = RuleInfo(finding.rule, finding.title, finding.severity, finding.citations)
            self.rules[rule.id] = rule
            title = self._titles[rule.id] = wording.rule_title(rule, self._lang)
        return title

    def __getitem__(self, rule: str) -> str:
        return self._titles[rule]
