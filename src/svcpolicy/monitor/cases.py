"""The sequence rules' state machine: open cases, and what each event (in event-time order) does to them.

An event may open a case (an authorisation granted, a complaint received), close it, extend a ``within``
deadline, or be checked against the open cases (``preceded-by`` is breached when no case is open for the event's
key, ``not-after`` when one is). Time passing, as the events' own ``at``, fires the warnings and deadlines due by
then. :class:`Cases` decides all of this and returns what it found; the :class:`~svcpolicy.monitor.Monitor`
around it puts events in order, drops duplicates, numbers the outputs and keeps the state.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from svcpolicy.engine.programs import citation_for
from svcpolicy.errors import CalendarNotCovered
from svcpolicy.monitor.alerts import DueSoon, due_soon, sequence_undetermined, sequence_violation
from svcpolicy.monitor.durable_sequences import DurableSequences
from svcpolicy.pack.sequences import Extension, Pattern, SequenceRule
from svcpolicy.policy import Policy
from svcpolicy.records.events import Event
from svcpolicy.results.findings import Citation, Finding, RecordRef

MonitorEngine = Literal["durable", "python"]
DAY = 86400.0

Found = Finding | DueSoon
"""What a case can bring to light: a finding (breach, missed deadline, undetermined) or a warning."""


@dataclass
class Case:
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
    renewed_at: str | None = None  # preceded-by/not-after, with a case horizon: the latest opening event's time

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CompiledSequence:
    """A sequence rule with its citations resolved against the pack's sources."""

    rule: SequenceRule
    citations: tuple[Citation, ...]


def timestamp(moment: dt.datetime) -> float:
    return moment.timestamp()


def key_text(values: Iterable[Any]) -> str:
    """A case key as text: the case id's second half, and the key durable-rules matches on."""
    return orjson.dumps(list(values)).decode()


