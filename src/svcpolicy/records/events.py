"""The events bank systems emit, as the monitor reads them (``svcpolicy watch``, :class:`svcpolicy.Monitor`).

A record describes a finished interaction; an event says one thing that happened, at one time. Every event
has an ``id`` (its identity: a second event with the same id is a duplicate), a ``type`` and an ``at`` with a
time-zone offset (event time: the monitor never reads the wall clock). The other fields depend on the type.
Unknown fields are ignored; bank-specific attributes go under ``extra``. See docs/events.md.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from svcpolicy.records.duplicate_keys import REPEATED_KEY, checked_repeated_key

__all__ = ["EVENT_TYPES", "Event", "event_json_schema", "parse_event"]

Text = Annotated[str, Field(min_length=1)]


class _Event(BaseModel):
    # defer_build: validators are built on the first event, so a command that never reads events pays nothing
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True, defer_build=True)

    id: Text = Field(description="the event's identity: a repeat of an id is a duplicate and is ignored")
    at: AwareDatetime = Field(description="when it happened (event time), with a time-zone offset")
    source: str | None = Field(default=None, description="the system that emitted it")
    extra: dict[str, Any] = Field(default={}, description="bank-specific attributes")

    unknown_when_absent: ClassVar[frozenset[str]] = frozenset()
    """Fields whose absence means the emitter did not say (a condition reading one is undetermined), not null."""

    code_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields that hold codes (an operation kind, a scope, a category): read as the record rules' code() reads
    them wherever the monitor compares them, so ``CLOSE_ACCOUNT`` is ``close_account``."""

    def field(self, name: str) -> Any:
        """A field by name (used by sequence patterns); absent fields read as None."""
        return getattr(self, name, None)

    def known(self, name: str) -> bool:
        """Whether the event says what the field holds: given, or read as null when absent."""
        return name not in self.unknown_when_absent or name in self.model_fields_set


class _ComplaintEvent(_Event):
    complaint_id: Text


class ComplaintReceived(_ComplaintEvent):
    type: Literal["complaint.received"]
    customer_id: str | None = None
    channel: str | None = None

    code_fields: ClassVar[frozenset[str]] = frozenset({"channel"})


class ComplaintAcknowledged(_ComplaintEvent):
    type: Literal["complaint.acknowledged"]


class ComplaintExtended(_ComplaintEvent):
    """The handling period was extended: to 30 days with a notice, to 60 also with senior approval."""

    type: Literal["complaint.extended"]
    to_days: Annotated[int, Field(ge=1)]
    notified_at: AwareDatetime | None = Field(description="when the complainant was told; null: not told")
    approved_by: str | None = None
    approver_level: str | None = None
    complexity: Literal["simple", "complex"] | None = Field(
        default=None, description="the complaint's complexity as assessed when extending; simple cannot be extended"
    )

    code_fields: ClassVar[frozenset[str]] = frozenset({"approver_level"})


class ComplaintDecided(_ComplaintEvent):
    type: Literal["complaint.decided"]
    outcome: str | None = None


class ComplaintReplied(_ComplaintEvent):
    """The decision was told to the complainant (告知投诉人)."""

    type: Literal["complaint.replied"]
    channel: str | None = None

    code_fields: ClassVar[frozenset[str]] = frozenset({"channel"})


class ComplaintWithdrawn(_ComplaintEvent):
    type: Literal["complaint.withdrawn"]


class OperationPerformed(_Event):
    type: Literal["operation.performed"]
    operation_id: str | None = None
    customer_id: Text
    kind: Text
    affects_customer_rights: bool
    account_id: str | None = Field(
        default=None,
        description="the account operated on; null: none. Absent: not exported, so an authorisation for one "
        "account leaves the operation undetermined",
    )

    unknown_when_absent: ClassVar[frozenset[str]] = frozenset({"account_id"})
    code_fields: ClassVar[frozenset[str]] = frozenset({"kind"})


