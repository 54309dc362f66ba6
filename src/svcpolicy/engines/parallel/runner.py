"""Run work units in a pool of worker processes and merge their results back in input order.

On Linux, when the calling process runs no other thread, workers are forked: they start in milliseconds with
the driver's compiled policy. Otherwise (another platform, or threads — durable-rules' owner thread, a web
server's — which do not survive ``fork``) they are started with 'spawn' and receive the policy once, as its
pack's content, when they start. At most ``2 × jobs`` units are in flight, so memory stays bounded
however long the input. The driver keeps every record id seen so far (:class:`SeenIds`): a unit holding an id of
an earlier unit is judged again from those ids before it is merged, so its repeat is invalid as in one process.

The workers live as long as the generator's run: however it ends (read to the end, closed partway, or raising,
Ctrl-C included) they are terminated and waited for before it returns, in the thread that ended it. Workers ignore
Ctrl-C, which a terminal sends to the whole process group: the driver, which gets it too, stops them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from multiprocessing.pool import AsyncResult
from pathlib import Path

from svcpolicy.engine.aggregates import AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.seen_ids import SeenIds
from svcpolicy.engine.stream import RecordContexts, RecordIdentifiers
from svcpolicy.engines.parallel.plan import RecordsUnit, WorkUnit, plan_units
from svcpolicy.engines.parallel.units import UnitResult, judge_unit, repeats_before
from svcpolicy.engines.parallel.wire import from_wire
from svcpolicy.records.readers import RawRecord
from svcpolicy.results.findings import Finding, InvalidRecord
from svcpolicy.results.report import Counts, InputFailure

_WORKER_PACK: CompiledPack | None = None
"""The policy of this worker process: the driver's own when forked, else rebuilt once when the pool starts it."""


def available_cores() -> int:
    """The cores this process may run on (``--jobs 0``)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


WORKERS_PER_CORE = 4
"""The most worker processes started for each core this process may run on, whatever ``--jobs`` asks."""


def start_method() -> str:
    """How workers start: 'fork' where that is safe (Linux, one thread), which spares each worker importing
    svcpolicy and rebuilding the policy (~0.6 s of CPU); else 'spawn'."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def judge_in_parallel(
    pack: CompiledPack,
    sources: Iterable[str | Path | RawRecord],
    as_of: dt.datetime,
    *,
    jobs: int,
    encoding: str,
    counts: Counts,
    runs: Sequence[AggregateRun],
    contexts: RecordContexts | None,
    failures: list[InputFailure],
    progress: Callable[[Counts], None] | None = None,
    identifiers: RecordIdentifiers | None = None,
) -> Generator[Finding | InvalidRecord, None, None]:
    """Judge the inputs in ``jobs`` processes; yield record findings in input order and merge into the driver's
    ``counts``, ``runs`` (group findings are judged by the caller, after the last merge), contexts, identifying
    values and failures. ``jobs`` past :data:`WORKERS_PER_CORE` per core are not started: more would only add
    processes (``--jobs 100000`` once started thousands)."""
    jobs = min(jobs, WORKERS_PER_CORE * available_cores())
    context = multiprocessing.get_context(start_method())
    seen = SeenIds()
    pool = context.Pool(jobs, initializer=_start_worker, initargs=(pack,))
    try:
        in_flight: deque[tuple[WorkUnit, AsyncResult[UnitResult]]] = deque()
        keep = (contexts is not None, identifiers is not None)

        def result_of(
            unit: WorkUnit, pending: AsyncResult[UnitResult], prior: dict[int, tuple[str, int]] | None = None
        ) -> UnitResult:
            try:
                return pending.get()
            except Exception:
                if not isinstance(unit, RecordsUnit):
                    raise
                # in-memory records that cannot be pickled (holding a lambda, an object refusing it) cannot
                # travel to a worker or back: judged here, as one process judges them (a bug raises here again)
                return judge_unit(pack, unit, as_of, encoding, *keep, prior)

        def next_result() -> UnitResult:
            unit, pending = in_flight.popleft()
            result = result_of(unit, pending)
            repeats = repeats_before(seen, result)
            if repeats:
                retry = pool.apply_async(_judge_in_worker, (unit, as_of, encoding, *keep, repeats))
                result = result_of(unit, retry, repeats)
            return result

        for unit in plan_units(sources, jobs, encoding):
            in_flight.append((unit, pool.apply_async(_judge_in_worker, (unit, as_of, encoding, *keep))))
            if len(in_flight) >= 2 * jobs:
                yield from merge_result(next_result(), counts, runs, contexts, failures, identifiers)
                if progress is not None:
                    progress(counts)
        while in_flight:
            yield from merge_result(next_result(), counts, runs, contexts, failures, identifiers)
            if progress is not None:
                progress(counts)
    finally:  # read to the end, closed or raising: the workers are stopped, and gone when this returns
        pool.terminate()
        pool.join()


def merge_result(
    result: UnitResult,
    counts: Counts,
    runs: Sequence[AggregateRun],
    contexts: RecordContexts | None,
    failures: list[InputFailure],
    identifiers: RecordIdentifiers | None = None,
) -> Iterator[Finding | InvalidRecord]:
    """Fold the result of the next unit (in input order) into the evaluation's state and yield its items; a file
    it could not read joins ``failures`` between the items before and after it, where one process reports it
    (``on_input_error="raise"`` raises there)."""
    for field in dataclasses.fields(Counts):
        setattr(counts, field.name, getattr(counts, field.name) + getattr(result.counts, field.name))
    if contexts is not None and result.contexts:
        contexts.update(result.contexts)
    if identifiers is not None and result.identifiers:
        identifiers.update(result.identifiers)
    for run, tally in zip(runs, result.tallies, strict=True):
        run.merge(tally)
    items = from_wire(result.items)
    done = 0
    for before, failure in result.failures:
        yield from items[done:before]
        failures.append(failure)
        done = before
    yield from items[done:]


def _start_worker(pack: CompiledPack) -> None:
    """Keep the policy; ignore Ctrl-C, which the driver answers by stopping the pool (a worker stopped by it would
    print its traceback, and the pool would start another in its place)."""
    global _WORKER_PACK
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_PACK = pack


def _judge_in_worker(
    unit: WorkUnit,
    as_of: dt.datetime,
    encoding: str,
    keep_context: bool,
    keep_identifiers: bool,
    prior: dict[int, tuple[str, int]] | None = None,
) -> UnitResult:
    if _WORKER_PACK is None:
        raise RuntimeError("worker started without a policy")
    return judge_unit(_WORKER_PACK, unit, as_of, encoding, keep_context, keep_identifiers, prior)
