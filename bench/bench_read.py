"""Benchmark: reading and validating JSONL records against plain orjson parsing of the same lines.

Usage: python bench/bench_read.py [FILE] [--rounds 5]   (FILE defaults to bench/out/records-g2-50000.jsonl, which
bench/bench.py generates)

Prints, as multiples of ``orjson.loads`` over the lines already in memory: ``read_records`` alone and
``read_records`` + ``validate`` (the part of ``svcpolicy check`` before any rule runs), and orjson over the file
read line by line (the baseline of bench/bench.py). The runs take turns, best of ``--rounds``, in CPU seconds, so
that a shared machine's load skews them alike. This is a measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from svcpolicy.records.readers import read_records, validate

DEFAULT_FILE = Path(__file__).parent / "out" / "records-g2-50000.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path: Path = args.file
    lines = path.read_bytes().splitlines()

    def orjson_in_memory() -> None:
        for line in lines:
            orjson.loads(line)

    def orjson_from_file() -> None:
        with path.open("rb") as stream:
            for line in stream:
                orjson.loads(line)

    def read() -> None:
        for _ in read_records(path):
            pass

    def read_and_validate() -> None:
        for raw in read_records(path):
            if validate(raw)[0] is None:
                raise SystemExit(f"{raw.locator}: an invalid record; this measures valid ones")

    runs: dict[str, Callable[[], None]] = {
        "orjson.loads, lines in memory": orjson_in_memory,
        "orjson.loads, file line by line": orjson_from_file,
        "read_records": read,
        "read_records + validate": read_and_validate,
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    baseline = best["orjson.loads, lines in memory"]
    print(f"{path.name}: {len(lines):,} lines, orjson.loads {baseline / len(lines) * 1e6:.2f} µs a line")
    for name, seconds in best.items():
        print(f"  {name:<33} {seconds:7.3f} s  {seconds / baseline:5.2f} x orjson")


if __name__ == "__main__":
    main()
