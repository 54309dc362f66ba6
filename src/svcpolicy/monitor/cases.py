"""The sequence rules' state machine: open cases, and what each event (in event-time order) does to them.

An event may open a case (an authorisation granted, a complaint received), close it, extend a ``within``
deadline, or be checked against the open cases (``preceded-by`` is breached when no case is open for the event's
key, ``not-after`` when one is). Time passing, as the events' own ``at``, fires the warnings and deadlines due by
then.

A ``within`` period that runs into a year whose holiday schedule is not known is judged from its bounds, as the
record rules judge it (``calendar.deadline_bounds``): its last day is no earlier than ``earliest`` and no later
than ``due``. Closed by the end of ``earliest`` it is in time; still open after ``due`` it is missed whatever
the unknown schedule says; in between it is undetermined (reported once, when ``earliest`` ends), until the
closing event or the end of ``due`` decides it.

:class:`Cases` decides all of this and returns what it found; the :class:`~svcpolicy.monitor.Monitor` around
it puts events in order, drops duplicates, numbers the outputs and keeps the state.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from svcpolicy.calendar import DeadlineBounds
from svcpolicy.engine.programs import citation_for
from svcpolicy.errors import CalendarNotCovered
from svcpolicy.monitor.alerts import DueSoon, due_soon, sequence_undetermined, sequence_violation
from svcpolicy.monitor.codes import compared
from svcpolicy.monitor.durable_sequences import DurableSequences
from svcpolicy.monitor.patterns import PatternMatcher, compile_pattern, pattern_compiler
from svcpolicy.pack.sequences import Extension, Pattern, SequenceRule
from svcpolicy.policy import Policy
from svcpolicy.records.events import Event
from svcpolicy.results.findings import Citation, Finding, RecordRef

MonitorEngine = Literal["durable", "python"]
DAY = 86400.0
UNDECIDED = "\x1f?"
"""Appended to a case id for the case an opening event opened that its pattern could not decide on."""

Found = Finding | DueSoon
"""What a case can bring to light: a finding (breach, missed deadline, undetermined) or a warning."""


@dataclass(slots=True)
class Case:
    """An open case of one sequence rule: what opened it, and for ``within`` rules its period.

    Slotted, and stored without its unset fields: a stream can hold hundreds of thousands of cases, most of
    whose optional fields are None."""

    rule: str
    key: list[Any]
    opened_at: str
    opened_by: str
    start: str | None = None  # within: the opening day (pack time zone)
    allowed_days: int | None = None
    due: str | None = None  # within: the last day, or the latest it can be when `earliest` is set
    earliest: str | None = None  # within: the earliest the last day can be, when a schedule involved is unknown
    warned: str | None = None  # the due date a warning was given for
    unsure: str | None = None  # the `earliest` an undetermined finding was given for
    renewed_at: str | None = None  # preceded-by/not-after, with a case horizon: the latest opening event's time
    narrowed_to: list[Any] | None = None  # opens with `narrow`: the values its opening events gave; None: any
    undecided: str | None = None  # preceded-by/not-after: why its opening event could not be judged

    def to_json(self) -> dict[str, Any]:
        """The case as JSON-able data: the fields set (a field left out is None)."""
        body = {name: getattr(self, name) for name in _CASE_FIELDS}
        return {name: value for name, value in body.items() if value is not None or name in _REQUIRED}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Case:
        """A case from a snapshot; a field an older svcpolicy kept and this one does not (first_due) is dropped."""
        return cls(**{name: value for name, value in body.items() if name in _CASE_FIELD_SET})

    @property
    def first_possible_due(self) -> str | None:
        """The earliest day the period can end: what a warning announces."""
        return self.earliest or self.due


_CASE_FIELDS = tuple(Case.__dataclass_fields__)
_CASE_FIELD_SET = frozenset(_CASE_FIELDS)
_REQUIRED = frozenset({"rule", "key", "opened_at", "opened_by"})


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
            CompiledSequence(rule, tuple(citation_for(pack.spec, ref) for ref in rule.cite)) for rule in pack.sequences
        ]
        compiler = pattern_compiler(policy)
        self._by_event: dict[str, list[tuple[CompiledSequence, str, PatternMatcher | Extension]]] = {}
        for compiled, site in zip(self.sequences, pack.sequence_sites, strict=True):
            rule = compiled.rule
            if rule.kind == "described":
                continue
            roles: list[tuple[str, Pattern | Extension, tuple[str | int, ...]]] = (
                [("checks", rule.checks, ("checks",))] if rule.checks else []
            )
            roles += [("closes", p, ("closes", i)) for i, p in enumerate(rule.closes)]
            roles += [("extends", e, ()) for e in rule.extensions()]
            roles += [("opens", rule.opens, ("opens",))] if rule.opens else []
            for role, pattern, at in roles:
                matcher = (
                    pattern
                    if isinstance(pattern, Extension)
                    else compile_pattern(pattern, compiler, policy, site.expression_at(*at, "when"))
                )
                self._by_event.setdefault(pattern.event, []).append((compiled, role, matcher))
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
        self._unsure: list[tuple[float, str, str]] = []  # (end of earliest, case id, earliest)
        self._expiries: list[tuple[float, str]] = []  # (end of the horizon, case id) - stale entries are skipped
        self._day_ends: dict[str, float] = {}  # day -> its 24:00: many cases share a last day

    @property
    def described(self) -> list[tuple[str, str]]:
        """The sequences the pack describes but does not execute, with the reason it gives."""
        return [(s.rule.id, s.rule.reason or "") for s in self.sequences if s.rule.kind == "described"]

    def restore(self, cases: Mapping[str, Mapping[str, Any]], clock: float | None) -> None:
        """Replace the open cases (and the clock) with a snapshot's, rescheduling their deadlines."""
        if self.durable is not None:
            for case in self.by_id.values():
                if self._rules[case.rule].rule.kind != "within" and case.undecided is None:
                    self.durable.close(case.rule, key_text(case.key))
        self.by_id = {cid: Case.from_json(body) for cid, body in cases.items()}
        self.clock = clock
        self._deadlines, self._warnings, self._unsure, self._expiries = [], [], [], []
        counted: list[tuple[str, str]] = []  # the preceded-by/not-after cases durable-rules holds
        for cid, case in self.by_id.items():
            if case.due is not None:
                self._schedule(cid, case)
                continue
            self._schedule_expiry(cid, case)
            if case.undecided is None:
                counted.append((case.rule, key_text(case.key)))
        if self.durable is not None:
            self.durable.open_all(counted)

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
        params: Mapping[str, Any] | None = None  # the parameters in force at the event, looked up once if needed
        for compiled, role, matcher in self._by_event.get(event.type, ()):
            rule = compiled.rule
            if isinstance(matcher, Extension):
                self._extend(compiled, matcher, event, found)
                continue
            if params is None and matcher.reads_parameters:
                params = self._params(event.at)
            taken = matcher.matches(event, params or {})
            if taken is False or (taken is None and (role == "closes" or rule.kind == "within")):
                continue  # a closing event, or a period's opening one, the pattern cannot decide on does nothing
            pattern = matcher.pattern
            key = [compared(event, f) for f in pattern.key]  # codes in code form: CLOSE_ACCOUNT is close_account
            cid = f"{rule.id}\x1f{key_text(key)}"
            if role == "checks":
                finding = self._check(compiled, event, pattern, cid, key, taken)
                if finding is not None:
                    found.append(finding)
            elif role == "closes":
                for closed in (cid, cid + UNDECIDED):
                    if closed in self.by_id:
                        self._drop(closed)
            else:
                undecided = None if taken else matcher.undecided_because(event, params or {})
                opened = cid if undecided is None else cid + UNDECIDED
                if opened not in self.by_id:
                    self._open(compiled, event, key, opened, found, undecided)
                    continue
                self._widen(opened, pattern, event)
                if self.horizon is not None and rule.kind != "within":
                    self._renew(opened, event)
        return found

    def _check(
        self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str, key: list[Any], taken: bool | None
    ) -> Finding | None:
        """A checked event against the open cases: a breach, an undetermined finding, or None when it complies.

        A case whose opening event could not be judged (an agent's authorisation whose power of attorney's agent
        was not exported) makes the checked event undetermined wherever the case would decide it."""
        rule = compiled.rule
        has_case = self._has_case(rule.id, cid, key) and self._covers(self.by_id.get(cid), pattern, event)
        if has_case is None:
            reason = f"{event.type} {event.id} omits its {pattern.narrow}, and the open case covers only some"
            return self._unjudged(compiled, event, pattern, cid, reason)
        unsure = None if has_case else self.by_id.get(cid + UNDECIDED)
        if unsure is not None and self._covers(unsure, pattern, event) is not False:
            reason = f"{event.type} {event.id} turns on an opening event that could not be judged: {unsure.undecided}"
            return self._unjudged(compiled, event, pattern, cid, reason)
        if has_case != (rule.kind == "not-after"):
            return None
        return (
            self._breach(compiled, event, pattern, cid)
            if taken
            else self._undecided_check(compiled, event, pattern, cid)
        )

    @staticmethod
    def _covers(case: Case | None, pattern: Pattern, event: Event) -> bool | None:
        """Whether an open case takes the checked event: any event unless the case is narrowed (an authorisation
        for one account) and the event gives a value outside it; None when the event omits the value."""
        if pattern.narrow is None:
            return True
        if case is None:
            return False
        if case.narrowed_to is None:
            return True
        if not event.known(pattern.narrow):
            return None
        value = compared(event, pattern.narrow)
        return value is None or value in case.narrowed_to

    def _widen(self, cid: str, pattern: Pattern, event: Event) -> None:
        """Another opening event for an open case: what it covers grows by what the event covers."""
        case = self.by_id[cid]
        if pattern.narrow is None or case.narrowed_to is None:
            return
        value = compared(event, pattern.narrow)
        if value is None:
            case.narrowed_to = None
        elif value not in case.narrowed_to:
            case.narrowed_to.append(value)
        else:
            return
        self.dirty.add(cid)

    def _advance(self, now: float, found: list[Found]) -> None:
        """Let time pass up to ``now``: warnings, undetermined periods and deadlines due by then fire, in time
        order (at the same moment in that order)."""
        if self.clock is not None and now <= self.clock:
            return
        queues = (self._warnings, self._unsure, self._deadlines)
        while True:
            ready = [(queue[0][0], order) for order, queue in enumerate(queues) if queue and queue[0][0] <= now]
            if not ready:
                break
            _, order = min(ready)
            end, cid, day = heapq.heappop(queues[order])
            case = self.by_id.get(cid)
            if case is None:
                continue
            if order == 0 and case.first_possible_due == day and case.warned != day:
                case.warned = day  # a deadline already past gets its violation, not a warning
                self.dirty.add(cid)
                if now < end + self.lead:
                    found.append(self._due_soon(case, now))
            elif order == 1 and case.earliest == day and case.unsure != day:
                case.unsure = day
                self.dirty.add(cid)
                found.append(self._unsure_period(case, now))
            elif order == 2 and case.due == day:
                self._drop(cid)
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

    def _has_case(self, rule_id: str, cid: str, key: list[Any]) -> bool:
        if self.durable is not None:
            return self.durable.matches(rule_id, key_text(key))
        return cid in self.by_id

    def _open(
        self,
        compiled: CompiledSequence,
        event: Event,
        key: list[Any],
        cid: str,
        found: list[Found],
        undecided: str | None = None,
    ) -> None:
        rule = compiled.rule
        case = Case(rule.id, key, event.at.isoformat(), event.id, undecided=undecided)
        narrow = rule.opens.narrow if rule.opens else None
        if narrow is not None and event.field(narrow) is not None:
            case.narrowed_to = [compared(event, narrow)]
        if rule.kind == "within":
            start = event.at.astimezone(self.policy.tz).date()
            days = int(self._params(event.at)[rule.period.days if rule.period else ""])
            try:
                bounds = self.policy.calendar.deadline_bounds(start, days)
            except ValueError as exc:  # a period ending beyond the calendar's range
                found.append(self._undetermined(compiled, case, str(exc)))
                return
            case.start, case.allowed_days = start.isoformat(), days
            self._set_period(case, bounds)
            self._schedule(cid, case)
        else:
            self._schedule_expiry(cid, case)
            if self.durable is not None and undecided is None:  # durable-rules holds the cases that count only
                self.durable.open(rule.id, key_text(key))
        self.by_id[cid] = case
        self.dirty.add(cid)

    def _drop(self, cid: str) -> None:
        case = self.by_id.pop(cid)
        self.dirty.add(cid)
        if case.due is None and case.undecided is None and self.durable is not None:
            self.durable.close(case.rule, key_text(case.key))

    @staticmethod
    def _set_period(case: Case, bounds: DeadlineBounds) -> None:
        case.due = bounds.latest.isoformat()
        case.earliest = None if bounds.unknown is None else bounds.earliest.isoformat()

    def _end_of(self, day: str) -> float:
        """24:00 of ``day`` in the pack's time zone: when a period whose last day it is has ended."""
        end = self._day_ends.get(day)
        if end is None:
            end = self._day_ends[day] = timestamp(
                dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time(), self.policy.tz)
            )
        return end

    def _schedule(self, cid: str, case: Case) -> None:
        due = case.due or ""
        heapq.heappush(self._deadlines, (self._end_of(due), cid, due))
        first = case.first_possible_due or ""
        if case.warned != first:
            heapq.heappush(self._warnings, (self._end_of(first) - self.lead, cid, first))
        if case.earliest is not None and case.unsure != case.earliest:
            heapq.heappush(self._unsure, (self._end_of(case.earliest), cid, case.earliest))

    def _bounds(self, case: Case, days: int) -> DeadlineBounds:
        return self.policy.calendar.deadline_bounds(dt.date.fromisoformat(case.start or ""), days)

    def _in_period(self, case: Case, days: int, moment: dt.datetime) -> bool | None:
        """Whether ``moment`` falls within the case's period of ``days``; None when an unknown schedule decides."""
        try:
            return not self._bounds(case, days).passed_on(moment.astimezone(self.policy.tz).date())
        except CalendarNotCovered:
            return None

    def _extend(self, compiled: CompiledSequence, ext: Extension, event: Event, found: list[Found]) -> None:
        """Lengthen the case's period if the extension counts; if only an unknown schedule can tell whether it
        was made in time, the case is undetermined and nothing later can decide it, so it ends here."""
        rule = compiled.rule
        cid = f"{rule.id}\x1f{key_text(compared(event, f) for f in rule.opens_key)}"
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
        if any(compared(event, name) == value for name, value in ext.unless.items()):
            return
        levels = params[ext.approval_levels] if ext.approval_levels is not None else None
        level = compared(event, "approver_level")
        if levels is not None and (
            event.field("approved_by") is None or not isinstance(level, str) or level not in levels
        ):
            return
        made = self._in_period(case, case.allowed_days, event.at)
        told: bool | None = True
        if ext.notice and notified is not None:
            notice_days = int(params[rule.period.days]) if rule.period and ext.notice_by == "first-period" else None
            told = self._in_period(case, notice_days or case.allowed_days, notified)
        if made is False or told is False:
            return
        if made is None or told is None:
            if case.unsure is None:  # not already reported undetermined when its earliest last day ended
                reason = f"whether the extension of {event.at.date()} was made in time depends on an unknown schedule"
                found.append(self._undetermined(compiled, case, reason))
            self._drop(cid)
            return
        case.allowed_days = to_days
        self._set_period(case, self._bounds(case, to_days))
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
        if case.earliest is not None:
            names["earliest"] = case.earliest
        return names

    def _missed(self, case: Case, now: float) -> Finding:
        compiled = self._rules[case.rule]
        names = self._within_names(case, now)
        return sequence_violation(compiled.rule, compiled.citations, RecordRef(names["case"]), names, self.policy.ref)

    def _due_soon(self, case: Case, at: float) -> DueSoon:
        compiled = self._rules[case.rule]
        names = self._within_names(case, at)
        return due_soon(compiled.rule, compiled.citations, names, case.first_possible_due, self.policy.ref)

    def _unsure_period(self, case: Case, now: float) -> Finding:
        """The earliest last day has passed with the case open: only the unknown schedule can tell if it is late."""
        compiled = self._rules[case.rule]
        unknown = self._bounds(case, case.allowed_days or 0).unknown
        reason = f"the period ends between {case.earliest} and {case.due}, as the schedule decides: {unknown}"
        names = self._within_names(case, now)
        ref = RecordRef(names["case"])
        return sequence_undetermined(compiled.rule, compiled.citations, ref, names, self.policy.ref, reason)

    def _undetermined(self, compiled: CompiledSequence, case: Case, reason: str) -> Finding:
        names = self._names(case, compiled.rule.opens_key)
        ref = RecordRef(names["case"])
        return sequence_undetermined(compiled.rule, compiled.citations, ref, names, self.policy.ref, reason)

    def _undecided_check(self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str) -> Finding:
        """A checked event whose ``when`` condition the event cannot decide, with no case that would settle it."""
        names = self._breach_names(compiled, event, pattern, cid)
        ref = RecordRef(names["case"], path=f"event:{event.id}")
        reason = f"{event.type} {event.id}: the condition `{pattern.when}` cannot be decided from the event"
        return sequence_undetermined(compiled.rule, compiled.citations, ref, names, self.policy.ref, reason)

    def _unjudged(self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str, reason: str) -> Finding:
        """A checked event the open cases cannot judge: an opening event was undecided, or the event omits the
        value a narrowed case is for."""
        names = self._breach_names(compiled, event, pattern, cid)
        ref = RecordRef(names["case"], path=f"event:{event.id}")
        return sequence_undetermined(compiled.rule, compiled.citations, ref, names, self.policy.ref, reason)

    def _breach(self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str) -> Finding:
        names = self._breach_names(compiled, event, pattern, cid)
        ref = RecordRef(names["case"], path=f"event:{event.id}")
        return sequence_violation(compiled.rule, compiled.citations, ref, names, self.policy.ref)

    def _breach_names(self, compiled: CompiledSequence, event: Event, pattern: Pattern, cid: str) -> dict[str, Any]:
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
        return names