class AuthorizationGranted(_Event):
    """The customer authorised operations of one kind (``scope`` is an operation ``kind``), themselves or through
    an agent under their power of attorney, as SVC-016 reads an operation's ``authorization``."""

    type: Literal["authorization.granted"]
    customer_id: Text
    scope: Text
    by: str | None = Field(
        default=None,
        description="who authorised: the customer, or an agent under their power of attorney; null: nobody named. "
        "Absent: the customer (emitters before the field sent none)",
    )
    method: str | None = None
    agent: str | None = Field(
        default=None,
        description="the agent the customer's power of attorney names, when someone else than the customer "
        "authorises under it; null: it names nobody. Absent: not exported, so an agent's authorisation is "
        "undetermined",
    )
    account_id: str | None = Field(
        default=None, description="the account the authorisation is for; absent or null: any of the customer's"
    )

    unknown_when_absent: ClassVar[frozenset[str]] = frozenset({"agent"})
    code_fields: ClassVar[frozenset[str]] = frozenset({"scope"})

    @model_validator(mode="before")
    @classmethod
    def _customer_by_default(cls, data: Any) -> Any:
        """An authorisation that names no authoriser is the customer's own: the event type says so."""
        if isinstance(data, dict) and "by" not in data:
            return {**data, "by": data.get("customer_id")}
        return data


class AuthorizationRevoked(_Event):
    type: Literal["authorization.revoked"]
    customer_id: Text
    scope: Text

    code_fields: ClassVar[frozenset[str]] = frozenset({"scope"})


class _ProductEvent(_Event):
    customer_id: Text
    product_id: Text
    business_type: str | None = None
    product_category: str | None = Field(
        default=None, description="the bank's product category code (fund, time_deposit, …), as offers[] carry it"
    )

    code_fields: ClassVar[frozenset[str]] = frozenset({"business_type", "product_category"})


class ProductOffered(_ProductEvent):
    type: Literal["product.offered"]


class ProductDeclined(_ProductEvent):
    type: Literal["product.declined"]


class ProductRequested(_ProductEvent):
    """The customer asked for the product on their own initiative (ends a decline's effect)."""

    type: Literal["product.requested"]


class ProductSold(_ProductEvent):
    type: Literal["product.sold"]


class RiskDisclosed(_Event):
    type: Literal["risk.disclosed"]
    customer_id: Text
    product_id: Text


class DataDisclosed(_Event):
    type: Literal["data.disclosed"]
    customer_id: Text
    recipient: Text
    third_party: bool
    fields: list[str] = []
    purpose: str | None = None
    legal_basis: str | None = None


class ConsentGranted(_Event):
    type: Literal["consent.granted"]
    customer_id: Text
    recipient: Text


class Clock(_Event):
    """A tick: only moves event time forward, so deadlines pass even when nothing else happens."""

    type: Literal["clock"]
    id: Text = Field(default="clock", description="optional for a tick: it defaults to clock@<at>")

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None and data.get("at") is not None:
            return {**data, "id": f"clock@{data['at']}"}
        return data


Event = Annotated[
    ComplaintReceived
    | ComplaintAcknowledged
    | ComplaintExtended
    | ComplaintDecided
    | ComplaintReplied
    | ComplaintWithdrawn
    | OperationPerformed
    | AuthorizationGranted
    | AuthorizationRevoked
    | ProductOffered
    | ProductDeclined
    | ProductRequested
    | ProductSold
    | RiskDisclosed
    | DataDisclosed
    | ConsentGranted
    | Clock,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=ConfigDict(defer_build=True))
EVENT_TYPES: dict[str, type[_Event]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        ComplaintReceived,
        ComplaintAcknowledged,
        ComplaintExtended,
        ComplaintDecided,
        ComplaintReplied,
        ComplaintWithdrawn,
        OperationPerformed,
        AuthorizationGranted,
        AuthorizationRevoked,
        ProductOffered,
        ProductDeclined,
        ProductRequested,
        ProductSold,
        RiskDisclosed,
        DataDisclosed,
        ConsentGranted,
        Clock,
    )
}
"""Event type name -> its model."""


def parse_event(data: Any) -> Event:
    """Validate one event: a mapping, or JSON text/bytes. Raises pydantic.ValidationError, also for JSON that gives
    a key twice in one object (which value the emitter meant is ambiguous; the parser would keep the last)."""
    if isinstance(data, str | bytes):
        repeated = checked_repeated_key(data)
        if repeated is not None:
            raise _repeated_key_error(repeated)
        return EVENT_ADAPTER.validate_json(data)
    return EVENT_ADAPTER.validate_python(data)


def _repeated_key_error(path: str) -> ValidationError:
    """A validation error at ``path`` (``extra.channel``), as the monitor reports every invalid event."""
    location = tuple(int(part) if part.isdigit() else part for part in path.split("."))
    error = PydanticCustomError("duplicate_key", REPEATED_KEY)
    return ValidationError.from_exception_data("event", [{"type": error, "loc": location, "input": None}])


def event_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one event: a union discriminated by ``type``."""
    schema = EVENT_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "svcpolicy event"
    return schema
