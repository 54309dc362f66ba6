"""Benchmark: reading and validating records, JSONL and JSON array, against plain orjson parsing of the same lines.

Usage: python bench/bench_read.py [FILE] [--rounds 5] [--records N]   (FILE defaults to
bench/out/records-g2-50000.jsonl, which bench/bench.py generates; ``--records`` takes the file's first N lines)

Prints, as µs a record and as multiples of ``orjson.loads`` over the lines already in memory: ``read_records``
alone and ``read_records`` + ``validate`` (the part of ``svcpolicy check`` before any rule runs), for the JSONL
file and for the same records written as one JSON array (``[{...},\\n{...}]``, in a temporary folder), and orjson
over the file read line by line (the baseline of bench/bench.py). The runs take turns, best of ``--rounds``, in CPU
seconds, so that a shared machine's load skews them alike. This is a measurement, not a test: nothing here asserts
a time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from svcpolicy.records.readers import read_records, validate

DEFAULT_FILE = Path(__file__).parent / "out" / "records-g2-50000.jsonl"


def _reading(path: Path) -> Callable[[], None]:
    def read() -> None:
        for _ in read_records(path):
            pass

    return read


def _reading_and_validating(path: Path) -> Callable[[], None]:
    def read_and_validate() -> None:
        for raw in read_records(path):
            if validate(raw)[0] is None:
                raise SystemExit(f"{raw.locator}: an invalid record; this measures valid ones")

    return read_and_validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=None, help="only the file's first N lines")
    args = parser.parse_args()
    lines = args.file.read_bytes().splitlines()[: args.records]
    with tempfile.TemporaryDirectory() as folder:
        jsonl = Path(folder) / "records.jsonl"
        jsonl.write_bytes(b"".join(line + b"\n" for line in lines))
        array = Path(folder) / "records.json"
        array.write_bytes(b"[\n" + b",\n".join(lines) + b"\n]\n")

        def orjson_in_memory() -> None:
            for line in lines:
                orjson.loads(line)

        def orjson_from_file() -> None:
            with jsonl.open("rb") as stream:
                for line in stream:
                    orjson.loads(line)

        runs: dict[str, Callable[[], None]] = {
            "orjson.loads, lines in memory": orjson_in_memory,
            "orjson.loads, file line by line": orjson_from_file,
            "JSONL read_records": _reading(jsonl),
            "JSONL read_records + validate": _reading_and_validating(jsonl),
            "JSON array read_records": _reading(array),
            "JSON array read_records + validate": _reading_and_validating(array),
        }
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.process_time()
                run()
                best[name] = min(best[name], time.process_time() - start)
    baseline = best["orjson.loads, lines in memory"]
    print(f"{args.file.name}: {len(lines):,} records, orjson.loads {baseline / len(lines) * 1e6:.2f} µs a line")
    for name, seconds in best.items():
        print(
            f"  {name:<36} {seconds:7.3f} s  {seconds / len(lines) * 1e6:7.1f} µs a record"
            f"  {seconds / baseline:6.2f} x orjson"
        )


if __name__ == "__main__":
    main()
