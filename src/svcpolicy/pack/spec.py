"""A pack as the engine reads it: plain values made from the validated pydantic models once, when the pack is read.

The pack cache pickles these beside the models, and a warm run compiles its rules from them alone: unpickling a
pydantic model imports pydantic (about a third of a short run's time), these need nothing but this module.
The models stay the pack's definition (what lint, coverage, ``explain`` and :attr:`svcpolicy.Policy.rules` read);
a definition unpickled from the cache unpickles them when one of those first asks (:mod:`svcpolicy.pack.definition`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from svcpolicy.frozen import Frozen
from svcpolicy.severity import Severity

if TYPE_CHECKING:  # only a pack being read (the models validated) makes a spec
    from svcpolicy.pack.schema import Parameter, Provision, Rule, Source

__all__ = ["PackSpec", "ParameterSpec", "ProvisionSpec", "RuleSpec", "SourceSpec"]


class RuleSpec(Frozen):
    """A rule's fields as the engine compiles them (its examples are left to the model: only ``pack test`` runs them).

    Not hashable: ``let``, ``group_by`` and ``aggregate`` are dicts, in the order the pack wrote them."""

    _fields = (
        "id",
        "kind",
        "title",
        "title_zh",
        "description",
        "description_zh",
        "cite",
        "severity",
        "applies_to",
        "applies_if",
        "for_each",
        "let",
        "where",
        "group_by",
        "aggregate",
        "when",
        "message_zh",
        "message_en",
        "effective_from",
        "effective_until",
        "waivable",
    )
    id: str
    kind: str
    title: str
    title_zh: str | None
    description: str | None
    description_zh: str | None
    cite: tuple[str, ...]
    severity: Severity
    applies_to: frozenset[str]
    applies_if: str | None
    for_each: str | None
    let: dict[str, str]
    where: str | None
    group_by: dict[str, str]
    aggregate: dict[str, str]
    when: str
    message_zh: str
    message_en: str
    effective_from: dt.date | None
    effective_until: dt.date | None
    waivable: bool

    def __init__(self, rule: Rule) -> None:
        self.__dict__.update(
            id=rule.id,
            kind=rule.kind,
            title=rule.title,
            title_zh=rule.title_zh,
            description=rule.description,
            description_zh=rule.description_zh,
            cite=tuple(rule.cite),
            severity=rule.severity,
            applies_to=frozenset(rule.applies_to),
            applies_if=rule.applies_if,
            for_each=rule.for_each,
            let=dict(rule.let),
            where=rule.where,
            group_by=dict(rule.group_by),
            aggregate=dict(rule.aggregate),
            when=rule.when,
            message_zh=rule.message.zh,
            message_en=rule.message.en,
            effective_from=rule.effective_from,
            effective_until=rule.effective_until,
            waivable=rule.waivable,
        )


class ParameterSpec(Frozen):
    """A parameter's value, or its dated values (effective-from day → value); exactly one is not None."""

    _fields = ("value", "values")
    value: Any
    values: dict[dt.date, Any] | None

    def __init__(self, parameter: Parameter) -> None:
        self.__dict__.update(value=parameter.value, values=None if parameter.values is None else dict(parameter.values))


class ProvisionSpec(Frozen):
    """What a finding cites of one provision."""

    _fields = ("label", "chapter", "text", "confidence", "wording", "effective_from")
    label: str | None
    chapter: str | None
    text: str
    confidence: str
    wording: str
    effective_from: dt.date | None

    def __init__(self, provision: Provision) -> None:
        self.__dict__.update(
            label=provision.label,
            chapter=provision.chapter,
            text=provision.text,
            confidence=provision.confidence,
            wording=provision.wording,
            effective_from=provision.effective_from,
        )


class SourceSpec(Frozen):
    """A cited document and its provisions, by id."""

    _fields = ("title", "kind", "reference", "effective_from", "provisions")
    title: str
    kind: str
    reference: str | None
    effective_from: dt.date | None
    provisions: dict[str, ProvisionSpec]

    def __init__(self, source: Source) -> None:
        self.__dict__.update(
            title=source.title,
            kind=source.kind,
            reference=source.reference,
            effective_from=source.effective_from,
            provisions={key: ProvisionSpec(provision) for key, provision in source.provisions.items()},
        )


class PackSpec(Frozen):
    """Everything compiling and judging a pack reads: its metadata, rules, parameters and cited sources, and the
    record fields that identify a customer (its own and its base packs')."""

    _fields = (
        "pack",
        "title",
        "version",
        "timezone",
        "effective_from",
        "effective_until",
        "identifying_fields",
        "rules",
        "parameters",
        "sources",
    )
    pack: str
    title: str
    version: str
    timezone: str
    effective_from: dt.date | None
    effective_until: dt.date | None
    identifying_fields: tuple[str, ...]
    rules: tuple[RuleSpec, ...]
    parameters: dict[str, ParameterSpec]
    sources: dict[str, SourceSpec]

    def __init__(
        self,
        *,
        pack: str,
        title: str,
        version: str,
        timezone: str,
        effective_from: dt.date | None,
        effective_until: dt.date | None,
        identifying_fields: tuple[str, ...],
        rules: tuple[RuleSpec, ...],
        parameters: dict[str, ParameterSpec],
        sources: dict[str, SourceSpec],
    ) -> None:
        self.__dict__.update(
            pack=pack,
            title=title,
            version=version,
            timezone=timezone,
            effective_from=effective_from,
            effective_until=effective_until,
            identifying_fields=identifying_fields,
            rules=rules,
            parameters=parameters,
            sources=sources,
        )

    def provision_effective_from(self, ref: str) -> dt.date | None:
        """The first day a cited provision (``source/provision``) is in force: its own date, else its source's."""
        source_id, _, provision_id = ref.partition("/")
        source = self.sources[source_id]
        return source.provisions[provision_id].effective_from or source.effective_from
