"""Benchmark: the durable-rules engine against the closure engine on the same records, and its memory over time.

Usage: python bench/bench_durable.py [--records 1000000] [--every 100000] [--engines native,durable]

Generates the synthetic ~1 KB records of bench/bench.py into bench/out/ (once per size), then, in a fresh child
process per engine, streams them through ``Policy.iter_findings(engine=...)`` and samples the resident set
size every ``--every`` records. A flat RSS column for ``durable`` shows that facts are retracted and no state
accumulates. It also checks that both engines reported the same number of findings. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import bench_file


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(path: Path, engine: str, every: int) -> dict[str, Any]:
    """Run in the child: stream the file, sample RSS, count findings."""
    import datetime as dt

    import svcpolicy

    policy = svcpolicy.load_policy()
    as_of = dt.datetime(2026, 11, 27, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    run = policy.iter_findings(path, as_of=as_of, engine=engine)  # type: ignore[arg-type]
    samples: list[tuple[int, float]] = []
    findings = 0
    next_sample = every
    start = time.perf_counter()
    for _ in run:
        findings += 1
        while run.counts.records >= next_sample:
            samples.append((run.counts.records, round(_rss_mib(), 1)))
            next_sample += every
    elapsed = time.perf_counter() - start
    samples.append((run.counts.records, round(_rss_mib(), 1)))
    stats = run.engine_stats.to_dict() if run.engine_stats is not None else None
    return {
        "engine": engine,
        "records": run.counts.records,
        "findings": findings,
        "seconds": round(elapsed, 2),
        "records_per_s": round(run.counts.records / elapsed),
        "rss_mib": samples,
        "durable": stats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--engines", default="native,durable")
    parser.add_argument("--violating", type=float, default=0.05)
    parser.add_argument("--child", nargs=2, metavar=("FILE", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), args.child[1], args.every)))
        return 0
    path = bench_file(args.records, args.violating)
    results = []
    for engine in args.engines.split(","):
        child = subprocess.run(  # noqa: S603 - this script, with the same interpreter
            [sys.executable, __file__, "--child", str(path), engine, "--every", str(args.every)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(child.stdout))
    for result in results:
        print(
            f"{result['engine']:>8}: {result['records']:,} records in {result['seconds']} s "
            f"({result['records_per_s']:,} records/s), {result['findings']:,} findings"
        )
        print("          RSS MiB by records read: " + ", ".join(f"{n // 1000}k={rss}" for n, rss in result["rss_mib"]))
        if result["durable"]:
            durable = result["durable"]
            print(
                f"          {durable['facts']:,} facts in {durable['batches']:,} batches, {durable['actions']:,} "
                f"actions; {len(durable['native_rules'])} rules on the closure engine; "
                f"records on the closure engine: {sum(durable['native_records'].values())}"
            )
    counts = {r["findings"] for r in results}
    print("same number of findings on every engine" if len(counts) == 1 else f"FINDINGS DIFFER: {counts}")
    return 0 if len(counts) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
