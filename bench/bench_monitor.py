"""Benchmark of the event monitor: events/s and peak memory over a long stream with many open complaints.

    make bench-monitor                                   # 1,000,000 events, ~50,000 open complaints
    python bench/bench_monitor.py --events 200000 --open 10000 --engine python --state /tmp/monitor.db
    python bench/bench_monitor.py --resume /tmp/monitor.db --engine python   # restart: time and peak RSS

Events are generated on the fly (JSON text, in time order, as a bank system would send them) and fed to
``svcpolicy.Monitor`` in this process, which parses and validates each one. About 70 % are complaint events
(received, sometimes extended, decided, replied, withdrawn, some never decided), the rest operations,
authorisations, offers, sales and consents, plus an hourly clock tick. Complaints arrive at the rate that keeps
about ``--open`` of them open. Peak RSS is the process's high-water mark (getrusage), so run it in a fresh
process (as ``make bench-monitor`` does).

Open cases are printed every ``--checkpoint-every`` events, by kind. ``within`` cases (two per open complaint)
end by their closing event or deadline; authorisations, declines, risk disclosures and consents are
``preceded-by``/``not-after`` cases that only a revocation or request closes, so without a case horizon they
grow with every (customer, product) pair seen. The bench runs with a 30-day horizon (``--case-horizon none``
keeps them forever, as ``svcpolicy watch`` does by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

import svcpolicy
from svcpolicy.monitor import Monitor

CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 1, 5, tzinfo=CST)
MEAN_OPEN_DAYS = 10.0  # decided after 1..19 days, some never (closed by their deadline)


def stream(total: int, open_target: int, seed: int) -> Iterator[bytes]:
    """``total`` events in time order, as JSON lines."""
    rng = random.Random(seed)
    per_day = open_target / MEAN_OPEN_DAYS  # complaints received per day
    complaint_share = 0.7
    events_per_complaint = 2.9
    other_per_day = per_day * events_per_complaint * (1 - complaint_share) / complaint_share
    per_second = (per_day + other_per_day) / 86400.0
    later: list[tuple[float, int, dict[str, Any]]] = []  # scheduled follow-ups: (time, n, event)
    now = START.timestamp()
    later.append((now + 3600, 0, {"type": "clock", "at": _iso(now + 3600)}))  # hourly ticks, in time order
    produced = 0
    n = 0
    complaint_chance = per_day / (per_day + other_per_day)
    while produced < total:
        now += rng.expovariate(per_second)
        while later and later[0][0] <= now and produced < total:
            moment, _, event = heapq.heappop(later)
            yield orjson.dumps(event)
            produced += 1
            if event["type"] == "clock":
                heapq.heappush(later, (moment + 3600, 0, {"type": "clock", "at": _iso(moment + 3600)}))
        if produced >= total:
            break
        n += 1
        at = _iso(now)
        if rng.random() < complaint_chance:
            cid = f"CMP-{n}"
            yield orjson.dumps({"id": f"e{n}", "type": "complaint.received", "at": at, "complaint_id": cid})
            produced += 1
            roll = rng.random()
            if roll < 0.1:
                moment = now + rng.uniform(1, 10) * 86400
                heapq.heappush(later, (moment, n, _extended(n, cid, moment)))
            if roll < 0.92:  # the rest stay open until their deadline passes
                moment = now + rng.uniform(1, 19) * 86400
                kind = "complaint.decided" if roll < 0.85 else "complaint.withdrawn"
                heapq.heappush(
                    later, (moment, n, {"id": f"d{n}", "type": kind, "at": _iso(moment), "complaint_id": cid})
                )
                if kind == "complaint.decided":
                    moment += rng.uniform(0, 2) * 86400
                    reply = {"id": f"p{n}", "type": "complaint.replied", "at": _iso(moment), "complaint_id": cid}
                    heapq.heappush(later, (moment, n, reply))
        else:
            yield orjson.dumps(_other(rng, n, at))
            produced += 1


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, CST).isoformat()


def _extended(n: int, cid: str, moment: float) -> dict[str, Any]:
    return {
        "id": f"x{n}",
        "type": "complaint.extended",
        "at": _iso(moment),
        "complaint_id": cid,
        "to_days": 30,
        "notified_at": _iso(moment),
    }


def _authoriser(n: int, customer: str) -> dict[str, Any]:
    """Who authorised: mostly the customer, every 4th an agent their power of attorney names, the 4th after it
    the customer for the account the operations use (by the event's number, so the random stream is unchanged,
    and each covers what the customer's own authorisation covered)."""
    if n % 4 == 1:
        return {"by": f"P-{customer}", "agent": f"P-{customer}"}
    if n % 4 == 3:
        return {"by": customer, "account_id": f"A-{customer}"}
    return {"by": customer}


def _other(rng: random.Random, n: int, at: str) -> dict[str, Any]:
    customer = f"C{rng.randrange(200_000)}"
    product = f"P{rng.randrange(50)}"
    kind = rng.randrange(6)
    base = {"id": f"o{n}", "at": at, "customer_id": customer}
    if kind == 0:
        return {**base, "type": "authorization.granted", "scope": "transfer", **_authoriser(n, customer)}
    if kind == 1:
        operation = {"type": "operation.performed", "kind": "transfer", "affects_customer_rights": True}
        return {**base, **operation, "account_id": f"A-{customer}"}
    if kind == 2:
        return {**base, "type": "product.declined", "product_id": product, "business_type": "fund_sale"}
    if kind == 3:
        return {**base, "type": "risk.disclosed", "product_id": product}
    if kind == 4:
        return {**base, "type": "product.sold", "product_id": product, "business_type": "fund_sale"}
    return {**base, "type": "consent.granted", "recipient": "insurer"}


def open_complaints(monitor: Monitor) -> int:
    return sum(1 for cid in monitor._cases.by_id if cid.startswith("EVT-CMP-001"))


def open_by_kind(monitor: Monitor) -> dict[str, int]:
    """Open cases by the kind of their rule: ``within`` cases end by a closing event or their deadline; the
    others (authorisations, declines, disclosures, consents) only by a closing event or the case horizon."""
    kinds = {s.rule.id: s.rule.kind for s in monitor._cases.sequences}
    counts = dict.fromkeys(("within", "preceded-by", "not-after"), 0)
    for case in monitor._cases.by_id.values():
        counts[kinds[case.rule]] += 1
    return counts


def measure(args: argparse.Namespace) -> dict[str, Any]:
    policy = svcpolicy.load_policy()
    state = None
    if args.state:
        state = Path(args.state)
        for suffix in ("", "-wal", "-shm"):
            Path(str(state) + suffix).unlink(missing_ok=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outputs = 0
    peak_open = 0
    peak_complaints = 0
    checkpoints: list[dict[str, int]] = []
    horizon = None if args.case_horizon is None else dt.timedelta(days=args.case_horizon)
    started = time.perf_counter()
    with Monitor(
        policy,
        engine=args.engine,
        state=state,
        allowance=dt.timedelta(minutes=args.allowance),
        case_horizon=horizon,
    ) as monitor:
        for i, line in enumerate(stream(args.events, args.open, args.seed), start=1):
            outputs += len(monitor.feed(line))
            if state is not None and i % args.commit_every == 0:
                monitor.commit()
            if i % 10_000 == 0:
                peak_open = max(peak_open, monitor.open_cases)
                peak_complaints = max(peak_complaints, open_complaints(monitor))
                if i % args.checkpoint_every == 0:
                    checkpoints.append({"events": i, "open_cases": monitor.open_cases, **open_by_kind(monitor)})
                    if not args.json:
                        print(_checkpoint(checkpoints[-1]), flush=True)
        outputs += len(monitor.flush())
        monitor.commit()
        elapsed = time.perf_counter() - started
        counts = monitor.counts.to_dict()
        at_end = open_complaints(monitor)
        collisions = monitor._cases.durable.collisions if monitor._cases.durable is not None else 0
    return {
        "events": args.events,
        "engine": args.engine,
        "case_horizon_days": args.case_horizon,
        "state": str(state) if state else None,
        "seconds": round(elapsed, 2),
        "events_per_second": round(args.events / elapsed),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_open_cases": peak_open,
        "peak_open_complaints": peak_complaints,
        "open_complaints_at_end": at_end,
        "outputs": outputs,
        "open_cases_at_checkpoints": checkpoints,
        "durable_id_collisions_retried": collisions,
        "counts": counts,
        "python": sys.version.split()[0],
    }


def resume(args: argparse.Namespace) -> dict[str, Any]:
    """Open a monitor on a state a run left (a restart): how long it takes and the process's peak RSS."""
    policy = svcpolicy.load_policy()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with Monitor(policy, engine=args.engine, state=args.resume) as monitor:
        elapsed = time.perf_counter() - started
        open_cases = monitor.open_cases
    return {
        "resume_seconds": round(elapsed, 2),
        "open_cases": open_cases,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "engine": args.engine,
    }


def _checkpoint(point: dict[str, int]) -> str:
    return (
        f"{point['events']:>10,} events: {point['open_cases']:,} open cases ({point['within']:,} within, "
        f"{point['preceded-by']:,} preceded-by, {point['not-after']:,} not-after)"
    )


def _days(text: str) -> float | None:
    return None if text == "none" else float(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=50_000, help="complaints open at a time, about")
    parser.add_argument("--engine", choices=("durable", "python"), default="durable")
    parser.add_argument("--state", help="SQLite state file (default: a temporary one); 'none' for in memory")
    parser.add_argument("--commit-every", type=int, default=10_000)
    parser.add_argument("--allowance", type=float, default=10.0, help="reorder allowance in minutes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--case-horizon",
        type=_days,
        default=30.0,
        help="days an authorisation, decline, disclosure or consent counts (Monitor case_horizon); 'none': forever",
    )
    parser.add_argument("--checkpoint-every", type=int, default=100_000, help="print open cases every N events")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--resume", help="only restart from this state file (run it in a fresh process)")
    args = parser.parse_args()
    if args.resume:
        print(json.dumps(resume(args)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.state is None:
            args.state = str(Path(tmp) / "monitor.db")
        elif args.state == "none":
            args.state = None
        result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['events']:,} events in {result['seconds']} s: {result['events_per_second']:,} events/s, "
            f"peak RSS {result['peak_rss_mib']} MiB (engine {result['engine']}, "
            f"state {'SQLite' if result['state'] else 'memory'}, case horizon {result['case_horizon_days']} days); "
            f"peak open cases {result['peak_open_cases']:,} "
            f"(complaints count twice: EVT-CMP-001 and -002), peak open complaints {result['peak_open_complaints']:,}, "
            f"{result['open_complaints_at_end']:,} at the end; {result['outputs']:,} outputs"
        )
        print(json.dumps(result["counts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
