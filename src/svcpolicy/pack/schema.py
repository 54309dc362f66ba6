"""The pack format as pydantic models: a pack is validated against these before anything runs.

See docs/pack-format.md for the format as authors read it. Models are strict about unknown keys so a
misspelt key (``severty:``) is an error at its line, not a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from svcpolicy.records.model import field_paths
from svcpolicy.severity import Severity as Severity  # the pack format's, re-exported

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
RULE_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Za-z0-9]+)+$"
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[^/\s]+$"


class _Strict(BaseModel):
    """Validators are built on first validation: a pack read from the cache is never validated again."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class ProvisionClass(StrEnum):
    """How a provision can be checked: per record, over groups, over event sequences, or not from data."""

    RECORD = "record"
    AGGREGATE = "aggregate"
    EVENT = "event"
    NOT_CHECKABLE = "not-checkable"


class Provision(_Strict):
    label: str | None = Field(description="Article label as written, e.g. 第十六条; null when unconfirmed")
    chapter: str | None = None
    text: Annotated[str, Field(min_length=1)]
    class_: ProvisionClass = Field(alias="class")
    reason: str | None = None
    restates: list[Annotated[str, Field(pattern=REF_PATTERN)]] = []
    confidence: Literal["confirmed", "secondary-source", "unconfirmed"] = "confirmed"
    wording: Literal["verbatim", "excerpt", "paraphrase"] = Field(
        default="verbatim",
        description="verbatim: the whole provision as written; excerpt: a quoted part; paraphrase: a gloss",
    )
    effective_from: dt.date | None = Field(
        default=None, description="first day in force; defaults to the source's effective_from"
    )
    note: str | None = None

    @model_validator(mode="after")
    def _reason_when_not_checkable(self) -> Provision:
        if self.class_ is ProvisionClass.NOT_CHECKABLE and not self.reason:
            raise ValueError("a not-checkable provision needs a one-line `reason`")
        if self.label is None and self.confidence == "confirmed":
            raise ValueError("a provision without a label must say `confidence: secondary-source` or `unconfirmed`")
        if self.wording == "paraphrase" and self.confidence == "confirmed":
            raise ValueError("a paraphrase is never `confirmed`: say `confidence: secondary-source` or `unconfirmed`")
        return self


class Source(_Strict):
    title: str
    kind: Literal["seed", "national", "bank"] = "seed"
    reference: str | None = None
    effective_from: dt.date | None = None
    note: str | None = None
    provisions: dict[str, Provision]


class Parameter(_Strict):
    description: str | None = None
    unit: str | None = None
    value: Any = None
    values: dict[dt.date, Any] | None = Field(default=None, description="effective-from date -> value")
    cite: list[Annotated[str, Field(pattern=REF_PATTERN)]] = []
    bank_set: bool = False
    tighter: Literal["lower", "higher", "superset"] | None = Field(
        default=None, description="which way a branch overlay may move the value: the stricter direction"
    )

    @model_validator(mode="after")
    def _one_of_value_or_values(self) -> Parameter:
        if (self.value is None) == (self.values is None):
            raise ValueError("give exactly one of `value` or `values`")
        if self.values is not None and not self.values:
            raise ValueError("`values` needs at least one dated value")
        if not self.cite and not self.bank_set:
            raise ValueError("a parameter cites its source, or says `bank_set: true`")
        return self


