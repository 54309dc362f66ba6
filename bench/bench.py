"""Benchmark: `svcpolicy check` on the bundled pack against plain orjson parsing of the same lines.

Usage: python bench/bench.py [--sizes 10000,200000,1000000] [--formats jsonl,json,sarif,text] [--violating 0.05]
(``make bench`` for the full table: every output format at 10 k, 200 k and 1 M records, the 1 M rows take a few
minutes each; ``make bench BENCH_ARGS="--sizes 10000,200000"`` for a quick one).

Generates synthetic ~1.4 KB interaction records (about 5 % violating; every 8th operation authorised by an agent
under a power of attorney, every 8th another by the customer for the account operated on, and planted promises
typed plain, spaced or full-width) into bench/out/, then prints, per size:
the library's streaming evaluation (records/s, its time ÷ orjson.loads of the same lines, peak RSS) and
``svcpolicy check --format F`` for each output format (all of them by default; html lists at most
``--html-max-findings`` findings, its cap), each in a fresh child process so peak memory is its own; then the
startup time of the CLI on a one-record file and the five most expensive rules. Times are CPU seconds (user +
system), so the load of a shared machine does not distort them as much as wall time would. This is a
measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

import svcpolicy
from svcpolicy.cli.commands.check import HTML_MAX_FINDINGS
from svcpolicy.reporting.registry import FORMATS

OUT = Path(__file__).parent / "out"
GENERATOR = 3  # bump when synthetic_record changes, so stale files are not reused
AS_OF = "2026-11-27T00:00:00+08:00"
CLI = Path(sys.executable).parent / "svcpolicy"
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
            "risk_assessed_at": _at(base, -60 * 24 * 30),
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
                "applied_by": customer,
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
                "product_category": "wealth_management",
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
            "logged_at": _at(base, 31),
            "withdrawn_at": None,
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
            record["offers"][0]["statements"] = [PROMISES[i % len(PROMISES)]]
        else:
            record["complaint"] = {
                "id": f"CMP-{i}",
                "received_at": _at(base, 30),
                "logged_ref": f"TKT-{i}",
                "logged_at": _at(base, 31),
                "withdrawn_at": None,
                "complexity": "simple",
                "extensions": [],
                "progress_updates": [],
                "decided_at": _at(base, 60 * 24 * 40),
            }
    _vary_authorisation(i, record, base)
    return record


PROMISES = ["保本保收益", "保 本 保 收 益", "这款产品保本\u3000保收益", "ＧＵＡＲＡＮＴＥＥＤ ＲＥＴＵＲＮＳ"]
"""The promise planted in a mis-selling record, typed as a seller might: plain, spaced, with an ideographic
space, in full-width letters; normalize() reads each as the plain phrase, so each is one violation."""


def _vary_authorisation(i: int, record: dict[str, Any], base: dt.datetime) -> None:
    """Give every 8th operation an agent under the customer's power of attorney, and the 8th after it an
    authorisation naming the account operated on (both as SVC-016 accepts them). Chosen by the record's number,
    not drawn, so the random stream and every other field stay those of the generator before. An operation left
    without authorisation (a planted breach) keeps the customer as its applicant: one breach per record."""
    operation = record["operations"][0]
    authorization = operation["authorization"]
    if authorization is None:
        return
    if i % 8 == 3:
        agent = f"P{i:07d}"
        operation["applied_by"] = authorization["by"] = agent
        authorization["power_of_attorney"] = {
            "reference": f"POA-{i:07d}",
            "agent": agent,
            "scope": [operation["kind"]],
            "valid_from": _at(base, -60 * 24 * 10),
            "valid_until": _at(base, 60 * 24 * 80),
        }
    elif i % 8 == 7:
        operation["account_id"] = authorization["account_id"] = f"6222-{i:07d}"


def generate(path: Path, count: int, violating: float, seed: int = 20261127) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for i in range(count):
            out.write(orjson.dumps(synthetic_record(i, rng, rng.random() < violating)))
            out.write(b"\n")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def orjson_seconds(path: Path) -> float:
    """The baseline: orjson.loads of every line (best of three, the file in the page cache), in CPU seconds."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        with path.open("rb") as lines:
            for line in lines:
                orjson.loads(line)
        best = min(best, time.process_time() - start)
    return best


