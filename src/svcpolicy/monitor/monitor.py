"""The real-time monitor: sequence rules over a stream of events, judged by event time.

``Monitor.feed(event)`` returns what the event brought to light, in a deterministic order, each with a ``seq``:

- a :class:`~svcpolicy.results.findings.Finding` (a ``within`` deadline that passed, an operation with no prior
  authorisation, a sale after a decline), citing its provisions like a record rule's finding;
- a :class:`DueSoon` warning, ``lead_days`` before a deadline;
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
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from svcpolicy.engine.programs import citation_for
from svcpolicy.errors import CalendarNotCovered
from svcpolicy.pack.schema import Severity
from svcpolicy.pack.sequences import PLACEHOLDER, Extension, Pattern, SequenceRule
from svcpolicy.policy import Policy, load_policy
from svcpolicy.records.events import Event, parse_event
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, PackRef, RecordRef

__all__ = ["Alert", "DueSoon", "LateEvent", "Monitor", "MonitorCounts"]

MonitorEngine = Literal["durable", "python"]
SNAPSHOT_VERSION = 1
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class DueSoon:
    """A ``within`` deadline is near: ``lead_days`` or less before its end, and the case is still open."""

    rule: str
    title: str
    severity: Severity
    citations: tuple[Citation, ...]
    record: RecordRef
    message_zh: str
    message_en: str
    pack: PackRef
    evidence: dict[str, Any]

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "due-soon",
            "rule": self.rule,
            "title": self.title,
            "severity": str(self.severity),
            "record": self.record.to_dict(),
            "citations": [c.to_dict() for c in self.citations],
            "message": {"zh": self.message_zh, "en": self.message_en},
            "evidence": self.evidence,
            "pack": self.pack.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class LateEvent:
    """An event that arrived after the watermark had passed it by more than the allowance."""

    event: str
    type: str
    at: str
    watermark: str
    allowance_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "late-event",
            "event": self.event,
            "type": self.type,
            "at": self.at,
            "watermark": self.watermark,
            "allowance_seconds": self.allowance_seconds,
            "applied": True,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One output of the monitor, numbered: its ``seq`` is stable across restarts and replays."""

    seq: int
    item: Finding | DueSoon | LateEvent | InvalidRecord

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.item.to_dict()}


@dataclass
class MonitorCounts:
    events: int = 0
    duplicates: int = 0
    late: int = 0
    invalid: int = 0
    violations: int = 0
    undetermined: int = 0
    due_soon: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Case:
    """An open case of one sequence rule: what opened it, and for ``within`` rules its period."""

    rule: str
    key: list[Any]
    opened_at: str
    opened_by: str
    start: str | None = None  # within: the opening day (pack time zone)
    first_due: str | None = None
    allowed_days: int | None = None
    due: str | None = None
    warned: str | None = None  # the due date a warning was given for

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Compiled:
    rule: SequenceRule
    citations: tuple[Citation, ...]


def _ts(moment: dt.datetime) -> float:
    return moment.timestamp()


def _key_text(values: Iterable[Any]) -> str:
    return orjson.dumps(list(values)).decode()


def _render(text: str, names: Mapping[str, Any]) -> str:
    def value(match: Any) -> str:
        found = names.get(match.group(1))
        return "?" if found is None else str(found)

    return PLACEHOLDER.sub(value, text)


@dataclass
class _State:
    cases: dict[str, _Case] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    pending: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (at, event JSON)
    watermark: float | None = None
    clock: float | None = None
    seq: int = 0
    counts: MonitorCounts = field(default_factory=MonitorCounts)


