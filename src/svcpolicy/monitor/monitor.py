"""The real-time monitor: sequence rules over a stream of events, judged by event time.

``Monitor.feed(event)`` returns what the event brought to light, in a deterministic order, each with a ``seq``:

- a :class:`~svcpolicy.results.findings.Finding` (a ``within`` deadline that passed, an operation with no prior
  authorisation, a sale after a decline), citing its provisions like a record rule's finding; or an undetermined
  one, when only a holiday schedule that is not known could tell whether a deadline has passed;
- a :class:`DueSoon` warning, ``lead_days`` before a deadline (the earliest it can be);
- a :class:`LateEvent`: an event older than the watermark by more than ``allowance`` (reported, then applied);
- an :class:`~svcpolicy.results.findings.InvalidRecord` for an event that fails the event model.

Time is the events' own: a deadline is missed when an event (or a ``clock`` tick) later than 24:00 of its last
day is processed. Events wait in a reorder buffer until the watermark (the latest ``at`` seen) is ``allowance``
past them, then are processed in ``(at, id)`` order, so a stream shuffled within the allowance gives exactly
the same output. A repeated id is a duplicate: ignored and counted (ids are remembered ``dedup_horizon``
behind the watermark).

State (open cases, the buffer, remembered ids, counters) is a plain JSON-able snapshot; with ``state=PATH``
it is kept in SQLite and committed by :meth:`Monitor.commit`. Outputs are numbered from the state, so a monitor
killed between commits and restarted from its last commit gives the same outputs with the same ``seq``
(consumers keep the first of a ``seq`` seen twice).
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from svcpolicy.monitor.alerts import Alert, DueSoon, LateEvent, MonitorCounts
from svcpolicy.monitor.cases import DAY, Cases, MonitorEngine, timestamp
from svcpolicy.monitor.durable_sequences import durable_available
from svcpolicy.monitor.store import MonitorStateError, StateStore
from svcpolicy.policy import Policy, load_policy
from svcpolicy.records.events import Event, parse_event
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef

SNAPSHOT_VERSION = 1
_log = logging.getLogger(__name__)


@dataclass
class _Stream:
    """The stream's side of the state: remembered ids, the reorder buffer, the watermark, the numbering."""

    seen: dict[str, float] = field(default_factory=dict)
    pending: dict[str, tuple[float, str | Event]] = field(default_factory=dict)
    """id -> (at, event): its JSON when restored, the parsed event when buffered by this process (written as JSON
    only if a commit finds it still buffered: with no allowance, most events leave the buffer as they enter)."""
    watermark: float | None = None
    seq: int = 0
    counts: MonitorCounts = field(default_factory=MonitorCounts)


def _stream_of(snapshot: Mapping[str, Any]) -> _Stream:
    """The stream's state from a snapshot, each value of the type a monitor writes (TypeError, ValueError else)."""
    seen = {str(key): _number(at, "seen") for key, at in dict(snapshot["seen"]).items()}
    pending: dict[str, tuple[float, str | Event]] = {}
    for key, (at, body) in dict(snapshot["pending"]).items():
        if not isinstance(body, str):
            raise TypeError(f"pending event {key!r} is not JSON text")
        try:  # released events later; one that does not parse is refused now
            parse_event(body)
        except ValidationError:
            raise ValueError(f"pending event {key!r} is not an event") from None
        pending[str(key)] = (_number(at, "pending"), body)
    counts = dict(snapshot["counts"])
    if any(type(value) is not int or value < 0 for value in counts.values()):
        raise ValueError("counts are not whole numbers")
    seq = snapshot["seq"]
    if type(seq) is not int or seq < 0:
        raise ValueError(f"seq {seq!r} is not a whole number")
    watermark = _number_or_none(snapshot["watermark"], "watermark")
    return _Stream(seen=seen, pending=pending, watermark=watermark, seq=seq, counts=MonitorCounts(**counts))