def measure(path: Path, rule_costs: bool) -> dict[str, Any]:
    """Run in a child process: the library's streaming evaluation, optionally timing every rule."""
    import svcpolicy
    from svcpolicy.engine.aggregates import AggregateRun
    from svcpolicy.records.readers import read_records, validate

    policy = svcpolicy.load_policy()
    as_of = dt.datetime.fromisoformat(AS_OF)
    costs: dict[str, float] = {}
    if rule_costs:
        policy.fuse_kinds = False  # judge rule by rule (not one function per kind), so each rule is timed
        _time_rules(policy.programs, AggregateRun, costs, policy.group_functions)
    start = time.process_time()
    for raw in read_records(path):
        validate(raw)
    read_and_validate = time.process_time() - start
    start = time.process_time()
    run = policy.iter_findings(path, as_of=as_of)
    findings = sum(1 for _ in run)
    elapsed = time.process_time() - start
    counts = run.counts
    return {
        "records": counts.records,
        "read_validate_s": read_and_validate,
        "check_s": elapsed,
        "findings": findings,
        "with_violations": counts.with_violations,
        "undetermined": counts.undetermined,
        "peak_rss_mib": _peak_rss_mib(),
        "rule_s": dict(sorted(costs.items(), key=lambda item: -item[1])),
    }


def _time_rules(programs: Any, aggregate_run: Any, costs: dict[str, float], group_functions: Any) -> None:
    """Wrap each record rule's judge and each aggregate's feed with a timer (adds ~0.1 µs a call). Each is timed as
    it runs in a check: a record rule by its own generated function, an aggregate by the generated feed of that
    aggregate alone (a check feeds a kind's aggregates by one such function; the closures cost several times
    more, and would rank the aggregates far above what a check pays for them)."""
    from svcpolicy.engine.activity import ActivityByDay
    from svcpolicy.engine.parameters import record_date

    clock = time.process_time

    for program in programs:

        def timed(*args: Any, _judge: Any = program.judge, _id: str = program.id, **options: Any) -> Any:
            start = clock()
            try:
                return _judge(*args, **options)
            finally:
                costs[_id] = costs.get(_id, 0.0) + clock() - start

        program.judge = timed
    by_closures = aggregate_run.feed
    own_feeds: dict[tuple[str, str], Any] = {}

    def own_feed(program: Any, kind: str) -> Any:
        """The generated feed of one aggregate for one record kind, with the days it is active (None: Python
        cannot compile it, and a check feeds it by its closures too)."""
        made = own_feeds.get((program.id, kind))
        if made is None:
            generated = group_functions(kind, (program,))
            made = own_feeds[(program.id, kind)] = (generated.fn if generated else None, ActivityByDay((program,)))
        return made

    def timed_feed(self: Any, env: Any, record: Any, ref: Any) -> Any:
        start = clock()
        try:
            fn, active_on = own_feed(self.program, record.get("kind", "interaction"))
            if fn is None:
                return by_closures(self, env, record, ref)
            active = active_on(record_date(record, self.program.tz)) if self.program.dated else ()
            return fn(env, ref, active, (self,))
        finally:
            costs[self.program.id] = costs.get(self.program.id, 0.0) + clock() - start

    aggregate_run.feed = timed_feed