class Monitor:
    """Sequence rules of a pack over an event stream. Not thread-safe: one monitor per stream (and thread).

    ``allowance``: how far behind the watermark an event may arrive and still be put in order; ``lead_days``:
    how early a deadline warns; ``dedup_horizon``: how long ids are remembered; ``state``: a SQLite file that
    keeps the state across restarts (restored when it exists); ``engine``: ``durable`` runs the
    ``preceded-by``/``not-after`` rules in durable-rules, ``python`` in plain Python (same findings).
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
    ) -> None:
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.allowance = allowance.total_seconds()
        self.lead = lead_days * DAY
        self.horizon = max(dedup_horizon.total_seconds(), self.allowance)
        self.engine = engine
        pack = self.policy.definition
        self.sequences = [
            _Compiled(rule, tuple(citation_for(pack, ref) for ref in rule.cite)) for rule in pack.sequences
        ]
        self.described = [(s.rule.id, s.rule.reason or "") for s in self.sequences if s.rule.kind == "described"]
        self._by_event: dict[str, list[tuple[_Compiled, str, Pattern | Extension]]] = {}
        for compiled in self.sequences:
            rule = compiled.rule
            if rule.kind == "described":
                continue
            roles: list[tuple[str, Pattern | Extension]] = [("checks", rule.checks)] if rule.checks else []
            roles += [("closes", p) for p in rule.closes]
            roles += [("extends", e) for e in rule.extensions()]
            roles += [("opens", rule.opens)] if rule.opens else []
            for role, pattern in roles:
                self._by_event.setdefault(pattern.event, []).append((compiled, role, pattern))
        self._rules = {s.rule.id: s for s in self.sequences}
        self._durable: Any = None
        if engine == "durable":
            from svcpolicy.monitor.durable_sequences import DurableSequences

            checked = [s.rule.id for s in self.sequences if s.rule.kind in ("preceded-by", "not-after")]
            self._durable = DurableSequences(checked)
        elif engine != "python":
            raise ValueError(f"engine is 'durable' or 'python', not {engine!r}")
        self._s = _State()
        self._deadlines: list[tuple[float, str, str]] = []  # (end, case id, due) - stale entries are skipped
        self._warnings: list[tuple[float, str, str]] = []
        self._pending_heap: list[tuple[float, str]] = []
        self._seen_heap: list[tuple[float, str]] = []
        self._store: _Store | None = None
        self._dirty: set[str] = set()
        self._seen_new: dict[str, float] = {}
        self._seen_gone: set[str] = set()
        self._pending_gone: set[str] = set()
        self._pending_new: set[str] = set()
        self.input_position = 0  # how many input items the committed state has consumed (set by callers)
        if state is not None:
            self._store = _Store(Path(state))
            snapshot = self._store.load()
            if snapshot is not None:
                self._restore(snapshot, from_store=True)

    # -- the public surface ---------------------------------------------------------------------------

    @property
    def counts(self) -> MonitorCounts:
        return self._s.counts

    @property
    def open_cases(self) -> int:
        return len(self._s.cases)

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
        at = _ts(parsed.at)
        s.counts.events += 1
        self._remember(parsed.id, at)
        if s.watermark is not None and at < s.watermark - self.allowance:
            s.counts.late += 1
            late = LateEvent(parsed.id, parsed.type, parsed.at.isoformat(), self._iso(s.watermark), self.allowance)
            out.append(self._alert(late))
            self._process(parsed, out)
            return out
        s.watermark = at if s.watermark is None else max(s.watermark, at)
        s.pending[parsed.id] = (at, parsed.model_dump_json())
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
        self._dirty.clear()
        self._seen_new.clear()
        self._seen_gone.clear()
        self._pending_new.clear()
        self._pending_gone.clear()

    def commit(self) -> None:
        """Write the state changed since the last commit to the SQLite file (one transaction)."""
        if self._store is None:
            return
        s = self._s
        self._store.save(
            meta={
                "version": SNAPSHOT_VERSION,
                "watermark": s.watermark,
                "clock": s.clock,
                "seq": s.seq,
                "counts": s.counts.to_dict(),
                "input_position": self.input_position,
            },
            cases={cid: (s.cases[cid].to_json() if cid in s.cases else None) for cid in self._dirty},
            seen_new=self._seen_new,
            seen_gone=self._seen_gone,
            pending_new={k: s.pending[k] for k in self._pending_new if k in s.pending},
            pending_gone=self._pending_gone - self._pending_new,
        )
        self._forget_changes()

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data; :meth:`restore` (or a new Monitor's) takes it back."""
        s = self._s
        return {
            "version": SNAPSHOT_VERSION,
            "watermark": s.watermark,
            "clock": s.clock,
            "seq": s.seq,
            "counts": s.counts.to_dict(),
            "input_position": self.input_position,
            "cases": {cid: case.to_json() for cid, case in s.cases.items()},
            "seen": dict(s.seen),
            "pending": {k: list(v) for k, v in s.pending.items()},
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with a snapshot's (with ``state=``, the next commit writes it whole)."""
        self._restore(snapshot, from_store=False)

    def _restore(self, snapshot: Mapping[str, Any], *, from_store: bool) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"not a monitor snapshot of version {SNAPSHOT_VERSION}")
        if self._durable is not None:
            for case in self._s.cases.values():
                if self._rules[case.rule].rule.kind != "within":
                    self._durable.close(case.rule, _key_text(case.key))
        s = _State(
            cases={cid: _Case(**body) for cid, body in snapshot["cases"].items()},
            seen=dict(snapshot["seen"]),
            pending={k: (float(v[0]), str(v[1])) for k, v in snapshot["pending"].items()},
            watermark=snapshot["watermark"],
            clock=snapshot["clock"],
            seq=snapshot["seq"],
            counts=MonitorCounts(**snapshot["counts"]),
        )
        self._s = s
        self.input_position = int(snapshot.get("input_position", 0))
        self._deadlines, self._warnings = [], []
        for cid, case in s.cases.items():
            if case.due is not None:
                self._schedule(cid, case)
            elif self._durable is not None:
                self._durable.open(case.rule, _key_text(case.key))
        self._pending_heap = [(at, eid) for eid, (at, _) in s.pending.items()]
        heapq.heapify(self._pending_heap)
        self._seen_heap = [(at, eid) for eid, at in s.seen.items()]
        heapq.heapify(self._seen_heap)
        if from_store:
            return
        self._dirty = set(s.cases)
        self._seen_new, self._seen_gone = dict(s.seen), set()
        self._pending_new, self._pending_gone = set(s.pending), set()
        if self._store is not None:
            self._store.clear()

    def close(self) -> None:
        if self._durable is not None:
            self._durable.shutdown()
            self._durable = None
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
            self._process(parse_event(body), out)

    def _advance(self, now: float, out: list[Alert]) -> None:
        """Let time pass up to ``now``: warnings and deadlines due by then fire, in time order."""
        s = self._s
        if s.clock is not None and now <= s.clock:
            return
        deadlines, warnings = self._deadlines, self._warnings
        while True:
            warn = warnings[0] if warnings and warnings[0][0] <= now else None
            miss = deadlines[0] if deadlines and deadlines[0][0] <= now else None
            if warn is None and miss is None:
                break
            if warn is not None and (miss is None or warn[0] <= miss[0]):
                heapq.heappop(warnings)
                case = s.cases.get(warn[1])
                if case is not None and case.due == warn[2] and case.warned != case.due:
                    case.warned = case.due  # a deadline already past gets its violation, not a warning
                    if now >= warn[0] + self.lead:
                        continue
                    self._dirty.add(warn[1])
                    out.append(self._alert(self._due_soon(case, now)))
            elif miss is not None:
                heapq.heappop(deadlines)
                case = s.cases.get(miss[1])
                if case is not None and case.due == miss[2]:
                    self._drop(miss[1])
                    out.append(self._alert(self._missed(case, now)))
        s.clock = now

    # -- applying one event -------------------------------------------------------------------------------

    def _process(self, event: Event, out: list[Alert]) -> None:
        self._advance(_ts(event.at), out)
        for compiled, role, pattern in self._by_event.get(event.type, ()):
            rule = compiled.rule
            if isinstance(pattern, Extension):
                self._extend(compiled, pattern, event)
                continue
            if not self._matches(pattern, event):
                continue
            key = [event.field(f) for f in pattern.key]
            cid = f"{rule.id}\x1f{_key_text(key)}"
            if role == "checks":
                has_case = self._has_case(rule.id, cid, key)
                if has_case == (rule.kind == "not-after"):
                    out.append(self._alert(self._breach(compiled, event, pattern, cid)))
            elif role == "closes":
                if cid in self._s.cases:
                    self._drop(cid)
            elif cid not in self._s.cases:
                self._open(compiled, event, key, cid, out)

    def _params(self, at: dt.datetime) -> Mapping[str, Any]:
        return self.policy.parameters.for_record({"started_at": at})

    def _matches(self, pattern: Pattern, event: Event) -> bool:
        for name, expected in pattern.where.items():
            if event.field(name) != expected:
                return False
        if pattern.where_in:
            params = self._params(event.at)
            for name, parameter in pattern.where_in.items():
                if event.field(name) not in params[parameter]:
                    return False
        return True

    def _has_case(self, rule_id: str, cid: str, key: list[Any]) -> bool:
        if self._durable is not None:
            found: bool = self._durable.matches(rule_id, _key_text(key))
            return found
        return cid in self._s.cases

    def _open(self, compiled: _Compiled, event: Event, key: list[Any], cid: str, out: list[Alert]) -> None:
        rule = compiled.rule
        case = _Case(rule.id, key, event.at.isoformat(), event.id)
        if rule.kind == "within":
            start = event.at.astimezone(self.policy.tz).date()
            days = int(self._params(event.at)[rule.period.days if rule.period else ""])
            try:
                due = self.policy.calendar.calendar_deadline(start, days)
            except CalendarNotCovered as exc:
                out.append(self._alert(self._undetermined(compiled, case, str(exc))))
                return
            case.start, case.first_due, case.allowed_days, case.due = (
                start.isoformat(),
                due.isoformat(),
                days,
                due.isoformat(),
            )
            self._schedule(cid, case)
        elif self._durable is not None:
            self._durable.open(rule.id, _key_text(key))
        self._s.cases[cid] = case
        self._dirty.add(cid)

    def _drop(self, cid: str) -> None:
        case = self._s.cases.pop(cid)
        self._dirty.add(cid)
        if case.due is None and self._durable is not None:
            self._durable.close(case.rule, _key_text(case.key))

    def _schedule(self, cid: str, case: _Case) -> None:
        due = case.due or ""
        end = _ts(dt.datetime.combine(dt.date.fromisoformat(due) + dt.timedelta(days=1), dt.time(), self.policy.tz))
        heapq.heappush(self._deadlines, (end, cid, due))
        if case.warned != due:
            heapq.heappush(self._warnings, (end - self.lead, cid, due))

    def _extend(self, compiled: _Compiled, ext: Extension, event: Event) -> None:
        rule = compiled.rule
        cid = f"{rule.id}\x1f{_key_text(event.field(f) for f in rule.opens_key)}"
        case = self._s.cases.get(cid)
        if case is None or case.start is None or case.allowed_days is None:
            return
        params = self._params(dt.datetime.fromisoformat(case.opened_at))
        to_days = int(params[ext.to_days])
        notified: dt.datetime | None = event.field("notified_at")
        if event.field("to_days") != to_days or to_days <= case.allowed_days:
            return
        if ext.notice and notified is None:
            return
        first_due = dt.date.fromisoformat(case.first_due or "")
        if (
            ext.notice_by == "first-period"
            and notified is not None
            and notified.astimezone(self.policy.tz).date() > first_due
        ):
            return
        levels = params[ext.approval_levels] if ext.approval_levels is not None else None
        if levels is not None and (event.field("approved_by") is None or event.field("approver_level") not in levels):
            return
        try:
            due = self.policy.calendar.calendar_deadline(dt.date.fromisoformat(case.start), to_days)
        except CalendarNotCovered:
            return  # keeps the shorter, known deadline
        case.allowed_days, case.due = to_days, due.isoformat()
        self._dirty.add(cid)
        self._schedule(cid, case)

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

    def _names(self, case: _Case, key_fields: list[str]) -> dict[str, Any]:
        names: dict[str, Any] = {"rule": case.rule, "case": "/".join(str(v) for v in case.key)}
        names.update(zip(key_fields, case.key, strict=True))
        names.update(opened_at=case.opened_at, opened_by=case.opened_by)
        return names

    def _finding(
        self, compiled: _Compiled, ref: RecordRef, names: dict[str, Any], outcome: Outcome, reason: str | None = None
    ) -> Finding:
        rule = compiled.rule
        if outcome is Outcome.VIOLATION and rule.message is not None:
            zh, en = _render(rule.message.zh, names), _render(rule.message.en, names)
        else:
            zh, en = f"无法判定：{reason}", f"Cannot decide: {reason}"
        return Finding(
            rule=rule.id,
            title=rule.title,
            severity=rule.severity,
            outcome=outcome,
            citations=compiled.citations,
            record=ref,
            message_zh=zh,
            message_en=en,
            pack=self.policy.ref,
            evidence=names,
            reason=reason,
        )

    def _within_names(self, case: _Case, at: float) -> dict[str, Any]:
        compiled = self._rules[case.rule]
        names = self._names(case, compiled.rule.opens_key)
        when = dt.datetime.fromtimestamp(at, self.policy.tz)
        names.update(
            due=case.due,
            allowed_days=case.allowed_days,
            judged_on=when.date().isoformat(),
            at=when.isoformat(),
            lead_days=self.lead / DAY,
        )
        return names

    def _missed(self, case: _Case, now: float) -> Finding:
        names = self._within_names(case, now)
        return self._finding(self._rules[case.rule], RecordRef(names["case"]), names, Outcome.VIOLATION)

    def _due_soon(self, case: _Case, at: float) -> DueSoon:
        compiled = self._rules[case.rule]
        rule = compiled.rule
        names = self._within_names(case, at)
        return DueSoon(
            rule=rule.id,
            title=rule.title,
            severity=rule.severity,
            citations=compiled.citations,
            record=RecordRef(names["case"]),
            message_zh=f"{names['case']}：期限 {case.due} 将至（{rule.title}）",
            message_en=f"{names['case']}: due {case.due} ({rule.title})",
            pack=self.policy.ref,
            evidence=names,
        )

    def _undetermined(self, compiled: _Compiled, case: _Case, reason: str) -> Finding:
        names = self._names(case, compiled.rule.opens_key)
        return self._finding(compiled, RecordRef(names["case"]), names, Outcome.UNDETERMINED, reason)

    def _breach(self, compiled: _Compiled, event: Event, pattern: Pattern, cid: str) -> Finding:
        key = [event.field(f) for f in pattern.key]
        opened = self._s.cases.get(cid)
        names: dict[str, Any] = {"rule": compiled.rule.id, "case": "/".join(str(v) for v in key)}
        names.update(zip(pattern.key, key, strict=True))
        names.update(zip(compiled.rule.opens_key, key, strict=True))
        names.update(
            event=event.id,
            event_type=event.type,
            at=event.at.isoformat(),
            opened_at=opened.opened_at if opened else None,
            opened_by=opened.opened_by if opened else None,
        )
        return self._finding(compiled, RecordRef(names["case"], path=f"event:{event.id}"), names, Outcome.VIOLATION)


