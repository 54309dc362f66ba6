"""Scale-out: records/s and peak RSS for --jobs 1, --jobs 2 and Spark local[2] over the bench records.

Each way runs in its own child process (so peak RSS is its own; with --jobs, the workers' peak RSS is added),
over the same file, and their findings are compared: the run fails if any way disagrees with --jobs 1.

Besides wall-clock time, each way reports the CPU seconds it spent (its own, and its workers'): on a machine
shared with other work the wall-clock ratio says more about the neighbours than the engine, while the CPU
seconds give the speed-up two free cores would reach (``cpu bound``: one process's CPU time over half of the
driver's and workers' together). ``--rounds N`` measures the ways N times, interleaved, and reports each ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import bench_file

AS_OF = "2026-11-27T00:00:00+08:00"
WAYS = ("jobs1", "jobs2", "spark")


def measure(way: str, path: Path) -> dict[str, Any]:
    """Run in a child: one evaluation of ``path``, its findings hashed in order."""
    import svcpolicy
    from svcpolicy.results.findings import Finding

    policy = svcpolicy.load_policy()
    as_of = dt.datetime.fromisoformat(AS_OF)
    digest = hashlib.sha256()
    own_cpu, workers_cpu = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if way == "spark":
        from svcpolicy.spark import SparkRun, spark_session

        spark = spark_session("local[2]")
        started = time.perf_counter()  # the session's start-up (~20 s) is not the engine's work
        run: Any = SparkRun(policy, [path], spark, as_of=as_of)
    else:
        run = policy.iter_findings(path, as_of=as_of, jobs=int(way.removeprefix("jobs")))
    findings = 0
    for item in run:
        findings += isinstance(item, Finding)
        digest.update(repr(item).encode())
    elapsed = time.perf_counter() - started
    own_cpu, workers_cpu = _cpu(resource.RUSAGE_SELF) - own_cpu, _cpu(resource.RUSAGE_CHILDREN) - workers_cpu
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "way": way,
        "records": run.counts.records,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(own_cpu, 2),
        "workers_cpu_seconds": round(workers_cpu, 2),
        "records_per_s": round(run.counts.records / elapsed),
        "peak_rss_mib": round(own, 1),
        "largest_child_rss_mib": round(workers, 1),
        "findings": findings,
        "digest": digest.hexdigest(),
    }


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def cpu_bound_speedup(single: dict[str, Any], other: dict[str, Any], cores: int = 2) -> float:
    """The speed-up ``other`` reaches on ``cores`` free cores: one process's CPU time over the driver's and
    workers' CPU time shared by the cores (Spark's JVM is not a child that reports, so this is for --jobs)."""
    spent = float(other["cpu_seconds"]) + float(other["workers_cpu_seconds"])
    return float(single["cpu_seconds"]) / (spent / cores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--violating", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=1, help="measure the ways this many times, interleaved")
    parser.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated, of {', '.join(WAYS)}")
    parser.add_argument("--measure", nargs=2, metavar=("WAY", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    path = bench_file(args.records, args.violating)
    results = []
    for round_ in range(args.rounds):
        measured = []
        for way in args.ways.split(","):
            child = subprocess.run(  # noqa: S603 - runs this same script with our own arguments
                [sys.executable, __file__, "--measure", way, str(path)], capture_output=True, text=True, check=True
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            measured.append(result)
            print(
                f"[{round_ + 1}] {way:>6}: {result['records']:,} records in {result['seconds']} s = "
                f"{result['records_per_s']:,} records/s; CPU {result['cpu_seconds']} s + workers "
                f"{result['workers_cpu_seconds']} s; peak RSS {result['peak_rss_mib']} MiB (largest child "
                f"{result['largest_child_rss_mib']} MiB); {result['findings']:,} findings"
            )
        first = measured[0]
        for result in measured[1:]:
            line = f"[{round_ + 1}] {result['way']}: {first['seconds'] / result['seconds']:.2f}x {first['way']}"
            if first["way"] == "jobs1" and result["way"].startswith("jobs"):
                line += f" (cpu bound: {cpu_bound_speedup(first, result, int(result['way'][4:])):.2f}x)"
            print(line)
        results.extend(measured)
    if len({r["digest"] for r in results}) != 1:
        print("the ways disagree on the findings", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
