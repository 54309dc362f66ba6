"""The service-interaction record: TypedDicts validated by one pydantic ``TypeAdapter``.

TypedDicts rather than ``BaseModel`` because validation is most of the engine's time budget: a
TypeAdapter over TypedDicts is the fastest pydantic path from JSON bytes, and its output (plain dicts and
lists in which an absent key stays absent) is exactly what rules need to tell "the export does not say"
from "there is none".

Every optional field accepts ``null`` ("there is none"); lists do not (an empty list says that). What absence
means, where it means anything, is declared on the field with ``AbsentMeans`` so the model stays the single
source of truth for :data:`ABSENT_DEFAULTS`.

No ``from __future__ import annotations`` here: TypedDict computes ``__required_keys__`` from evaluated
annotations, and callers may rely on it.
"""

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    with_config,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# typing_extensions: pydantic needs its TypedDict before Python 3.12, and Required is 3.11+ in typing.
from typing_extensions import Required, TypedDict  # noqa: UP035

from svcpolicy.records.types import FieldSpec, describe

__all__ = [
    "ABSENT_DEFAULTS",
    "INTERACTION_ADAPTER",
    "RECORD_TYPE",
    "AbsentMeans",
    "Interaction",
    "field_paths",
    "json_schema",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class AbsentMeans:
    """``Annotated`` marker: an absent field reads as ``value`` (and the JSON Schema shows it as ``default``).

    Pydantic ignores the marker when validating, so absent keys stay absent in validated records; the rule
    engine applies the meaning, via :data:`ABSENT_DEFAULTS`, only where a rule reads the field.
    """

    value: Any

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["default"] = self.value
        return schema


# Numbers and booleans are strict (StrictInt, StrictFloat, StrictBool): "52" or true for a number, "yes" or 1 for a
# boolean make a record invalid instead of being coerced, so a broken export is seen (docs/records.md). An integer
# is still a valid float. CSV cells are text: the CSV reader turns them into numbers and booleans by the model's kinds.
# Numbers are accepted where text is expected because exports (and YAML) often write ids as numbers;
# inputs are kept out of error messages because they may carry customer data.
# cache_strings="keys": keys repeat in every record, values rarely do (measured ~3 % faster than "all")
# defer_build: the validator is built when pydantic first validates a record, not at import (~60 ms): the msgspec
# path (fast_decode) decodes valid records without it, so a short run of valid records never builds it.
_CONFIG = ConfigDict(
    extra="ignore", coerce_numbers_to_str=True, hide_input_in_errors=True, cache_strings="keys", defer_build=True
)


def _written_as_a_time(value: Any) -> Any:
    """A number is no time: pydantic would read ``5``, ``"5"`` or ``1.7e9`` as seconds since 1970 in UTC and judge
    the record on that date, where an export that wrote a number (or milliseconds) has a broken time column."""
    if isinstance(value, int | float | Decimal) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise ValueError("a time is written as text with its offset (2026-03-02T10:00:00+08:00), not as a number")
    return value


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

Timestamp = Annotated[
    AwareDatetime | None, BeforeValidator(_written_as_a_time), Field(description="Date-time with a UTC offset.")
]
RiskLevel = Annotated[StrictInt | None, Field(ge=1, le=5, description="Risk level, 1 (lowest) to 5 (highest).")]


@with_config(_CONFIG)
class Employee(TypedDict, total=False):
    """The employee who served the customer."""

    id: str | None
    role: Annotated[str | None, Field(description="e.g. teller, account_manager, lobby_manager.")]


@with_config(_CONFIG)
class Customer(TypedDict, total=False):
    """The customer served, as known at the time of the interaction."""

    id: str | None
    risk_tolerance: Annotated[RiskLevel, Field(description="Assessed, 1–5; null: never assessed.")]
    risk_assessed_at: Annotated[Timestamp, Field(description="When the risk tolerance was last assessed.")]
    age: Annotated[StrictInt | None, Field(ge=0, le=150)]
    identity_verified: Annotated[StrictBool | None, Field(description="Identity verified in this interaction.")]
    kind: Annotated[
        Literal["individual", "unit"] | None,
        Field(description="individual: a natural person; unit: an organisation (单位存款人)."),
    ]


@with_config(_CONFIG)
class Step(TypedDict, total=False):
    """A process step performed; steps are listed in the order performed."""

    name: Annotated[str | None, Field(description="Step name as the pack's process definitions spell it.")]
    at: Timestamp


@with_config(_CONFIG)
class PowerOfAttorney(TypedDict, total=False):
    """The customer's recorded power of attorney (授权委托书) under which an agent acts for them."""

    reference: Annotated[str | None, Field(description="The document's reference in the bank's records.")]
    agent: Annotated[
        str | None,
        Field(description="The id of the agent the document names; only they may act under it. Null: it names none."),
    ]
    scope: Annotated[list[str], Field(description="The operation kinds the customer empowered the agent to do.")]
    valid_from: Timestamp
    valid_until: Annotated[Timestamp, Field(description="End of validity; null: the document states none.")]
    revoked_at: Annotated[
        Timestamp,
        AbsentMeans(None),
        Field(description="When the customer revoked the document; absent or null: not revoked."),
    ]


@with_config(_CONFIG)
class Authorization(TypedDict, total=False):
    """The customer's authorisation of an operation."""

    by: Annotated[str | None, Field(description="Who authorised: the customer's id if it was them.")]
    method: Annotated[str | None, Field(description="e.g. signature, password, biometric, recorded_call.")]
    scope: Annotated[str | None, Field(description="The operation kind the authorisation covers.")]
    account_id: Annotated[
        str | None,
        AbsentMeans(None),
        Field(description="The account the customer authorised the operation on; absent or null: not limited to one."),
    ]
    at: Timestamp
    power_of_attorney: Annotated[
        PowerOfAttorney | None,
        Field(description="When an agent (by) authorised for the customer: the customer's mandate; null: none."),
    ]


@with_config(_CONFIG)
class Operation(TypedDict, total=False):
    """An operation on the customer's accounts or data."""

    id: str | None
    kind: Annotated[str | None, Field(description="e.g. change_contact_phone, close_account, transfer.")]
    affects_customer_rights: StrictBool | None
    at: Timestamp
    applied_by: Annotated[
        str | None,
        Field(description="Who applied for the operation (客户申请): the customer's or their agent's id, else staff."),
    ]
    amount: Annotated[Decimal | None, Field(description="Amount moved, for transfers and withdrawals (CNY).")]
    account_id: Annotated[str | None, Field(description="The account the operation opens or acts on.")]
    account_type: Annotated[
        str | None,
        Field(description="Type of that account: basic, general, special or temporary, or the bank's own code."),
    ]
    account_currency: Annotated[
        str | None, Field(description="ISO 4217 currency of that account: CNY for a 人民币 account, USD, …")
    ]
    refused: Annotated[
        StrictBool | None,
        AbsentMeans(False),
        Field(description="The bank refused the operation (e.g. an account opening); absent: it was done."),
    ]
    refusal_reason: Annotated[
        str | None, Field(description="The reason the customer was given for a refusal; null: none was given.")
    ]
    authorization: Annotated[Authorization | None, Field(description="null: there was none.")]


@with_config(_CONFIG)
class Offer(TypedDict, total=False):
    """A product offered to the customer, sold or not."""

    product_id: str | None
    product_risk_level: RiskLevel
    product_category: Annotated[
        str | None,
        Field(description="deposit, time_deposit, large_deposit_certificate, wealth_management, fund, insurance, …"),
    ]
    principal_guaranteed: Annotated[
        StrictBool | None, Field(description="The product's terms guarantee the principal.")
    ]
    related_to_stated_need: StrictBool | None
    recommended: Annotated[StrictBool | None, Field(description="Staff recommended the product to the customer.")]
    # No absence default: only a recommendation after an assessment made during the interaction needs it, and
    # an export that omits it cannot show which came first.
    recommended_at: Annotated[Timestamp, Field(description="When staff recommended it; null: not known.")]
    customer_declined: StrictBool | None
    declined_at: Timestamp
    # Absent reads as null: without a record of the customer coming back for it, a sale after a decline is
    # judged as the sale after a decline it appears to be (a default that can only add findings).
    customer_requested_at: Annotated[
        Timestamp,
        AbsentMeans(None),
        Field(description="When the customer asked for the product on their own initiative; null: never."),
    ]
    sold: StrictBool | None
    sold_at: Timestamp
    risk_disclosed_at: Annotated[Timestamp, Field(description="When risk was disclosed; null: never.")]
    # No absence default: an export that omits what was said cannot show that no promise was made.
    statements: Annotated[list[str], Field(description="What the seller said about the product, verbatim.")]
    recorded: Annotated[StrictBool | None, Field(description="Whether the sale was audio/video recorded.")]
    tied_to_service: Annotated[
        StrictBool | None,
        Field(description="The service the customer asked for was made conditional on buying this product (搭售)."),
    ]


@with_config(_CONFIG)
class Disclosure(TypedDict, total=False):
    """Customer information given to someone outside the service interaction."""

    fields: Annotated[list[str], Field(description="Which customer data items were disclosed.")]
    recipient: str | None
    third_party: StrictBool | None
    consent_ref: Annotated[str | None, Field(description="Reference of the customer's consent; null: none.")]
    legal_basis: Annotated[str | None, Field(description="Legal basis for disclosing; null: none.")]
    lawful_basis: Annotated[
        str | None,
        Field(
            description="The kind of lawful basis, a code from the pack's closed list: consent, contract_necessity, "
            "legal_duty, court_order, regulator_request, emergency, …; anything else (业务需要) is none."
        ),
    ]
    consent_purposes: Annotated[
        list[str], Field(description="The purposes the referenced consent covers (service, marketing, …).")
    ]
    consent_separate: Annotated[
        StrictBool | None,
        Field(description="The consent was given separately for this use (单独同意), not inside general terms."),
    ]
    purpose: Annotated[
        str | None, Field(description="What the data was given or used for: service, legal_request, marketing, …")
    ]
    at: Timestamp


@with_config(_CONFIG)
class Fee(TypedDict, total=False):
    """A fee charged to the customer."""

    code: Annotated[str | None, Field(description="Fee code as in the bank's published fee schedule.")]
    amount: Annotated[Decimal | None, Field(description="Amount as a decimal string (exact) or a JSON number.")]
    currency: Annotated[str | None, Field(description="ISO 4217 code, e.g. CNY.")]
    waiver: Annotated[
        str | None,
        AbsentMeans(None),
        Field(description="Code of the fee waiver applied (the pack's waiver table); absent or null: none."),
    ]
    price_told_at: Annotated[
        Timestamp, Field(description="When the customer was told the service and its price; null: never.")
    ]
    price_accepted: Annotated[StrictBool | None, Field(description="The customer accepted the price before service.")]
    at: Annotated[Timestamp, Field(description="When the service charged for was provided.")]


@with_config(_CONFIG)
class Extension(TypedDict, total=False):
    """An extension of a complaint's decision deadline."""

    to_days: Annotated[Literal[30, 60] | None, Field(description="The extended deadline in calendar days.")]
    notified_at: Annotated[Timestamp, Field(description="When the complainant was told; null: never.")]
    approved_by: str | None
    approver_level: Annotated[str | None, Field(description="e.g. branch_head, head_office.")]
    at: Annotated[Timestamp, Field(description="When the extension was decided (for 60 days: approved).")]


@with_config(_CONFIG)
class ProgressUpdate(TypedDict, total=False):
    """A progress report given to the complainant."""

    at: Timestamp
    channel: Annotated[str | None, Field(description="How it was given: phone, sms, letter, …")]


@with_config(_CONFIG)
class Complaint(TypedDict, total=False):
    """A complaint received in this interaction and its handling."""

    id: str | None
    received_at: Timestamp
    logged_ref: Annotated[str | None, Field(description="Complaint register ticket; null: not logged.")]
    logged_at: Annotated[Timestamp, Field(description="When it was entered in the complaint register.")]
    complexity: Literal["simple", "complex"] | None
    extensions: Annotated[list[Extension], AbsentMeans([])]
    progress_updates: Annotated[list[ProgressUpdate], AbsentMeans([])]
    decided_at: Annotated[Timestamp, Field(description="When the decision was given; null: not yet.")]
    withdrawn_at: Annotated[Timestamp, Field(description="When it was withdrawn; null: it was not.")]


@with_config(_CONFIG)
class SuspiciousActivity(TypedDict, total=False):
    """Illegal or irregular customer behaviour observed by staff."""

    observed: StrictBool | None
    observed_at: Annotated[Timestamp, Field(description="When staff observed it.")]
    reported_at: Annotated[Timestamp, Field(description="When it was reported to a supervisor; null: never.")]
    reported_to: str | None


@with_config(_CONFIG)
class Satisfaction(TypedDict, total=False):
    """The satisfaction survey after the service."""

    asked: StrictBool | None
    score: Annotated[
        StrictFloat | None, Field(ge=0, allow_inf_nan=False, description="On the bank's scale; null: not answered.")
    ]


@with_config(_CONFIG)
class QaReview(TypedDict, total=False):
    """A quality-assurance review of this interaction (录音录像或现场抽查的质检评分)."""

    reviewed_at: Timestamp
    reviewer_id: str | None
    courtesy: Annotated[
        Literal["pass", "fail"] | None, Field(description="Courtesy and patience (礼貌、热情、耐心) as scored.")
    ]
    accuracy: Annotated[
        Literal["pass", "fail"] | None, Field(description="Truth and accuracy of the answers (真实、准确) as scored.")
    ]
    violation_confirmed: Annotated[
        StrictBool | None, Field(description="The review confirmed a breach of the service rules by the employee.")
    ]
    sanction: Annotated[str | None, Field(description="The disciplinary measure decided (纪律处分); null: none.")]
    sanctioned_at: Timestamp


@with_config(_CONFIG)
class Loan(TypedDict, total=False):
    """A loan application handled in this interaction."""

    applied_at: Timestamp
    decision: Annotated[
        Literal["approved", "declined"] | None, Field(description="The decision; null: not decided yet.")
    ]
    decided_at: Timestamp
    decision_reason: Annotated[
        str | None, Field(description="The reason the applicant was given for a decline; null: none given.")
    ]
    apr: Annotated[Decimal | None, Field(description="Annualised rate (年化利率) disclosed, in percent.")]
    apr_disclosed_at: Annotated[Timestamp, Field(description="When the annualised rate was shown; null: never.")]
    contract_signed_at: Annotated[Timestamp, Field(description="When the loan contract was signed; null: not.")]


@with_config(_CONFIG)
class ServiceRecovery(TypedDict, total=False):
    """What the bank did for the customer after missing a published service standard (道歉和补偿)."""

    apologized_at: Annotated[Timestamp, Field(description="When the customer was apologised to; null: never.")]
    compensation: Annotated[
        str | None, Field(description="What was given: fee_waiver, gift, cash, points, …; null: nothing.")
    ]
    compensation_amount: Annotated[Decimal | None, Field(description="Its value in CNY, when it has one.")]
    compensated_at: Timestamp


@with_config(_CONFIG)
class Interaction(TypedDict, total=False):
    """One bank customer-service interaction.

    An absent field means the export does not say; null means there is none. Unknown fields are ignored.
    """

    id: Required[Annotated[str, Field(min_length=1, description="Unique within an export.")]]
    kind: Annotated[Literal["interaction"], AbsentMeans("interaction")]
    channel: Annotated[str | None, Field(description="counter, phone, mobile, online, atm, …")]
    branch_id: str | None
    employee: Employee | None
    customer: Customer | None
    business_type: Annotated[str | None, Field(description="e.g. wealth_product_sale, account_opening, complaint.")]
    stated_need: Annotated[str | None, Field(description="What the customer asked for, in their words.")]
    started_at: Timestamp
    ended_at: Timestamp
    wait_minutes: Annotated[
        StrictFloat | None, Field(ge=0, allow_inf_nan=False, description="Queue time before service, minutes.")
    ]
    steps: Annotated[list[Step], AbsentMeans([])]
    operations: Annotated[list[Operation], AbsentMeans([])]
    offers: Annotated[list[Offer], AbsentMeans([])]
    disclosures: Annotated[list[Disclosure], AbsentMeans([])]
    fees: Annotated[list[Fee], AbsentMeans([])]
    complaint: Annotated[Complaint | None, AbsentMeans(None)]
    suspicious_activity: Annotated[SuspiciousActivity | None, AbsentMeans(None)]
    satisfaction: Satisfaction | None
    standards_missed: Annotated[
        list[str],
        AbsentMeans([]),
        Field(description="Codes of the bank's published service standards this interaction did not meet."),
    ]
    service_recovery: Annotated[
        ServiceRecovery | None, Field(description="Apology and compensation for a missed standard; null: none.")
    ]
    qa_review: Annotated[
        QaReview | None, AbsentMeans(None), Field(description="QA review of the interaction; absent: not sampled.")
    ]
    loan: Annotated[Loan | None, AbsentMeans(None), Field(description="A loan application; absent: none.")]
    extra: Annotated[dict[str, Any], Field(description="Bank-specific attributes, free-form, read by branch packs.")]


INTERACTION_ADAPTER: TypeAdapter[Interaction] = TypeAdapter(Interaction)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a record, for systems that produce records."""
    return {"$schema": JSON_SCHEMA_DIALECT, **INTERACTION_ADAPTER.json_schema(mode="validation")}


RECORD_TYPE: FieldSpec = describe(Interaction)
"""The record model as one tree of :class:`~svcpolicy.records.types.FieldSpec` (what each field holds)."""

_FIELDS = tuple(RECORD_TYPE.descendants())

ABSENT_DEFAULTS: Mapping[str, Any] = types.MappingProxyType(
    {spec.path: m.value for spec in _FIELDS for m in spec.metadata if isinstance(m, AbsentMeans)}
)
"""What absence means, by schema path (``offers[].statements``); fields not listed have no default.

The list values are shared: copy before mutating.
"""

_FIELD_PATHS = frozenset(spec.path for spec in _FIELDS)


def field_paths() -> frozenset[str]:
    """Every path the model defines (``operations[].authorization.at``); anything under ``extra.`` is free."""
    return _FIELD_PATHS