class Message(_Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


Fragment = dict[str, Any]


class Example(_Strict):
    """A record fragment (a list of them for aggregate rules) and the outcome the rule must give it."""

    name: str | None = None
    violates: Fragment | list[Fragment] | None = None
    complies: Fragment | list[Fragment] | None = None
    undetermined: Fragment | list[Fragment] | None = None
    missing: str | None = None
    as_of: dt.datetime | None = None

    @model_validator(mode="after")
    def _one_expectation(self) -> Example:
        given = [k for k in ("violates", "complies", "undetermined") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("an example has exactly one of `violates`, `complies`, `undetermined`")
        if self.missing is not None and self.undetermined is None:
            raise ValueError("`missing` goes with an `undetermined` example")
        return self

    @property
    def expected(self) -> str:
        return (
            "violation" if self.violates is not None else "compliant" if self.complies is not None else "undetermined"
        )

    @property
    def fragments(self) -> list[Fragment]:
        given = next(v for v in (self.violates, self.complies, self.undetermined) if v is not None)
        return given if isinstance(given, list) else [given]


NAME = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]


class Rule(_Strict):
    """A rule: ``kind: record`` judges each record (or item); ``kind: aggregate`` judges groups of them."""

    id: Annotated[str, Field(pattern=RULE_ID_PATTERN)]
    kind: Literal["record", "aggregate"] = "record"
    title: str
    title_zh: str | None = Field(default=None, description="the title in Chinese, for reports in Chinese (--lang zh)")
    description: str | None = None
    description_zh: str | None = Field(default=None, description="the description in Chinese")
    cite: Annotated[list[Annotated[str, Field(pattern=REF_PATTERN)]], Field(min_length=1)]
    severity: Severity
    applies_to: list[Literal["interaction"]] = ["interaction"]
    applies_if: str | None = None
    for_each: str | None = None
    let: dict[NAME, str] = {}
    where: str | None = None
    group_by: dict[NAME, str] = {}
    aggregate: dict[NAME, str] = {}
    when: str
    message: Message
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    waivable: bool = True
    examples: list[Example] = []

    @field_validator("cite")
    @classmethod
    def _unique_citations(cls, cite: list[str]) -> list[str]:
        if len(set(cite)) != len(cite):
            raise ValueError("a provision is cited twice")
        return cite

    @model_validator(mode="after")
    def _kind_fits_fields(self) -> Rule:
        aggregate_only = [k for k in ("where", "group_by", "aggregate") if getattr(self, k)]
        if self.kind == "record":
            if aggregate_only:
                raise ValueError(f"{', '.join(aggregate_only)}: only aggregate rules (kind: aggregate) have these")
            if any(isinstance(e.violates or e.complies or e.undetermined, list) for e in self.examples):
                raise ValueError("a record rule's example is one record fragment, not a list")
        else:
            if not self.group_by or not self.aggregate:
                raise ValueError("an aggregate rule needs `group_by` and `aggregate`")
            if self.applies_if:
                raise ValueError("aggregate rules filter members with `where`, not `applies_if`")
            clash = set(self.group_by) & set(self.aggregate)
            if clash:
                raise ValueError(f"{', '.join(sorted(clash))}: a name is both a group key and an aggregate")
        if self.effective_from and self.effective_until and self.effective_until < self.effective_from:
            raise ValueError("effective_until is before effective_from")
        return self


class Privacy(_Strict):
    """Which record fields identify a customer: reports mask their values unless ``--show-customer-ids``."""

    identifying_fields: list[str] = Field(
        default=[],
        description="record paths (``customer.id``, ``operations[].authorization.by``, ``extra.phone``)",
    )

    @field_validator("identifying_fields")
    @classmethod
    def _known_paths(cls, paths: list[str]) -> list[str]:
        known = field_paths()
        for path in paths:
            free = path.startswith("extra.") and re.fullmatch(r"extra(\.[A-Za-z_]\w*(\[\])?)+", path)
            if path not in known and not free:
                raise ValueError(f"{path!r} is neither a record field (docs/records.md) nor under extra.")
        return paths


class PackManifest(_Strict):
    """``pack.yaml``: metadata plus optional sources, parameters and rules of its own."""

    pack: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: str
    version: str
    description: str | None = None
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    timezone: Annotated[str, Field(pattern=r"^[+-]\d{2}:\d{2}$")] = "+08:00"
    extends: str | None = Field(default=None, description="a base pack: a bundled pack's name or a relative path")
    tighten: dict[NAME, Any] = Field(default={}, description="base parameters given stricter values")
    include: list[str] = []
    sources: dict[Annotated[str, Field(pattern=ID_PATTERN)], Source] = {}
    parameters: dict[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")], Parameter] = {}
    rules: list[Rule] = []
    sequences: list[dict[str, Any]] = Field(default=[], description="event-monitor rules: pack/sequences.py")
    privacy: Privacy = Field(default_factory=Privacy)  # an instance here would build its validator at import

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class PackPart(_Strict):
    """An included file: sources, parameters, rules and sequences only."""

    sources: dict[Annotated[str, Field(pattern=ID_PATTERN)], Source] = {}
    parameters: dict[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")], Parameter] = {}
    rules: list[Rule] = []
    sequences: list[dict[str, Any]] = Field(default=[], description="event-monitor rules: pack/sequences.py")
