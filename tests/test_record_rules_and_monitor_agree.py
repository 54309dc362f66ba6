"""The record rule and the event monitor give the same answer on the same facts.

A complaint history (receipt, extensions, decision or withdrawal, or still open on a day) is generated once
and told twice: as one record judged by CMP-015-decision-overdue, and as the events the monitor's
EVT-CMP-001-decided-within-period reads. Receipts run to the end of the last year whose holiday schedule is
known, so many periods end in the first unknown year: both sides judge those from the deadline's bounds and
must agree there too (undetermined included). The monitor's answer is its last finding for the complaint: an
undetermined one when the earliest possible last day ends may be followed by the violation when the latest
ends. Likewise a decline, a later request by the customer and a sale, for
MR-011-sale-after-decline and EVT-SALE-001-no-sale-after-decline; and an authorisation by the customer or
an agent (the agent the power of attorney names: the same, another, null or not exported), for the account
operated on, another or any, before or after the operation, for SVC-016-unauthorized-operation and
EVT-AUTH-001-authorisation-before-operation. Both run through the public API only.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svcpolicy
from svcpolicy.monitor.alerts import Alert
from svcpolicy.monitor.cases import MonitorEngine
from svcpolicy.results.findings import Finding, Outcome

CST = dt.timezone(dt.timedelta(hours=8))
POLICY = svcpolicy.load_policy()
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Receipts from January to the end of the last known year (whatever the installed python-holidays knows), half of
# them in its last 80 days, whose periods run into the first year without a known schedule.
LAST_KNOWN = POLICY.calendar.known_years[1]
FIRST_RECEIPT = dt.datetime(LAST_KNOWN, 1, 5, 9, tzinfo=CST)
YEAR_END = dt.datetime(LAST_KNOWN, 12, 31, 23, 59, tzinfo=CST)
RECEIPT_WINDOW_MINUTES = int((YEAR_END - FIRST_RECEIPT).total_seconds() // 60)
YEAR_END_MINUTES = 80 * 24 * 60


def day_and_minute(first_day: int, last_day: int) -> st.SearchStrategy[int]:
    """Minutes after receipt: a whole day drawn evenly (so the 15/30/60-day edges are reached) plus a time."""
    return st.builds(lambda day, minute: day * 24 * 60 + minute, st.integers(first_day, last_day), st.integers(0, 1439))


@dataclass(frozen=True)
class Extension:
    to_days: int
    after_minutes: int
    notice_lag_minutes: int | None  # minutes before the extension took effect that the complainant was told
    approver_level: str | None


@dataclass(frozen=True)
class ComplaintHistory:
    received: dt.datetime
    complexity: str | None
    extensions: tuple[Extension, ...]
    closing: str | None  # "decided", "withdrawn" or None (still open on the judging day)
    closed_after_minutes: int

    def minute(self, after: int) -> dt.datetime:
        return self.received + dt.timedelta(minutes=after)


extensions = st.builds(
    Extension,
    to_days=st.sampled_from([30, 60]),
    after_minutes=day_and_minute(0, 45),
    # Told before or when the extension is recorded (the event is emitted once it is in effect), or never.
    notice_lag_minutes=st.one_of(st.none(), st.integers(0, 20 * 24 * 60)),
    approver_level=st.sampled_from([None, "branch_manager", "head_office_senior_management", "superior_institution"]),
)

receipts = st.one_of(
    st.integers(0, RECEIPT_WINDOW_MINUTES),
    st.integers(RECEIPT_WINDOW_MINUTES - YEAR_END_MINUTES, RECEIPT_WINDOW_MINUTES),
).map(lambda m: FIRST_RECEIPT + dt.timedelta(minutes=m))


def _extensions_go_up(history: ComplaintHistory) -> bool:
    """A bank extends to 30 days and then to 60, never back to 30 after 60: CMP-015 would still weigh such a
    30-day extension (undetermined when only an unknown schedule can time it), the monitor ignores it."""
    ordered = sorted(history.extensions, key=lambda e: e.after_minutes)
    return all(not (a.to_days == 60 and b.to_days == 30) for a, b in itertools.pairwise(ordered))


histories = st.builds(
    ComplaintHistory,
    received=receipts,
    complexity=st.sampled_from([None, "simple", "complex", "complex"]),
    extensions=st.lists(extensions, max_size=3, unique_by=lambda e: e.after_minutes).map(tuple),
    closing=st.sampled_from(["decided", "withdrawn", None]),
    closed_after_minutes=day_and_minute(1, 70),
).filter(lambda h: all(e.after_minutes < h.closed_after_minutes for e in h.extensions) and _extensions_go_up(h))
# A history ends when the complaint is decided, withdrawn or judged open: later extensions are not facts yet.


def _notified(history: ComplaintHistory, ext: Extension) -> dt.datetime | None:
    if ext.notice_lag_minutes is None:
        return None
    return history.minute(max(ext.after_minutes - ext.notice_lag_minutes, 1))


def complaint_record(history: ComplaintHistory) -> dict[str, Any]:
    closed = history.minute(history.closed_after_minutes).isoformat()
    return {
        "id": "R1",
        "started_at": history.received.isoformat(),
        "complaint": {
            "id": "A",
            "received_at": history.received.isoformat(),
            "logged_ref": "T1",
            "complexity": history.complexity,
            "extensions": [
                {
                    "to_days": ext.to_days,
                    "at": history.minute(ext.after_minutes).isoformat(),
                    "notified_at": None if (n := _notified(history, ext)) is None else n.isoformat(),
                    "approved_by": None if ext.approver_level is None else "E9001",
                    "approver_level": ext.approver_level,
                }
                for ext in history.extensions
            ],
            "decided_at": closed if history.closing == "decided" else None,
            "withdrawn_at": closed if history.closing == "withdrawn" else None,
        },
    }


def complaint_events(history: ComplaintHistory) -> list[dict[str, Any]]:
    events: list[tuple[dt.datetime, dict[str, Any]]] = [
        (history.received, {"type": "complaint.received", "complaint_id": "A"})
    ]
    for ext in history.extensions:
        notified = _notified(history, ext)
        events.append(
            (
                history.minute(ext.after_minutes),
                {
                    "type": "complaint.extended",
                    "complaint_id": "A",
                    "to_days": ext.to_days,
                    "notified_at": None if notified is None else notified.isoformat(),
                    "approved_by": None if ext.approver_level is None else "E9001",
                    "approver_level": ext.approver_level,
                    "complexity": history.complexity,
                },
            )
        )
    closed = history.minute(history.closed_after_minutes)
    if history.closing is not None:
        events.append((closed, {"type": f"complaint.{history.closing}", "complaint_id": "A"}))
    else:
        events.append((closed, {"type": "clock"}))
    events.sort(key=lambda pair: pair[0])
    return [{"id": f"e{i}", "at": moment.isoformat(), **body} for i, (moment, body) in enumerate(events)]


def record_outcome(record: dict[str, Any], rule: str, as_of: dt.datetime | None = None) -> Outcome:
    findings = [f for f in POLICY.evaluate(record, as_of=as_of).findings if f.rule == rule]
    return findings[0].outcome if findings else Outcome.COMPLIANT


def monitor_outcome(
    events: list[dict[str, Any]], rule: str, engine: MonitorEngine = "python", restart: bool = False
) -> Outcome:
    """The monitor's last finding of the rule; with ``restart``, a new monitor takes over from a snapshot after
    each event (so what its cases hold must survive one)."""
    alerts: list[Alert] = []
    monitor = svcpolicy.Monitor(POLICY, engine=engine)
    for event in events:
        alerts += monitor.feed(event)
        if restart:
            alerts += monitor.flush()
            snapshot = monitor.snapshot()
            monitor.close()
            monitor = svcpolicy.Monitor(POLICY, engine=engine)
            monitor.restore(snapshot)
    alerts += monitor.flush()
    monitor.close()
    found = [a.item for a in alerts if isinstance(a.item, Finding) and a.item.rule == rule]
    return found[-1].outcome if found else Outcome.COMPLIANT


@SETTINGS
@given(histories)
def test_the_complaint_record_rule_and_the_monitor_agree_on_every_complaint_history(
    history: ComplaintHistory,
) -> None:
    as_of = history.minute(history.closed_after_minutes)  # an open complaint is judged on that day
    by_record = record_outcome(complaint_record(history), "CMP-015-decision-overdue", as_of)
    by_monitor = monitor_outcome(complaint_events(history), "EVT-CMP-001-decided-within-period")
    assert by_record == by_monitor


def _complaint(**overrides: Any) -> ComplaintHistory:
    fields: dict[str, Any] = {
        "received": dt.datetime(2026, 6, 1, 10, tzinfo=CST),
        "complexity": "complex",
        "extensions": (),
        "closing": "decided",
        "closed_after_minutes": 54 * 24 * 60,  # decided 2026-07-25
    }
    return ComplaintHistory(**{**fields, **overrides})


DECEMBER_20 = dt.datetime(LAST_KNOWN, 12, 20, 10, tzinfo=CST)  # day 15 is January 4 of the first unknown year


def _minutes_until(year: int, month: int, day: int) -> int:
    return int((dt.datetime(year, month, day, 10, tzinfo=CST) - DECEMBER_20).total_seconds() // 60)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(
            _complaint(received=DECEMBER_20, closed_after_minutes=8 * 24 * 60),
            Outcome.COMPLIANT,
            id="received 12-20 and decided 12-28, before any day of the unknown year counts",
        ),
        pytest.param(
            _complaint(received=DECEMBER_20, closed_after_minutes=_minutes_until(LAST_KNOWN + 1, 1, 4)),
            Outcome.COMPLIANT,
            id="decided on January 4, the earliest the last day can be",
        ),
        pytest.param(
            _complaint(received=DECEMBER_20, closed_after_minutes=_minutes_until(LAST_KNOWN + 1, 1, 6)),
            Outcome.UNDETERMINED,
            id="decided January 6, which only the unknown schedule can judge",
        ),
        pytest.param(
            _complaint(received=DECEMBER_20, closing=None, closed_after_minutes=_minutes_until(LAST_KNOWN + 1, 3, 1)),
            Outcome.VIOLATION,
            id="still open on March 1, overdue whatever the unknown schedule says",
        ),
        pytest.param(
            _complaint(
                received=DECEMBER_20,
                extensions=(Extension(30, 5 * 24 * 60, None, None),),
                closed_after_minutes=_minutes_until(LAST_KNOWN + 1, 1, 15),
            ),
            Outcome.COMPLIANT,
            id="extended to 30 days on 12-25, decided January 15, before the 30 days can end",
        ),
    ],
)
def test_both_judge_a_period_running_into_the_unknown_year_from_its_bounds(
    history: ComplaintHistory, expected: Outcome
) -> None:
    as_of = history.minute(history.closed_after_minutes)
    assert record_outcome(complaint_record(history), "CMP-015-decision-overdue", as_of) is expected
    assert monitor_outcome(complaint_events(history), "EVT-CMP-001-decided-within-period") is expected


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(
            _complaint(extensions=(Extension(60, 49 * 24 * 60, 0, "head_office_senior_management"),)),
            Outcome.VIOLATION,
            id="first notice of a 60-day extension on day 49 does not rescue the 15-day deadline",
        ),
        pytest.param(
            _complaint(extensions=(Extension(60, 10 * 24 * 60, 0, "head_office_senior_management"),)),
            Outcome.COMPLIANT,
            id="60-day extension notified and approved on day 10 counts",
        ),
        pytest.param(
            _complaint(
                complexity="simple", extensions=(Extension(60, 10 * 24 * 60, 0, "head_office_senior_management"),)
            ),
            Outcome.VIOLATION,
            id="a simple complaint cannot be extended",
        ),
    ],
)
def test_both_judge_the_named_extension_cases_as_the_nfra_text_reads(
    history: ComplaintHistory, expected: Outcome
) -> None:
    as_of = history.minute(history.closed_after_minutes)
    assert record_outcome(complaint_record(history), "CMP-015-decision-overdue", as_of) is expected
    assert monitor_outcome(complaint_events(history), "EVT-CMP-001-decided-within-period") is expected


# -- a decline, the customer's own later request, a sale ----------------------------------------------------


@dataclass(frozen=True)
class SaleHistory:
    declined: int
    requested: int | None
    sold: int

    def moment(self, minutes: int) -> dt.datetime:
        return FIRST_RECEIPT + dt.timedelta(minutes=minutes)


sale_histories = st.builds(
    SaleHistory,
    declined=st.integers(0, 30 * 24 * 60),
    requested=st.one_of(st.none(), st.integers(0, 30 * 24 * 60)),
    sold=st.integers(0, 30 * 24 * 60),
).filter(lambda h: len({h.declined, h.requested, h.sold}) == 3)


def sale_record(history: SaleHistory) -> dict[str, Any]:
    requested = None if history.requested is None else history.moment(history.requested).isoformat()
    return {
        "id": "R1",
        "customer": {"id": "C1"},
        "offers": [
            {
                "product_id": "WM-1",
                "customer_declined": True,
                "declined_at": history.moment(history.declined).isoformat(),
                "customer_requested_at": requested,
                "sold": True,
                "sold_at": history.moment(history.sold).isoformat(),
            }
        ],
    }


def sale_events(history: SaleHistory) -> list[dict[str, Any]]:
    steps = [(history.declined, "product.declined"), (history.sold, "product.sold")]
    if history.requested is not None:
        steps.append((history.requested, "product.requested"))
    return [
        {"id": f"e{i}", "type": kind, "at": history.moment(m).isoformat(), "customer_id": "C1", "product_id": "WM-1"}
        for i, (m, kind) in enumerate(sorted(steps))
    ]


@SETTINGS
@given(sale_histories)
def test_a_sale_after_a_decline_is_forced_selling_for_both_unless_the_customer_asked_for_it_again(
    history: SaleHistory,
) -> None:
    by_record = record_outcome(sale_record(history), "MR-011-sale-after-decline")
    by_monitor = monitor_outcome(sale_events(history), "EVT-SALE-001-no-sale-after-decline")
    assert by_record == by_monitor


def test_a_customer_who_declined_and_later_came_back_for_the_product_was_not_forced() -> None:
    history = SaleHistory(declined=0, requested=7 * 24 * 60, sold=7 * 24 * 60 + 20)
    assert record_outcome(sale_record(history), "MR-011-sale-after-decline") is Outcome.COMPLIANT
    assert monitor_outcome(sale_events(history), "EVT-SALE-001-no-sale-after-decline") is Outcome.COMPLIANT


# -- an authorisation by the customer or their agent, for an account or any, and an operation ------------------

ABSENT = "<absent>"
"""A field value meaning: the field is left out of the record and the event (not the same as null)."""
CUSTOMER, AGENT, OTHER_AGENT = "C1", "P3001", "P3002"
ACCOUNT, OTHER_ACCOUNT = "6222-0001", "6222-0002"
OPERATED = dt.datetime(2026, 3, 2, 10, tzinfo=CST)


@dataclass(frozen=True)
class AuthorisationHistory:
    by: str  # the customer, or an agent under the customer's power of attorney
    agent: str | None  # the agent the power of attorney names (only read when an agent authorises), or ABSENT
    authorised_account: str | None  # the account the authorisation is for, or ABSENT
    operated_account: str | None  # the account operated on, or ABSENT
    authorised_before: bool  # the authorisation came before the operation (else five minutes after)

    @property
    def authorised_at(self) -> dt.datetime:
        return OPERATED + dt.timedelta(minutes=-2 if self.authorised_before else 5)


def field_if_given(name: str, value: str | None) -> dict[str, str | None]:
    """The field as a record or an event holds it: left out when ABSENT."""
    return {} if value == ABSENT else {name: value}


def authorisation_record(history: AuthorisationHistory) -> dict[str, Any]:
    power_of_attorney = None
    if history.by != CUSTOMER:  # a recorded document, valid then and for this operation: only its agent varies
        power_of_attorney = {
            "reference": "POA-2026-017",
            "scope": ["transfer_out"],
            "valid_from": "2026-02-20T00:00:00+08:00",
            "valid_until": None,
            **field_if_given("agent", history.agent),
        }
    authorization = {
        "by": history.by,
        "method": "signature",
        "scope": "transfer_out",
        "at": history.authorised_at.isoformat(),
        "power_of_attorney": power_of_attorney,
        **field_if_given("account_id", history.authorised_account),
    }
    operation = {
        "id": "OP-1",
        "kind": "transfer_out",
        "affects_customer_rights": True,
        "at": OPERATED.isoformat(),
        "applied_by": history.by,
        "authorization": authorization,
        **field_if_given("account_id", history.operated_account),
    }
    return {"id": "R1", "customer": {"id": CUSTOMER}, "employee": {"id": "E2001"}, "operations": [operation]}


def authorisation_events(history: AuthorisationHistory) -> list[dict[str, Any]]:
    granted: dict[str, Any] = {
        "type": "authorization.granted",
        "at": history.authorised_at.isoformat(),
        "customer_id": CUSTOMER,
        "scope": "transfer_out",
        "by": history.by,
        "method": "signature",
        **(field_if_given("agent", history.agent) if history.by != CUSTOMER else {}),
        **field_if_given("account_id", history.authorised_account),
    }
    performed: dict[str, Any] = {
        "type": "operation.performed",
        "at": OPERATED.isoformat(),
        "operation_id": "OP-1",
        "customer_id": CUSTOMER,
        "kind": "transfer_out",
        "affects_customer_rights": True,
        **field_if_given("account_id", history.operated_account),
    }
    ordered = sorted([granted, performed], key=lambda event: dt.datetime.fromisoformat(event["at"]))
    return [{"id": f"e{i}", **event} for i, event in enumerate(ordered)]


AUTHORISATION_HISTORIES = [
    AuthorisationHistory(by, agent, authorised, operated, before)
    for by in (CUSTOMER, AGENT)
    for agent in ((ABSENT,) if by == CUSTOMER else (AGENT, OTHER_AGENT, None, ABSENT))
    for authorised in (ACCOUNT, OTHER_ACCOUNT, None, ABSENT)
    for operated in (ACCOUNT, None, ABSENT)
    for before in (True, False)
]


@pytest.mark.parametrize("history", AUTHORISATION_HISTORIES, ids=str)
def test_the_authorisation_record_rule_and_the_monitor_agree_on_every_authoriser_agent_and_account(
    history: AuthorisationHistory,
) -> None:
    by_record = record_outcome(authorisation_record(history), "SVC-016-unauthorized-operation")
    by_monitor = monitor_outcome(authorisation_events(history), "EVT-AUTH-001-authorisation-before-operation")
    assert by_record == by_monitor


def _authorised(**overrides: Any) -> AuthorisationHistory:
    fields: dict[str, Any] = {
        "by": AGENT,
        "agent": AGENT,
        "authorised_account": ABSENT,
        "operated_account": ACCOUNT,
        "authorised_before": True,
    }
    return AuthorisationHistory(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(_authorised(), Outcome.COMPLIANT, id="the agent the power of attorney names authorised"),
        pytest.param(_authorised(agent=OTHER_AGENT), Outcome.VIOLATION, id="the power of attorney names another agent"),
        pytest.param(_authorised(agent=None), Outcome.VIOLATION, id="the power of attorney names nobody"),
        pytest.param(
            _authorised(agent=ABSENT), Outcome.UNDETERMINED, id="the export omits the power of attorney's agent"
        ),
        pytest.param(
            _authorised(by=CUSTOMER, agent=ABSENT), Outcome.COMPLIANT, id="the customer authorised, no agent read"
        ),
        pytest.param(
            _authorised(authorised_account=ACCOUNT), Outcome.COMPLIANT, id="authorised for the account operated on"
        ),
        pytest.param(
            _authorised(authorised_account=OTHER_ACCOUNT), Outcome.VIOLATION, id="authorised for another account"
        ),
        pytest.param(
            _authorised(authorised_account=None), Outcome.COMPLIANT, id="an authorisation naming no account covers any"
        ),
        pytest.param(
            _authorised(authorised_account=OTHER_ACCOUNT, operated_account=ABSENT),
            Outcome.UNDETERMINED,
            id="authorised for one account, the operation's account not exported",
        ),
    ],
)
@pytest.mark.parametrize(("engine", "restart"), [("python", False), ("durable", False), ("python", True)])
def test_both_judge_the_named_agent_and_account_cases_as_svc_016_reads_whatever_the_engine_and_restarts(
    history: AuthorisationHistory, expected: Outcome, engine: MonitorEngine, restart: bool
) -> None:
    assert record_outcome(authorisation_record(history), "SVC-016-unauthorized-operation") is expected
    events = authorisation_events(history)
    assert monitor_outcome(events, "EVT-AUTH-001-authorisation-before-operation", engine, restart) is expected
