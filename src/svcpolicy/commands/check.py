"""``svcpolicy check``: evaluate record files against a pack; the compliance gate."""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from svcpolicy.commands.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from svcpolicy.findings import Finding, InvalidRecord
from svcpolicy.formats import FORMATS, is_failure, write_json, write_jsonl, write_text
from svcpolicy.pack.schema import Severity
from svcpolicy.policy import load_policy
from svcpolicy.progress import ProgressLine
from svcpolicy.report import Report

NAME = "check"
HELP = "check record files against a rule pack"


def _as_of(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--as-of needs a time zone offset, e.g. {text}+08:00")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="record files: .jsonl .ndjson .json .yaml .yml .csv (globs allowed)")
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file instead of stdout")
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default=Severity.INFO.value,
        help="exit 1 when a violation of this severity or above is found (default: any)",
    )
    parser.add_argument("--fail-on-undetermined", action="store_true", help="also exit 1 on undetermined findings")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of messages")
    parser.add_argument("--as-of", type=_as_of, help="reference time for open cases (default: now)")
    parser.add_argument("--encoding", default="utf-8", help="encoding of the record files (default utf-8)")
    parser.add_argument("--no-progress", action="store_true", help="never show the progress line")


def _expand(paths: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for path in paths:
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        expanded.extend(matches or [path])
    return expanded


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        with args.output.open("w", encoding="utf-8") as out:
            return _check(args, out)
    return _check(args, sys.stdout)


def _check(args: argparse.Namespace, out: TextIO) -> int:
    policy = load_policy(args.pack)
    threshold = Severity(args.fail_on).rank
    progress = None if args.no_progress else ProgressLine.if_terminal()
    run = policy.iter_findings(_expand(args.paths), as_of=args.as_of, encoding=args.encoding, progress=progress)
    failed = False

    def gate(item: Finding | InvalidRecord) -> Finding | InvalidRecord:
        nonlocal failed
        if is_failure(item, threshold) or (args.fail_on_undetermined and item.outcome == "undetermined"):
            failed = True
        return item

    try:
        if args.format == "jsonl":
            write_jsonl((gate(item) for item in run), out)
        else:
            report = Report(pack=policy.ref, as_of=run.as_of, counts=run.counts)
            for item in run:
                gate(item)
                if isinstance(item, Finding):
                    report.findings.append(item)
                else:
                    report.invalid.append(item)
            report.input_failures = run.input_failures
            if progress is not None:
                progress.close()
            if args.format == "json":
                write_json(report, out)
            else:
                write_text(report, out, lang=args.lang)
    finally:
        if progress is not None:
            progress.close()
    for failure in run.input_failures:
        print(f"svcpolicy: {failure.source}: {failure.error}", file=sys.stderr)
    if args.format == "jsonl":
        print(run.counts.summary(), file=sys.stderr)
    if run.input_failures:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed else EXIT_OK
