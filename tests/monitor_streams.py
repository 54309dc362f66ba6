"""Event builders and stream generators shared by the monitor tests and the monitor benchmark's smoke test."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

CST = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> str:
    """``"03-02 10:00"`` (2026, China time) as ISO 8601 with its offset."""
    return dt.datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=CST).isoformat()


def ev(event_id: str, type_: str, when: str, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "at": at(when), **fields}


def tick(when: str) -> dict[str, Any]:
    return {"type": "clock", "at": at(when)}


def random_stream(seed: int, complaints: int = 40, customers: int = 6) -> list[dict[str, Any]]:
    """A time-ordered mix of every sequence rule's events, with ticks, over a few months of 2026."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    start = dt.datetime(2026, 1, 5, 9, tzinfo=CST)
    events: list[dict[str, Any]] = []

    def add(type_: str, moment: dt.datetime, **fields: Any) -> None:
        events.append({"id": f"{type_}-{len(events)}", "type": type_, "at": moment.isoformat(), **fields})

    for n in range(complaints):
        received = start + dt.timedelta(hours=rng.randrange(0, 24 * 90))
        cid = f"CMP-{n}"
        add("complaint.received", received, complaint_id=cid)
        roll = rng.random()
        if roll < 0.3:
            notified = received + dt.timedelta(days=rng.randrange(1, 20))
            add("complaint.extended", notified, complaint_id=cid, to_days=30, notified_at=notified.isoformat())
        elif roll < 0.45:
            moment = received + dt.timedelta(days=rng.randrange(1, 14))
            add(
                "complaint.extended",
                moment,
                complaint_id=cid,
                to_days=60,
                notified_at=moment.isoformat(),
                approved_by="E9",
                approver_level=rng.choice(["head_office_senior_management", "branch_manager"]),
            )
        closing = received + dt.timedelta(days=rng.randrange(1, 70), hours=rng.randrange(0, 24))
        kind = rng.choice(["complaint.decided", "complaint.withdrawn", None])
        if kind is not None:
            add(kind, closing, complaint_id=cid)
            if kind == "complaint.decided" and rng.random() < 0.8:
                add("complaint.replied", closing + dt.timedelta(hours=rng.randrange(0, 72)), complaint_id=cid)
    for _ in range(complaints):
        moment = start + dt.timedelta(hours=rng.randrange(0, 24 * 90))
        customer, product = f"C{rng.randrange(customers)}", f"P{rng.randrange(3)}"
        scope = rng.choice(["transfer", "loss_report"])
        choice = rng.randrange(7)
        if choice == 0:
            add("authorization.granted", moment, customer_id=customer, scope=scope)
        elif choice == 1:
            add("authorization.revoked", moment, customer_id=customer, scope=scope)
        elif choice == 2:
            add("operation.performed", moment, customer_id=customer, kind=scope, affects_customer_rights=True)
        elif choice == 3:
            add("product.declined", moment, customer_id=customer, product_id=product, business_type="fund_sale")
        elif choice == 4:
            add("product.requested", moment, customer_id=customer, product_id=product, business_type="fund_sale")
        elif choice == 5:
            add("risk.disclosed", moment, customer_id=customer, product_id=product)
        else:
            add("product.sold", moment, customer_id=customer, product_id=product, business_type="fund_sale")
    for _ in range(complaints // 2):
        moment = start + dt.timedelta(hours=rng.randrange(0, 24 * 90))
        customer, recipient = f"C{rng.randrange(customers)}", rng.choice(["insurer", "collector"])
        if rng.random() < 0.4:
            add("consent.granted", moment, customer_id=customer, recipient=recipient)
        else:
            basis = rng.choice([None, None, "law"])
            add(
                "data.disclosed", moment, customer_id=customer, recipient=recipient, third_party=True, legal_basis=basis
            )
    for day in range(0, 200, 3):
        moment = start + dt.timedelta(days=day)
        events.append({"type": "clock", "at": moment.isoformat()})
    events.sort(key=lambda e: (e["at"], e.get("id") or ""))
    return events


def shuffle_within(events: list[dict[str, Any]], allowance: dt.timedelta, seed: int) -> list[dict[str, Any]]:
    """Arrival order: each event delayed by a random jitter below the allowance, so none arrives late."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    jitter = allowance.total_seconds() * 0.99

    def arrival(event: dict[str, Any]) -> float:
        return dt.datetime.fromisoformat(event["at"]).timestamp() + rng.uniform(0, jitter)

    keyed = [(arrival(e), i, e) for i, e in enumerate(events)]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [e for _, _, e in keyed]