def run_cli(args: list[str]) -> tuple[float, float]:
    """CPU time (user + system) and peak RSS (MiB) of one ``svcpolicy`` run in its own process."""
    process = subprocess.Popen(  # noqa: S603 - our own CLI with our own arguments
        [str(CLI), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise RuntimeError(
            f"svcpolicy {' '.join(args)} exited {code}: {process.stderr.read().decode() if process.stderr else ''}"
        )
    return elapsed, usage.ru_maxrss / 1024


def startup_seconds(directory: Path, runs: int = 5) -> float:
    """Best CPU time of ``svcpolicy check`` on a one-record file (imports, pack load, one record, exit).

    With a warm cache (the first run fills it) and svcpolicy's .pyc files written (``make``'s setup runs
    ``compileall``; with PYTHONDONTWRITEBYTECODE set, Python would otherwise compile every module at each start)."""
    one = directory / "one-record.jsonl"
    one.write_bytes(orjson.dumps(synthetic_record(0, random.Random(1), False)) + b"\n")
    base = ["check", str(one), "--format", "jsonl", "--as-of", AS_OF, "--no-progress"]
    return min(run_cli(base)[0] for _ in range(runs))


def _bytecode_written() -> bool:
    """Whether every svcpolicy module has an up-to-date .pyc, so the startup figure excludes compiling them."""
    package = Path(svcpolicy.__file__).parent
    for module in package.rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(module)))
        if not cached.exists() or cached.stat().st_mtime < module.stat().st_mtime:
            return False
    return True


def bench_file(size: int, violating: float) -> Path:
    """The bench records of this size, generated on first use (every bench script reads the same files)."""
    path = OUT / f"records-g{GENERATOR}-{size}.jsonl"
    if not path.exists():
        print(f"generating {size:,} records into {path} …", file=sys.stderr)
        generate(path, size, violating)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,200000,1000000", help="comma-separated record counts")
    parser.add_argument("--formats", default=",".join(FORMATS), help="CLI output formats to time (default: all)")
    parser.add_argument("--violating", type=float, default=0.05)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rule-costs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rule_costs)))
        return 0
    formats = [f for f in args.formats.split(",") if f]
    rule_s: dict[str, float] = {}
    print(f"{'records':>9}  {'run':<22} {'records/s':>10} {'x orjson':>9} {'peak RSS':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        path = bench_file(size, args.violating)
        baseline = orjson_seconds(path)
        child = subprocess.run(  # noqa: S603 - runs this same script with our own arguments
            [sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True
        )
        result = json.loads(child.stdout)
        print(
            f"{result['records']:>9,}  {'library iter_findings':<22} {result['records'] / result['check_s']:>10,.0f} "
            f"{result['check_s'] / baseline:>8.1f}x {result['peak_rss_mib']:>6.0f} MiB   (orjson {baseline:.2f} s; "
            f"read+validate {result['read_validate_s'] / baseline:.1f}x; {result['with_violations']:,} with "
            f"violations, {result['undetermined']:,} undetermined)"
        )
        for output in formats:
            elapsed, rss = run_cli(["check", str(path), "--format", output, "--as-of", AS_OF, "--no-progress"])
            capped = f"   (at most {HTML_MAX_FINDINGS:,} findings listed)" if FORMATS[output].caps_findings else ""
            print(
                f"{size:>9,}  {'check --format ' + output:<22} {size / elapsed:>10,.0f} {elapsed / baseline:>8.1f}x "
                f"{rss:>6.0f} MiB{capped}"
            )
        if not rule_s:
            child = subprocess.run(  # noqa: S603 - as above
                [sys.executable, __file__, "--measure", str(path), "--rule-costs"],
                capture_output=True,
                text=True,
                check=True,
            )
            rule_s = json.loads(child.stdout)["rule_s"]
            rule_size = size
    print(
        f"\nstartup (check on a one-record file, best of 5, warm cache, .pyc written): {startup_seconds(OUT):.3f} s"
        f"{'' if _bytecode_written() else '   (svcpolicy has modules without .pyc: run python -m compileall src)'}"
    )
    total = sum(rule_s.values())
    print(f"\ntop 5 rules by time ({rule_size:,} records; all rules {total:.2f} s):")
    for rule, seconds in list(rule_s.items())[:5]:
        print(
            f"  {rule:<45} {seconds:>7.2f} s  {100 * seconds / total:>5.1f} %  "
            f"{1e6 * seconds / rule_size:>6.1f} µs/record"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
