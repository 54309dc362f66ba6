"""Benchmark: aggregate rules with very many groups — 1 M distinct depositors by default.

Usage: python bench/bench_groups.py [--records 1000000] [--budgets default,none] [--bytes-sample 50000]
(``make bench-groups``).

Generates bench records (bench/bench.py's synthetic interactions) in which every record is a different unit
depositor opening a basic account, so ``AGG-ACC-one-basic-deposit-account`` holds one group per record. Prints,
per group budget (``default``: the run's ``MAX_GROUPS_IN_MEMORY``, spilling beyond it; ``none``: every group held
in memory; or a number), the library's streaming evaluation in a fresh child process: records/s (CPU time), peak
RSS, the findings and how often the depositor rule spilled; then the bytes one group takes in memory, measured
with tracemalloc on a sample of groups. This is a measurement, not a test: nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from bench import AS_OF, OUT, synthetic_record

GENERATOR = 1  # bump when depositor_record changes, so stale files are not reused
DEPOSITOR_RULE = "AGG-ACC-one-basic-deposit-account"


def depositor_record(i: int, rng: random.Random) -> dict[str, Any]:
    """A bench interaction whose customer is the ``i``-th unit depositor, opening its basic account."""
    record = synthetic_record(i, rng, rng.random() < 0.05)
    customer = record["customer"]
    customer.update(id=f"U{i:08d}", kind="unit")
    started = dt.datetime.fromisoformat(record["started_at"])
    record["operations"].append(
        {
            "id": "OP-2",
            "kind": "open_account",
            "account_id": f"A-{i:08d}",
            "account_type": "basic",
            "account_currency": "CNY",
            "affects_customer_rights": True,
            "applied_by": customer["id"],
            "at": (started + dt.timedelta(minutes=16)).isoformat(),
            "authorization": {"by": customer["id"], "method": "signature", "scope": "open_account"},
        }
    )
    return record


def depositor_records(count: int, seed: int = 20261201) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(count):
        yield depositor_record(i, rng)


def bench_file(count: int) -> Path:
    path = OUT / f"depositors-g{GENERATOR}-{count}.jsonl"
    if not path.exists():
        print(f"generating {count:,} records into {path} …", file=sys.stderr)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for record in depositor_records(count):
                out.write(orjson.dumps(record))
                out.write(b"\n")
    return path


def measure(path: Path, budget: str) -> dict[str, Any]:
    """Run in a child process: the library's streaming evaluation of the file under one group budget."""
    import svcpolicy
    from svcpolicy.engine import aggregates

    if budget == "none":
        aggregates.MAX_GROUPS_IN_MEMORY = sys.maxsize
    elif budget != "default":
        aggregates.MAX_GROUPS_IN_MEMORY = int(budget)
    spills: list[int] = []
    findings = aggregates.AggregateRun.findings

    def counting_findings(run: aggregates.AggregateRun, *args: Any) -> Any:
        if run.program.id == DEPOSITOR_RULE:
            spills.append(run.spilled.spills if run.spilled is not None else 0)
        return findings(run, *args)

    aggregates.AggregateRun.findings = counting_findings  # type: ignore[method-assign,assignment]
    policy = svcpolicy.load_policy()
    start = time.process_time()
    run = policy.iter_findings(path, as_of=dt.datetime.fromisoformat(AS_OF))
    total = sum(1 for _ in run)
    elapsed = time.process_time() - start
    return {
        "budget": aggregates.MAX_GROUPS_IN_MEMORY,
        "records": run.counts.records,
        "seconds": elapsed,
        "findings": total,
        "group_findings": run.counts.group_violations + run.counts.group_undetermined,
        "spills": spills[0] if spills else 0,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bytes_per_group(count: int) -> float:
    """tracemalloc's count of the memory held by the depositor rule's groups after ``count`` distinct depositors."""
    import svcpolicy
    from svcpolicy.engine.aggregates import AggregateRun
    from svcpolicy.expr import Env
    from svcpolicy.records.readers import Locator, RawRecord, validate
    from svcpolicy.results.findings import RecordRef

    policy = svcpolicy.load_policy()
    program = next(p for p in policy.aggregates if p.id == DEPOSITOR_RULE)
    env = Env({}, params={}, as_of=dt.datetime.fromisoformat(AS_OF), tz=policy.tz, calendar=policy.calendar)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    run = AggregateRun(program, max_groups=count + 1)
    for line, raw in enumerate(depositor_records(count), start=1):
        record = validate(RawRecord(Locator("depositors.jsonl", line), raw))[0]
        if record is not None:
            env.reset(record, policy.parameters.for_record(record))
            run.feed(env, record, RecordRef(record.get("id"), "depositors.jsonl", line))
    env.reset({}, {})
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / len(run.groups)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000, help="records, each a distinct depositor")
    parser.add_argument("--budgets", default="default,none", help="group budgets: default, none or a number")
    parser.add_argument("--bytes-sample", type=int, default=50_000, help="groups for the bytes-per-group figure")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--budget", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.budget)))
        return 0
    path = bench_file(args.records)
    print(f"{'records':>9}  {'groups in memory':<18} {'records/s':>10} {'peak RSS':>10} {'spills':>7}  findings")
    for budget in (b for b in args.budgets.split(",") if b):
        child = subprocess.run(  # noqa: S603 - runs this same script with our own arguments
            [sys.executable, __file__, "--measure", str(path), "--budget", budget],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(child.stdout)
        label = "all" if result["budget"] == sys.maxsize else f"≤ {result['budget']:,}"
        print(
            f"{result['records']:>9,}  {label:<18} {result['records'] / result['seconds']:>10,.0f} "
            f"{result['peak_rss_mib']:>6.0f} MiB {result['spills']:>7}  {result['findings']:,} "
            f"({result['group_findings']:,} about groups)"
        )
    if args.bytes_sample:
        print(f"\none depositor group in memory: {bytes_per_group(args.bytes_sample):,.0f} bytes (tracemalloc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
