"""``svcpolicy watch``: run a pack's sequence rules over an event stream, printing findings as JSON Lines."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import orjson

from svcpolicy.cli.exits import EXIT_FINDINGS, EXIT_OK
from svcpolicy.cli.holidays import add_holidays_argument, holiday_calendar
from svcpolicy.policy import load_policy
from svcpolicy.reporting.masking import masked_data
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome

if TYPE_CHECKING:
    from svcpolicy.monitor import Alert


def _seconds(text: str) -> dt.timedelta:
    """``90``, ``90s``, ``15m``, ``2h`` or ``3d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 15m, 2h, 3d)") from exc
    if value < 0:
        raise argparse.ArgumentTypeError("a duration is not negative")
    try:
        return dt.timedelta(seconds=value * units[unit])
    except (OverflowError, ValueError):  # past 999,999,999 days, or nan
        raise argparse.ArgumentTypeError(f"not a duration there can be: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("events", nargs="?", default="-", help="a JSON Lines file of events, or - for stdin (default)")
    parser.add_argument("--pack", help="pack directory or file, or a bundled pack name (default: cn-bank-service)")
    parser.add_argument(
        "--state",
        help="SQLite file keeping open cases across restarts; restarted on the same file, watch resumes after the "
        "last committed line (one watch per file; the file belongs to the pack that wrote it)",
    )
    parser.add_argument(
        "--allowance", type=_seconds, default=dt.timedelta(0), help="how late an event may arrive (e.g. 10m)"
    )
    parser.add_argument("--lead-days", type=float, default=3.0, help="warn this many days before a deadline")
    parser.add_argument("--dedup-horizon", type=_seconds, default=dt.timedelta(days=30), help="remember ids this long")
    parser.add_argument(
        "--case-horizon",
        type=_seconds,
        default=None,
        help="how long an authorisation, decline, risk disclosure or consent counts after its latest event (e.g. "
        "365d); default: until revoked, so the state grows with the customers seen",
    )
    parser.add_argument(
        "--commit-every",
        type=int,
        default=None,
        help="commit the state every N input lines (default: 1000 reading a file, which a rerun reads again after "
        "the last commit; 1 reading stdin, which cannot be read again)",
    )
    parser.add_argument(
        "--commit-seconds",
        type=float,
        default=1.0,
        help="commit the state at least this often while lines arrive (default 1)",
    )
    parser.add_argument("--engine", choices=("durable", "python"), default="durable")
    parser.add_argument(
        "--show-customer-ids",
        action="store_true",
        help="show the customer ids of findings and warnings instead of masking them (C7****21)",
    )
    add_holidays_argument(parser, configurable=False)


FILE_COMMIT_EVERY = 1000
"""Lines between commits reading a file: a commit costs a transaction, and a rerun reads the lines since the last
one again, so a crash loses none of them."""

_CUSTOMER_FIELDS = frozenset({"customer_id"})
"""The event fields that identify a customer (docs/events.md): every customer event carries ``customer_id``."""
_NOT_MASKED = frozenset({"seq", "fingerprint", "citations", "pack"})
"""An alert's parts that hold no record data (and whose numbers and hashes must stay as they are)."""


def _masked(written: dict[str, Any]) -> dict[str, Any]:
    """An alert with its case's customer id masked wherever it shows: the case key (``record.id``), the messages
    and the evidence. A watch's output ends up in alert queues and logs as widely read as a CI log."""
    evidence = written.get("evidence")
    if not isinstance(evidence, dict):
        return written
    identifiers = [str(v) for k, v in evidence.items() if k in _CUSTOMER_FIELDS and v not in (None, "")]
    if not identifiers:
        return written
    return {k: v if k in _NOT_MASKED else masked_data(v, identifiers) for k, v in written.items()}


def _lines(stream: Iterable[bytes | str], skip: int) -> Iterator[tuple[int, bytes | str]]:
    """Numbered lines as read: bytes from a file, so a line that is not UTF-8 is one invalid event, not a crash."""
    for number, line in enumerate(stream, start=1):
        if number > skip:
            yield number, line


def run(args: argparse.Namespace) -> int:
    from svcpolicy.monitor import Monitor  # the monitor (and durable-rules) only for this command

    out = sys.stdout
    violations = 0

    source = "<stdin>" if args.events == "-" else args.events

    def emit(alerts: list[Alert], line_number: int | None = None) -> None:
        """Each alert as a JSON line; an invalid event is located at the input line it was read from."""
        nonlocal violations
        for alert in alerts:
            if isinstance(alert.item, Finding) and alert.item.outcome is Outcome.VIOLATION:
                violations += 1
            written = alert.to_dict() if args.show_customer_ids else _masked(alert.to_dict())
            if isinstance(alert.item, InvalidRecord) and line_number is not None:
                written["record"] = {**written["record"], "source": source, "line": line_number}
            out.write(orjson.dumps(written).decode() + "\n")
        if alerts:
            out.flush()

    with ExitStack() as stack:
        monitor = stack.enter_context(
            Monitor(
                load_policy(args.pack, calendar=holiday_calendar(args, None)),
                allowance=args.allowance,
                lead_days=args.lead_days,
                dedup_horizon=args.dedup_horizon,
                state=args.state,
                engine=args.engine,
                case_horizon=args.case_horizon,
            )
        )
        for rule_id, reason in monitor.described:
            print(f"svcpolicy watch: {rule_id} is not run by itself: {' '.join(reason.split())}", file=sys.stderr)
        if args.events == "-":
            stream: BinaryIO | TextIO = getattr(sys.stdin, "buffer", sys.stdin)
            skip = 0
        else:
            stream = stack.enter_context(open(args.events, "rb"))
            skip = monitor.input_position
        if monitor.input_position:
            print(f"svcpolicy watch: state has consumed {monitor.input_position} input lines", file=sys.stderr)
        every = max(1, args.commit_every or (FILE_COMMIT_EVERY if args.events != "-" else 1))
        position = monitor.input_position if args.events != "-" else 0
        committed = time.monotonic()
        for number, line in _lines(stream, skip):
            position = number
            if line.strip():
                emit(monitor.feed(line), number)
            if number % every == 0 or time.monotonic() - committed >= args.commit_seconds:
                monitor.input_position = monitor.input_position if args.events == "-" else number
                monitor.commit()
                committed = time.monotonic()
        emit(monitor.flush())
        if args.events != "-":
            monitor.input_position = position
        monitor.commit()
        counts = monitor.counts
        print(
            f"svcpolicy watch: {counts.events} events, {counts.duplicates} duplicates, {counts.late} late, "
            f"{counts.invalid} invalid; {counts.violations} violations, {counts.due_soon} due-soon warnings; "
            f"{monitor.open_cases} open cases",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if violations else EXIT_OK
