"""Benchmark: streaming `check` on the bundled pack against plain orjson parsing of the same lines.

Usage: python bench/bench.py [--records N] [--violating 0.05] [--sizes 10000,1000000]

Generates N synthetic ~1 KB interaction records (about 5 % violating) into bench/out/, then, in a fresh
child process per file so peak memory is the evaluation's own, times (1) orjson.loads of every line and
(2) the full evaluation (read, validate, every rule), and prints records/s, the time ratio and peak RSS.
This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

OUT = Path(__file__).parent / "out"
TZ = dt.timezone(dt.timedelta(hours=8))
BRANCHES = [f"SH-PD-{i:03d}" for i in range(1, 40)]
NEEDS = ["定期存款", "理财咨询", "账户开立", "转账汇款", "投诉处理"]


def _at(base: dt.datetime, minutes: float) -> str:
    return (base + dt.timedelta(minutes=minutes)).isoformat()


def synthetic_record(i: int, rng: random.Random, violating: bool) -> dict[str, Any]:
    """One plausible interaction; when ``violating``, one of a few common breaches is planted."""
    base = dt.datetime(2026, rng.randint(3, 10), rng.randint(1, 28), 9, 0, tzinfo=TZ) + dt.timedelta(
        minutes=rng.randint(0, 480)
    )
    customer = f"C{rng.randint(100000, 999999)}"
    tolerance = rng.randint(1, 5)
    record: dict[str, Any] = {
        "id": f"INT-{base:%Y%m%d}-{i:07d}",
        "kind": "interaction",
        "channel": rng.choice(["counter", "phone", "mobile"]),
        "branch_id": rng.choice(BRANCHES),
        "employee": {"id": "E2048", "role": "wealth_manager"},  # qualified for wealth sales in the bundled register
        "customer": {
            "id": customer,
            "risk_tolerance": tolerance,
            "age": rng.randint(18, 90),
            "identity_verified": True,
        },
        "business_type": "wealth_product_sale",
        "stated_need": rng.choice(NEEDS),
        "started_at": base.isoformat(),
        "ended_at": _at(base, 25),
        "wait_minutes": rng.randint(0, 25),
        "steps": [
            {"name": "identity_verification", "at": _at(base, 2)},
            {"name": "risk_assessment", "at": _at(base, 6)},
            {"name": "risk_disclosure", "at": _at(base, 10)},
            {"name": "customer_signature", "at": _at(base, 20)},
        ],
        "operations": [
            {
                "id": "OP-1",
                "kind": "change_contact_phone",
                "affects_customer_rights": True,
                "at": _at(base, 15),
                "authorization": {
                    "by": customer,
                    "method": "signature",
                    "scope": "change_contact_phone",
                    "at": _at(base, 14),
                },
            }
        ],
        "offers": [
            {
                "product_id": f"WM-2026-{rng.randint(1, 99):02d}",
                "product_risk_level": rng.randint(1, tolerance),
                "related_to_stated_need": True,
                "customer_declined": False,
                "tied_to_service": False,
                "sold": True,
                "sold_at": _at(base, 21),
                "risk_disclosed_at": _at(base, 10),
                "statements": ["产品有风险，投资需谨慎"],
                "recorded": True,
            }
        ],
        "disclosures": [],
        "fees": [{"code": "ACCT-MGMT", "amount": "10.00", "currency": "CNY"}],
        "satisfaction": {"asked": True, "score": rng.randint(3, 5)},
    }
    if rng.random() < 0.2:
        record["complaint"] = {
            "id": f"CMP-{i}",
            "received_at": _at(base, 30),
            "logged_ref": f"TKT-{i}",
            "complexity": "simple",
            "extensions": [],
            "progress_updates": [],
            "decided_at": _at(base, 60 * 24 * 5),
        }
    if violating:
        breach = rng.randrange(4)
        if breach == 0:
            record["operations"][0]["authorization"] = None
        elif breach == 1:
            record["customer"]["risk_tolerance"] = min(tolerance, 4)
            record["offers"][0]["product_risk_level"] = record["customer"]["risk_tolerance"] + 1
        elif breach == 2:
            record["offers"][0]["statements"] = ["保本保收益"]
        else:
            record["complaint"] = {
                "id": f"CMP-{i}",
                "received_at": _at(base, 30),
                "logged_ref": f"TKT-{i}",
                "complexity": "simple",
                "extensions": [],
                "progress_updates": [],
                "decided_at": _at(base, 60 * 24 * 40),
            }
    return record


def generate(path: Path, count: int, violating: float, seed: int = 20261127) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for i in range(count):
            out.write(orjson.dumps(synthetic_record(i, rng, rng.random() < violating)))
            out.write(b"\n")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> dict[str, Any]:
    """Run in a child process: parse-only baseline, then the full streaming evaluation."""
    import svcpolicy
    from svcpolicy.records.readers import read_records, validate

    policy = svcpolicy.load_policy()
    as_of = dt.datetime(2026, 11, 27, tzinfo=TZ)
    rss_after_load = _peak_rss_mib()
    start = time.perf_counter()
    parsed = 0
    with path.open("rb") as lines:
        for line in lines:
            orjson.loads(line)
            parsed += 1
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    for raw in read_records(path):
        validate(raw)
    read_and_validate = time.perf_counter() - start
    start = time.perf_counter()
    findings = 0
    run = policy.iter_findings(path, as_of=as_of)
    for _ in run:
        findings += 1
    elapsed = time.perf_counter() - start
    counts = run.counts
    return {
        "file": str(path),
        "records": counts.records,
        "bytes_per_record": round(path.stat().st_size / max(parsed, 1)),
        "rules": len(policy.programs),
        "parse_only_s": round(baseline, 3),
        "read_validate_s": round(read_and_validate, 3),
        "read_validate_ratio": round(read_and_validate / baseline, 2),
        "check_s": round(elapsed, 3),
        "ratio_to_parse": round(elapsed / baseline, 2),
        "records_per_s": round(counts.records / elapsed),
        "findings": findings,
        "records_with_violations": counts.with_violations,
        "undetermined": counts.undetermined,
        "invalid": counts.invalid,
        "reconciled": counts.reconciled,
        "peak_rss_mib_after_load": round(rss_after_load, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--violating", type=float, default=0.05)
    parser.add_argument("--sizes", help="comma-separated record counts to compare peak memory across sizes")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.records]
    for size in sizes:
        path = OUT / f"records-{size}.jsonl"
        if not path.exists():
            print(f"generating {size:,} records into {path} …", file=sys.stderr)
            generate(path, size, args.violating)
        child = subprocess.run(  # noqa: S603 - runs this same script with our own arguments
            [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
        )
        result = json.loads(child.stdout)
        print(
            f"{result['records']:>9,} records ({result['bytes_per_record']} B each, {result['rules']} rules): "
            f"{result['records_per_s']:,} records/s, {result['ratio_to_parse']}x orjson parse "
            f"({result['check_s']} s vs {result['parse_only_s']} s; reading and validating alone "
            f"{result['read_validate_ratio']}x), peak RSS {result['peak_rss_mib']} MiB; "
            f"{result['records_with_violations']:,} with violations, {result['undetermined']:,} undetermined, "
            f"reconciled={result['reconciled']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
