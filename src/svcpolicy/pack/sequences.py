"""Sequence rules: what must (or must not) happen after what, checked by the event monitor.

A pack file lists them under ``sequences:`` (the bundled pack keeps them in ``monitor/sequences.yaml``). Four
kinds (docs/events.md has the format as authors read it):

- ``within``: after ``opens`` (complaint.received), one of ``closes`` (complaint.decided, …) must follow by the
  end of the ``period`` — calendar days counted by ``HolidayCalendar.calendar_deadline``, lengthened by
  extension events that meet their conditions;
- ``preceded-by``: every ``checks`` event (operation.performed) must find an open case that an ``opens`` event
  (authorization.granted) with the same key started and no ``closes`` event ended;
- ``not-after``: a ``checks`` event (product.sold) must find no such open case (opened by product.declined);
- ``described``: a provision's sequence written down but not executed by itself, with the ``reason`` (it is
  enforced through other sequences, or needs a number the pack does not have yet). Never silently dropped:
  the monitor lists these with their reasons.

Keys are lists of event field names compared position by position (``[customer_id, scope]`` against
``[customer_id, kind]``); a ``narrow`` field on ``opens`` and ``checks`` limits a case to the values its
opening events gave, when they gave one (an authorisation for one account). A pattern takes an event when its
``where`` equalities hold, its ``where_in`` fields are in the named parameter lists, and its ``when`` condition
(the pack's expression language, so a sequence can say what a record rule says: ``kind in
params.rights_affecting_operation_kinds or affects_customer_rights``) is true. Messages are ``zh``/``en`` text
with ``{name}`` placeholders naming evidence.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from svcpolicy.pack.schema import NAME, REF_PATTERN, Message, Severity, _Strict

SEQUENCE_ID_PATTERN = r"^EVT-[A-Z]+-\d{3}(-[a-z0-9]+)+$"
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

# Names every message may use, per kind, besides the key fields of the sequence's patterns.
COMMON_NAMES = {"rule", "case", "event", "event_type", "at", "opened_at", "opened_by"}
WITHIN_NAMES = {"due", "allowed_days", "judged_on", "lead_days"}


class Pattern(_Strict):
    """Events of one type, with the fields that make the case key and optional conditions on fields."""

    event: str
    key: Annotated[list[str], Field(min_length=1)]
    where: dict[str, Any] = Field(default={}, description="field -> value it must equal (null matches null)")
    where_in: dict[str, NAME] = Field(default={}, description="field -> pack parameter listing allowed values")
    when: str | None = Field(
        default=None,
        description="a condition in the pack's expression language over the event's fields and `params` "
        "(docs/expressions.md); the monitor compiles it when it starts",
    )
    narrow: str | None = Field(
        default=None,
        description="on `opens` and `checks` alike: a field that, when the opening event gives it, limits the case "
        "to checked events whose field is that value or not given (an authorisation for one account)",
    )

    @model_validator(mode="after")
    def _fields_exist(self) -> Pattern:
        from svcpolicy.records.events import EVENT_TYPES  # the event models only when a pack is validated

        model = EVENT_TYPES.get(self.event)
        if model is None:
            raise ValueError(f"unknown event type {self.event!r}; known: {', '.join(sorted(EVENT_TYPES))}")
        named = (*self.key, *self.where, *self.where_in, *([self.narrow] if self.narrow else []))
        unknown = [f for f in named if f not in model.model_fields]
        if unknown:
            raise ValueError(f"{self.event} has no field {', '.join(map(repr, unknown))}")
        return self


class Extension(_Strict):
    """An event that lengthens a ``within`` period to the value of parameter ``to_days``, if its conditions hold."""

    event: str = "complaint.extended"
    to_days: NAME = Field(description="parameter whose value the event's to_days must equal")
    notice: bool = Field(default=True, description="the event must carry notified_at")
    notice_by: Literal["first-period", "current-period"] = "current-period"
    approval_levels: NAME | None = Field(
        default=None, description="parameter listing approver_level codes; the event needs approved_by and one"
    )
    unless: dict[str, str | int | bool] = Field(
        default_factory=dict, description="event fields whose value makes the extension not count (complexity: simple)"
    )


class Period(_Strict):
    days: NAME = Field(description="parameter giving the period in calendar days")
    extensions: list[Extension] = Field(default_factory=list)


class SequenceRule(_Strict):
    id: Annotated[str, Field(pattern=SEQUENCE_ID_PATTERN)]
    kind: Literal["within", "preceded-by", "not-after", "described"]
    title: str
    rule: Annotated[str, Field(min_length=1, description="the rule in words")]
    cite: Annotated[list[Annotated[str, Field(pattern=REF_PATTERN)]], Field(min_length=1)]
    events: Annotated[list[str], Field(min_length=1, description="every event type the rule reads")]
    severity: Severity = Severity.HIGH
    parameters: list[NAME] = Field(default_factory=list)
    record_rule: str | None = Field(default=None, description="the record rule that approximates it per record")
    opens: Pattern | None = None
    closes: list[Pattern] = Field(default_factory=list)
    checks: Pattern | None = None
    period: Period | None = None
    message: Message | None = None
    reason: str | None = None
    see: list[Annotated[str, Field(pattern=SEQUENCE_ID_PATTERN)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _kind_fits_fields(self) -> SequenceRule:
        if self.kind == "described":
            if not self.reason:
                raise ValueError("a `described` sequence says why it is not executed by itself (`reason`)")
            return self
        if self.opens is None or self.message is None:
            raise ValueError(f"a `{self.kind}` sequence needs `opens` and `message`")
        if self.kind == "within":
            if self.period is None or self.checks is not None or not self.closes:
                raise ValueError("a `within` sequence needs `period` and `closes`, and no `checks`")
        elif self.checks is None or self.period is not None:
            raise ValueError(f"a `{self.kind}` sequence needs `checks`, and no `period`")
        if any(p.narrow for p in self.closes) or (self.opens.narrow is None) != (
            self.checks is None or self.checks.narrow is None
        ):
            raise ValueError("`narrow` is given on `opens` and `checks` together, and on no `closes`")
        width = len(self.opens.key)
        for pattern in (*self.closes, *([self.checks] if self.checks else [])):
            if len(pattern.key) != width:
                raise ValueError(f"{pattern.event}: its key has {len(pattern.key)} fields, `opens` has {width}")
        read = {p.event for p in self.patterns()} | {e.event for e in self.extensions()}
        if not read <= set(self.events):
            raise ValueError(
                f"`events` must list every event read: missing {', '.join(sorted(read - set(self.events)))}"
            )
        names = COMMON_NAMES | set(self.opens.key) | (set(self.checks.key) if self.checks else set())
        if self.kind == "within":
            names |= WITHIN_NAMES
        for text in (self.message.zh, self.message.en):
            unknown = sorted(set(PLACEHOLDER.findall(text)) - names)
            if unknown:
                raise ValueError(f"message names {', '.join(unknown)}; it may use {', '.join(sorted(names))}")
        return self

    @property
    def opens_key(self) -> list[str]:
        """The key fields of the opening event (none for a `described` sequence)."""
        return list(self.opens.key) if self.opens else []

    def patterns(self) -> list[Pattern]:
        return [p for p in (self.opens, *self.closes, self.checks) if p is not None]

    def located_patterns(self) -> list[tuple[tuple[str | int, ...], Pattern]]:
        """Each pattern with its path in the rule (``("closes", 1)``), to point at its ``when`` in the pack."""
        located: list[tuple[tuple[str | int, ...], Pattern]] = [(("opens",), self.opens)] if self.opens else []
        located += [(("closes", i), p) for i, p in enumerate(self.closes)]
        located += [(("checks",), self.checks)] if self.checks else []
        return located

    def extensions(self) -> list[Extension]:
        return list(self.period.extensions) if self.period else []

    def parameter_names(self) -> set[str]:
        names = {name for p in self.patterns() for name in p.where_in.values()}
        if self.period:
            names.add(self.period.days)
            for ext in self.period.extensions:
                names.add(ext.to_days)
                if ext.approval_levels:
                    names.add(ext.approval_levels)
        return names