class _Store:
    """The monitor's state in SQLite (WAL): safe against a killed process; one writer."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, at REAL NOT NULL, body TEXT NOT NULL);
            """
        )

    def load(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT v FROM meta WHERE k = 'state'").fetchone()
        if row is None:
            return None
        snapshot: dict[str, Any] = json.loads(row[0])
        snapshot["cases"] = {cid: json.loads(body) for cid, body in self.db.execute("SELECT id, body FROM cases")}
        snapshot["seen"] = dict(self.db.execute("SELECT id, at FROM seen"))
        snapshot["pending"] = {eid: [at, body] for eid, at, body in self.db.execute("SELECT id, at, body FROM pending")}
        return snapshot

    def clear(self) -> None:
        """Forget the stored rows: a restore writes the whole state again on the next commit."""
        self.db.execute("BEGIN")
        for table in ("meta", "cases", "seen", "pending"):
            self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self.db.execute("COMMIT")

    def save(
        self,
        *,
        meta: dict[str, Any],
        cases: dict[str, dict[str, Any] | None],
        seen_new: dict[str, float],
        seen_gone: set[str],
        pending_new: dict[str, tuple[float, str]],
        pending_gone: set[str],
    ) -> None:
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('state', ?)", (json.dumps(meta),))
            db.executemany(
                "INSERT OR REPLACE INTO cases VALUES (?, ?)",
                [(cid, json.dumps(body)) for cid, body in cases.items() if body is not None],
            )
            db.executemany("DELETE FROM cases WHERE id = ?", [(cid,) for cid, body in cases.items() if body is None])
            db.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?)", list(seen_new.items()))
            db.executemany("DELETE FROM seen WHERE id = ?", [(k,) for k in seen_gone])
            db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", [(k, at, b) for k, (at, b) in pending_new.items()]
            )
            db.executemany("DELETE FROM pending WHERE id = ?", [(k,) for k in pending_gone])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()