def _event_json(body: str | Event) -> str:
    """A buffered event as the state keeps it: JSON text, an absent field left absent."""
    return body if isinstance(body, str) else body.model_dump_json(exclude_unset=True)


def _number(value: Any, name: str) -> float:
    if type(value) not in (int, float) or value != value:  # bool, text, NaN
        raise TypeError(f"{name}: {value!r} is not a time")
    return float(value)


def _number_or_none(value: Any, name: str) -> float | None:
    return None if value is None else _number(value, name)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Monitor:
    """Sequence rules of a pack over an event stream. Not thread-safe: one monitor per stream (and thread).

    ``allowance``: how far behind the watermark an event may arrive and still be put in order; ``lead_days``:
    how early a deadline warns; ``dedup_horizon``: how long ids are remembered; ``state``: a SQLite file that
    keeps the state across restarts (restored when it exists); ``engine``: ``durable`` runs the
    ``preceded-by``/``not-after`` rules in durable-rules, ``python`` in plain Python (same findings);
    ``case_horizon``: how long an authorisation, decline, disclosure or consent counts after its latest event
    (default: until its closing event, so those cases grow with the number of distinct keys in the stream).

    The state file belongs to one pack: it records the pack's id, version and sequence rule ids, and resuming it
    under another is refused (:class:`MonitorStateError`), as is a second monitor on the same file.
    """

    def __init__(
        self,
        policy: Policy | str | Path | None = None,
        *,
        allowance: dt.timedelta = dt.timedelta(0),
        lead_days: float = 3,
        dedup_horizon: dt.timedelta = dt.timedelta(days=30),
        state: str | Path | None = None,
        engine: MonitorEngine = "durable",
        case_horizon: dt.timedelta | None = None,
    ) -> None:
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.allowance = allowance.total_seconds()
        self.lead = lead_days * DAY
        self.horizon = max(dedup_horizon.total_seconds(), self.allowance)
        if engine == "durable" and not durable_available():
            _log.warning(
                "durable-rules is not installed (pip install 'svcpolicy[durable]'): the monitor uses its Python "
                "engine, with the same findings"
            )
            engine = "python"
        self.engine = engine
        horizon = None if case_horizon is None else case_horizon.total_seconds()
        self._cases = Cases(self.policy, self.lead, engine, horizon)
        self.described = self._cases.described
        self._s = _Stream()
        self._pending_heap: list[tuple[float, str]] = []
        self._seen_heap: list[tuple[float, str]] = []
        self._store: StateStore | None = None
        self._seen_new: dict[str, float] = {}
        self._seen_gone: set[str] = set()
        self._pending_gone: set[str] = set()
        self._pending_new: set[str] = set()
        self.input_position = 0  # how many input items the committed state has consumed (set by callers)
        if state is not None:
            self._store = StateStore(Path(state))
            try:
                snapshot = self._store.load()
                if snapshot is not None:
                    self._restore(snapshot, from_store=True)
            except BaseException:
                self.close()
                raise

    # -- the public surface ---------------------------------------------------------------------------

    @property
    def counts(self) -> MonitorCounts:
        return self._s.counts

    @property
    def open_cases(self) -> int:
        return len(self._cases.by_id)

    def feed(self, event: Event | Mapping[str, Any] | str | bytes) -> list[Alert]:
        """Take one event (a model, a mapping or JSON text); return the outputs it caused, in order."""
        out: list[Alert] = []
        if not isinstance(event, Mapping | str | bytes):
            parsed: Event = event
        else:
            try:
                parsed = parse_event(event)
            except ValidationError as exc:
                return [self._invalid(event, exc)]
        s = self._s
        if parsed.id in s.seen:
            s.counts.duplicates += 1
            return out
        at = timestamp(parsed.at)
        s.counts.events += 1
        self._remember(parsed.id, at)
        if s.watermark is not None and at < s.watermark - self.allowance:
            s.counts.late += 1
            late = LateEvent(parsed.id, parsed.type, parsed.at.isoformat(), self._iso(s.watermark), self.allowance)
            out.append(self._alert(late))
            self._process(parsed, out)
            return out
        s.watermark = at if s.watermark is None else max(s.watermark, at)
        s.pending[parsed.id] = (at, parsed)
        self._pending_new.add(parsed.id)
        heapq.heappush(self._pending_heap, (at, parsed.id))
        self._release(s.watermark - self.allowance, out)
        self._prune_seen()
        if self._store is None:
            self._forget_changes()
        return out

    def feed_all(self, events: Iterable[Event | Mapping[str, Any] | str | bytes]) -> Iterator[Alert]:
        for event in events:
            yield from self.feed(event)

    def flush(self) -> list[Alert]:
        """Process every buffered event (end of a stream, or before a snapshot meant as final)."""
        out: list[Alert] = []
        self._release(float("inf"), out)
        if self._store is None:
            self._forget_changes()
        return out

    def _forget_changes(self) -> None:
        """Without a state file nothing is written, so the record of what changed is not kept either."""
        self._cases.dirty.clear()
        self._seen_new.clear()
        self._seen_gone.clear()
        self._pending_new.clear()
        self._pending_gone.clear()

    def commit(self) -> None:
        """Write the state changed since the last commit to the SQLite file (one transaction)."""
        if self._store is None:
            return
        s, cases = self._s, self._cases
        self._store.save(
            meta=self._position(),
            cases={cid: (cases.by_id[cid].to_json() if cid in cases.by_id else None) for cid in cases.dirty},
            seen_new=self._seen_new,
            seen_gone=self._seen_gone,
            pending_new={
                k: (s.pending[k][0], _event_json(s.pending[k][1])) for k in self._pending_new if k in s.pending
            },
            pending_gone=self._pending_gone - self._pending_new,
        )
        self._forget_changes()

    def _position(self) -> dict[str, Any]:
        """Where the stream stands (watermark, clock, numbering, counts, input position) and under which pack."""
        return {
            "version": SNAPSHOT_VERSION,
            "watermark": self._s.watermark,
            "clock": self._cases.clock,
            "seq": self._s.seq,
            "counts": self._s.counts.to_dict(),
            "input_position": self.input_position,
            "pack": self._pack_identity(),
        }

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data; :meth:`restore` (or a new Monitor's) takes it back."""
        s, cases = self._s, self._cases
        return {
            **self._position(),
            "cases": {cid: case.to_json() for cid, case in cases.by_id.items()},
            "seen": dict(s.seen),
            "pending": {k: [at, _event_json(body)] for k, (at, body) in s.pending.items()},
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with a snapshot's (with ``state=``, the next commit writes it whole)."""
        self._restore(snapshot, from_store=False)

    def _restore(self, snapshot: Mapping[str, Any], *, from_store: bool) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise MonitorStateError(f"not a monitor snapshot of version {SNAPSHOT_VERSION}")
        self._check_pack(snapshot.get("pack"))
        try:  # a state edited by hand or by another program: refused as a whole here, not a crash events later
            s = _stream_of(snapshot)
            self._cases.restore(snapshot["cases"], _number_or_none(snapshot["clock"], "clock"))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:  # ValidationError too
            raise MonitorStateError(
                f"the monitor state holds what no monitor writes ({_first_line(exc)}); it was left untouched: "
                "restore a backup, or start a new state file"
            ) from exc
        self._s = s
        self.input_position = int(snapshot.get("input_position", 0))
        self._pending_heap = [(at, eid) for eid, (at, _) in s.pending.items()]
        heapq.heapify(self._pending_heap)
        self._seen_heap = [(at, eid) for eid, at in s.seen.items()]
        heapq.heapify(self._seen_heap)
        if from_store:
            return
        self._cases.dirty = set(self._cases.by_id)
        self._seen_new, self._seen_gone = dict(s.seen), set()
        self._pending_new, self._pending_gone = set(s.pending), set()
        if self._store is not None:
            self._store.clear()

    def _pack_identity(self) -> dict[str, Any]:
        """What the state belongs to: the pack's id and version, and the ids of the sequence rules it runs."""
        return {
            "id": self.policy.id,
            "version": self.policy.version,
            "sequences": sorted(s.rule.id for s in self._cases.sequences),
        }

    def _check_pack(self, recorded: Any) -> None:
        """Refuse a state written under another pack, another version or other sequence rules: its cases would
        be judged by rules they were not opened under (or name rules that no longer exist)."""
        mine = self._pack_identity()
        if recorded == mine:
            return
        if not isinstance(recorded, Mapping):
            raise MonitorStateError(
                "the monitor state does not say which pack it belongs to (written by an older svcpolicy); "
                "start a new state file"
            )
        differences = []
        if (recorded.get("id"), recorded.get("version")) != (mine["id"], mine["version"]):
            differences.append(
                f"it was written by pack {recorded.get('id')} {recorded.get('version')}, "
                f"this is {mine['id']} {mine['version']}"
            )
        gone = sorted(set(recorded.get("sequences", ())) - set(mine["sequences"]))
        new = sorted(set(mine["sequences"]) - set(recorded.get("sequences", ())))
        if gone:
            differences.append(f"sequence rules no longer in the pack: {', '.join(gone)}")
        if new:
            differences.append(f"sequence rules not in the state: {', '.join(new)}")
        raise MonitorStateError(
            f"the monitor state belongs to another pack ({'; '.join(differences)}); resume with the pack it was "
            "written by, or start a new state file"
        )

    def close(self) -> None:
        """Stop the durable-rules thread (if any) and close the state file (if any)."""
        self._cases.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ordering, time, duplicates ---------------------------------------------------------------------

    def _iso(self, ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, self.policy.tz).isoformat()

    def _remember(self, event_id: str, at: float) -> None:
        self._s.seen[event_id] = at
        self._seen_new[event_id] = at
        self._seen_gone.discard(event_id)
        heapq.heappush(self._seen_heap, (at, event_id))

    def _prune_seen(self) -> None:
        s = self._s
        if s.watermark is None:
            return
        horizon = s.watermark - self.horizon
        heap = self._seen_heap
        while heap and heap[0][0] < horizon:
            _, event_id = heapq.heappop(heap)
            if event_id in s.seen and event_id not in s.pending:
                del s.seen[event_id]
                self._seen_gone.add(event_id)
                self._seen_new.pop(event_id, None)

    def _release(self, upto: float, out: list[Alert]) -> None:
        s, heap = self._s, self._pending_heap
        while heap and heap[0][0] <= upto:
            _, event_id = heapq.heappop(heap)
            _, body = s.pending.pop(event_id)
            self._pending_gone.add(event_id)
            self._process(parse_event(body) if isinstance(body, str) else body, out)

    def _process(self, event: Event, out: list[Alert]) -> None:
        """Apply one event to the cases, in event-time order; number what it brought to light."""
        out.extend(self._alert(item) for item in self._cases.apply(event))

    # -- outputs ---------------------------------------------------------------------------------------

    def _alert(self, item: Finding | DueSoon | LateEvent | InvalidRecord) -> Alert:
        s = self._s
        s.seq += 1
        if isinstance(item, Finding):
            if item.outcome is Outcome.VIOLATION:
                s.counts.violations += 1
            else:
                s.counts.undetermined += 1
        elif isinstance(item, DueSoon):
            s.counts.due_soon += 1
        return Alert(s.seq, item)

    def _invalid(self, raw: Mapping[str, Any] | str | bytes, exc: ValidationError) -> Alert:
        self._s.counts.invalid += 1
        event_id: Any = raw.get("id") if isinstance(raw, Mapping) else None
        if event_id is None and isinstance(raw, str | bytes):
            try:
                data = json.loads(raw)
                event_id = data.get("id") if isinstance(data, dict) else None
            except ValueError:
                event_id = None
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}" for err in exc.errors())
        return self._alert(InvalidRecord(RecordRef(None if event_id is None else str(event_id)), problems))