class Cases:
    """The open cases of a pack's sequence rules, and the deadlines and warnings they have scheduled.

    ``engine``: ``durable`` answers ``preceded-by``/``not-after`` checks with durable-rules, ``python`` with the
    cases themselves (same findings). ``dirty`` collects the ids of cases changed since its owner last cleared it.

    ``horizon`` (seconds, or None): how long a ``preceded-by``/``not-after`` case counts after its latest opening
    event (an authorisation, a decline, a disclosure, a consent); such cases close only by their ``closes``
    events, so without a horizon they are kept for as long as the stream runs. ``within`` cases always end by
    their closing event or their deadline.
    """

    def __init__(self, policy: Policy, lead: float, engine: MonitorEngine, horizon: float | None = None) -> None:
        self.policy = policy
        self.lead = lead
        self.horizon = horizon
        pack = policy.definition
        self.sequences = [
            CompiledSequence(rule, tuple(citation_for(pack, ref) for ref in rule.cite)) for rule in pack.sequences
        ]
        self._by_event: dict[str, list[tuple[CompiledSequence, str, Pattern | Extension]]] = {}
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
        self.durable: DurableSequences | None = None
        if engine == "durable":
            checked = [s.rule.id for s in self.sequences if s.rule.kind in ("preceded-by", "not-after")]
            self.durable = DurableSequences(checked)
        elif engine != "python":
            raise ValueError(f"engine is 'durable' or 'python', not {engine!r}")
        self.by_id: dict[str, Case] = {}
        self.clock: float | None = None
        self.dirty: set[str] = set()
        self._deadlines: list[tuple[float, str, str]] = []  # (end, case id, due) - stale entries are skipped
        self._warnings: list[tuple[float, str, str]] = []
        self._expiries: list[tuple[float, str]] = []  # (end of the horizon, case id) - stale entries are skipped

    @property
    def described(self) -> list[tuple[str, str]]:
        """The sequences the pack describes but does not execute, with the reason it gives."""
        return [(s.rule.id, s.rule.reason or "") for s in self.sequences if s.rule.kind == "described"]

    def restore(self, cases: Mapping[str, Mapping[str, Any]], clock: float | None) -> None:
        """Replace the open cases (and the clock) with a snapshot's, rescheduling their deadlines."""
        if self.durable is not None:
            for case in self.by_id.values():
                if self._rules[case.rule].rule.kind != "within":
                    self.durable.close(case.rule, key_text(case.key))
        self.by_id = {cid: Case(**body) for cid, body in cases.items()}
        self.clock = clock
        self._deadlines, self._warnings, self._expiries = [], [], []
        for cid, case in self.by_id.items():
            if case.due is not None:
                self._schedule(cid, case)
                continue
            self._schedule_expiry(cid, case)
            if self.durable is not None:
                self.durable.open(case.rule, key_text(case.key))

    def close(self) -> None:
        """Stop durable-rules' owner thread (if any)."""
        if self.durable is not None:
            self.durable.shutdown()
            self.durable = None

    # -- applying one event -------------------------------------------------------------------------------

    def apply(self, event: Event) -> list[Found]:
        """Let time pass up to the event, then apply it; what both brought to light, in order."""
        found: list[Found] = []
        self._advance(timestamp(event.at), found)
        for compiled, role, pattern in self._by_event.get(event.type, ()):
            rule = compiled.rule
            if isinstance(pattern, Extension):
                self._extend(compiled, pattern, event)
                continue
            if not self._matches(pattern, event):
                continue
            key = [event.field(f) for f in pattern.key]
            cid = f"{rule.id}\x1f{key_text(key)}"
            if role == "checks":
                has_case = self._has_case(rule.id, cid, key)
                if has_case == (rule.kind == "not-after"):
                    found.append(self._breach(compiled, event, pattern, cid))
            elif role == "closes":
                if cid in self.by_id:
                    self._drop(cid)
            elif cid not in self.by_id:
                self._open(compiled, event, key, cid, found)
            elif self.horizon is not None and rule.kind != "within":
                self._renew(cid, event)
        return found

    def _advance(self, now: float, found: list[Found]) -> None:
        """Let time pass up to ``now``: warnings and deadlines due by then fire, in time order."""
        if self.clock is not None and now <= self.clock:
            return
        deadlines, warnings = self._deadlines, self._warnings
        while True:
            warn = warnings[0] if warnings and warnings[0][0] <= now else None
            miss = deadlines[0] if deadlines and deadlines[0][0] <= now else None
            if warn is None and miss is None:
                break
            if warn is not None and (miss is None or warn[0] <= miss[0]):
                heapq.heappop(warnings)
                case = self.by_id.get(warn[1])
                if case is not None and case.due == warn[2] and case.warned != case.due:
                    case.warned = case.due  # a deadline already past gets its violation, not a warning
                    if now >= warn[0] + self.lead:
                        continue
                    self.dirty.add(warn[1])
                    found.append(self._due_soon(case, now))
            elif miss is not None:
                heapq.heappop(deadlines)
                case = self.by_id.get(miss[1])
                if case is not None and case.due == miss[2]:
                    self._drop(miss[1])
                    found.append(self._missed(case, now))
        self._expire(now)
        self.clock = now

    def _expire(self, now: float) -> None:
        """Drop the ``preceded-by``/``not-after`` cases whose horizon has passed (they no longer count)."""
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, cid = heapq.heappop(expiries)
            case = self.by_id.get(cid)
            if case is not None and self._expiry(case) <= now:
                self._drop(cid)

    def _expiry(self, case: Case) -> float:
        return timestamp(dt.datetime.fromisoformat(case.renewed_at or case.opened_at)) + (self.horizon or 0.0)

    def _schedule_expiry(self, cid: str, case: Case) -> None:
        if self.horizon is not None:
            heapq.heappush(self._expiries, (self._expiry(case), cid))

    def _renew(self, cid: str, event: Event) -> None:
        """Another opening event for an open case: its horizon starts again from this one."""
        case = self.by_id[cid]
        case.renewed_at = event.at.isoformat()
        self.dirty.add(cid)
        self._schedule_expiry(cid, case)

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
        if self.durable is not None:
            return self.durable.matches(rule_id, key_text(key))
        return cid in self.by_id

    def _open(self, compiled: CompiledSequence, event: Event, key: list[Any], cid: str, found: list[Found]) -> None:
        rule = compiled.rule
        case = Case(rule.id, key, event.at.isoformat(), event.id)
        if rule.kind == "within":
            start = event.at.astimezone(self.policy.tz).date()
            days = int(self._params(event.at)[rule.period.days if rule.period else ""])
            try:
                due = self.policy.calendar.calendar_deadline(start, days)
            except CalendarNotCovered as exc:
                found.append(self._undetermined(compiled, case, str(exc)))
                return
            case.start, case.first_due, case.allowed_days, case.due = (
                start.isoformat(),
                due.isoformat(),
                days,
                due.isoformat(),
            )
            self._schedule(cid, case)
        else:
            self._schedule_expiry(cid, case)
            if self.durable is not None:
                self.durable.open(rule.id, key_text(key))
        self.by_id[cid] = case
        self.dirty.add(cid)

    def _drop(self, cid: str) -> None:
        case = self.by_id.pop(cid)
        self.dirty.add(cid)
        if case.due is None and self.durable is not None:
            self.durable.close(case.rule, key_text(case.key))

    def _schedule(self, cid: str, case: Case) -> None:
        due = case.due or ""
        end = timestamp(
            dt.datetime.combine(dt.date.fromisoformat(due) + dt.timedelta(days=1), dt.time(), self.policy.tz)
        )
        heapq.heappush(self._deadlines, (end, cid, due))
        if case.warned != due:
            heapq.heappush(self._warnings, (end - self.lead, cid, due))

    def _extend(self, compiled: CompiledSequence, ext: Extension, event: Event) -> None:
        rule = compiled.rule
        cid = f"{rule.id}\x1f{key_text(event.field(f) for f in rule.opens_key)}"
        case = self.by_id.get(cid)
        if case is None or case.start is None or case.allowed_days is None:
            return
        params = self._params(dt.datetime.fromisoformat(case.opened_at))
        to_days = int(params[ext.to_days])
        notified: dt.datetime | None = event.field("notified_at")
        if event.field("to_days") != to_days or to_days <= case.allowed_days:
            return
        if ext.notice and notified is None:
            return
        if any(event.field(name) == value for name, value in ext.unless.items()):
            return
        notice_limit = dt.date.fromisoformat((case.first_due if ext.notice_by == "first-period" else case.due) or "")
        if ext.notice and notified is not None and notified.astimezone(self.policy.tz).date() > notice_limit:
            return
        levels = params[ext.approval_levels] if ext.approval_levels is not None else None
        if levels is not None and (event.field("approved_by") is None or event.field("approver_level") not in levels):
            return
        try:
            due = self.policy.calendar.calendar_deadline(dt.date.fromisoformat(case.start), to_days)
        except CalendarNotCovered:
            return  # keeps the shorter, known deadline
        case.allowed_days, case.due = to_days, due.isoformat()
        self.dirty.add(cid)
        self._schedule(cid, case)

    # -- what a case brings to light -----------------------------------------------------------------------

    def _names(self, case: Case, key_fields: list[str]) -> dict[str, Any]:
        names: dict[str, Any] = {"rule": case.rule, "case": "/".join(str(v) for v in case.key)}
        names.update(zip(key_fields, case.key, strict=True))
        names.update(opened_at=case.opened_at, opened_by=case.opened_by)
        return names

    def _within_names(self, case: Case, at: float) -> dict[str, Any]:
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

    def _missed(self, case: Case, now: float) -> Finding:
        compiled = self._rules[case.rule]
        names = self._within_names(case, now)
        return sequence_violation(compiled.rule, compiled.citations, RecordRef(names["case"]), names, self.policy.ref)

    def _due_soon(self, case: Case, at: float) -> DueSoon:
        compiled = self._rules[case.rule]
        names = self._within_names(case, at)
        return due_soon(compiled.rule, compiled.citations, names, case.due, self.policy.ref)

    def _undetermined(self, compiled: CompiledSequence, case: Case, reason: str) -> Finding:
        names = self._names(case, compiled.rule.opens_key)
        ref = RecordRef(names["case"])
        return sequence_undetermined(compiled.rule, compiled.citations, ref, names, self.policy.ref, reason)

    def _breach(self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str) -> Finding:
        key = [event.field(f) for f in pattern.key]
        opened = self.by_id.get(cid)
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
        ref = RecordRef(names["case"], path=f"event:{event.id}")
        return sequence_violation(compiled.rule, compiled.citations, ref, names, self.policy.ref)
