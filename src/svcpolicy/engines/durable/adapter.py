"""The durable-rules adapter: a second engine for record rules, behind one small interface.

``policy.evaluate(records, engine="durable")`` judges record rules with durable-rules 2.0.28 (a C Rete
engine) instead of the closure engine. This module owns everything durable-specific:

* **Compiling.** :mod:`svcpolicy.engines.durable.compiler` turns each rule into durable-rules conditions; a rule
  it cannot express is listed with its reason (:func:`durable_coverage`) and judged by the closure engine, never
  dropped.
* **Facts.** Each record becomes one *record fact* plus one *item fact* per item of each ``for_each``
  collection, holding only the values the rules read (see :class:`Projector`). Fact ids are the adapter's own
  counter, so a record's ``id`` never meets durable-rules' message identity (a repeated id is silently
  ignored by it), and no fact has a ``sid`` (each distinct ``sid`` is a separate engine state of ~170 KB).
  Facts are asserted in batches, every action is drained, and the batch is retracted, so memory stays flat.
* **Unmatched facts.** A batch in which some fact matches no rule returns durable-rules' "not handled" code;
  that is the normal case here (a compliant record matches nothing) and is not an error.
* **One owner thread.** durable-rules is not thread-safe; each :class:`DurableEngine` runs every call on its
  own thread, whatever thread drives the evaluation.
* **Explaining.** durable-rules decides which (rule, record, item) pairs are violations or undetermined. The
  evidence, messages and the missing field of those pairs come from the closure engine, as they do for the
  closure engine's own findings; the two must agree on every pair durable-rules reports, or
  :class:`EngineMismatch` is raised.

Values durable-rules cannot hold faithfully (text longer than 65,535 bytes, integers beyond 64 bits, lone
surrogates) make that record's rules run on the closure engine; :class:`DurableStats` counts them by reason.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.programs import judge_record
from svcpolicy.engines.durable import compiler as D
from svcpolicy.engines.durable.owner_thread import OwnerThread
from svcpolicy.errors import SvcPolicyError
from svcpolicy.expr import Env
from svcpolicy.records.model import ABSENT_DEFAULTS
from svcpolicy.records.readers import Locator, RawRecord, Validation, validate
from svcpolicy.results.findings import Finding, Outcome

if TYPE_CHECKING:
    from svcpolicy.engine.programs import RuleProgram, Verdict

T = TypeVar("T")

BATCH = 1000
"""Records per durable-rules batch (facts are asserted, drained and retracted per batch)."""

_MAX_INT = 2**63 - 1
_RULESET_NAMES = itertools.count()


class DurableUnavailable(SvcPolicyError):
    """durable-rules is not installed (or its C extension did not build)."""


class EngineMismatch(SvcPolicyError):
    """durable-rules and the closure engine disagree on a record: a bug in the durable compiler."""


class DurableRulesError(SvcPolicyError):
    """durable-rules rejected a ruleset or a call (its error code is in the message)."""


def _engine_module() -> Any:
    try:
        return importlib.import_module("durable_rules_engine")  # the C extension of durable-rules (no stubs)
    except ImportError as exc:  # pragma: no cover - durable-rules is a core dependency
        raise DurableUnavailable(
            "durable-rules is not installed: pip install durable-rules==2.0.28 (it compiles a C extension)"
        ) from exc


# -- JSON as durable-rules reads it ---------------------------------------------------------------------


class Unrepresentable(Exception):
    """A record value durable-rules cannot hold faithfully; the record goes to the closure engine."""


def _float(value: float) -> orjson.Fragment:
    """durable-rules' JSON reader only takes an exponent after a fraction: ``1e16`` must be ``1.0e+16``."""
    if value != value or value in (float("inf"), float("-inf")):
        raise Unrepresentable("a number that is not finite")
    text = repr(value)
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return orjson.Fragment(text.encode())


def _json_ready(value: Any) -> Any:
    if type(value) is float:
        return _float(value)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON for durable-rules (rulesets and facts): floats written so its parser reads them."""
    try:
        return orjson.dumps(_json_ready(value)).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise Unrepresentable(str(exc)) from None


# -- projecting records into facts ------------------------------------------------------------------------


class _Undetermined(Exception):
    """A read the closure engine would answer with undetermined: the key is left out of the fact."""


_MISSING = D.MISSING
_ESCAPED = {chr(c) for c in range(0x20)} | {'"', "\\"}


class Projector:
    """Reads the slots of a compiled ruleset from a record, with the closure engine's path semantics."""

    def __init__(self, ruleset: D.CompiledRuleset) -> None:
        self.ruleset = ruleset
        self.record_slots = ruleset.record_slots
        self.loops = ruleset.loops

    def facts(self, record: Mapping[str, Any], as_of: dt.datetime | None, first_id: int) -> list[dict[str, Any]]:
        """The record fact and the item facts of one record; ids count up from ``first_id``."""
        facts: list[dict[str, Any]] = []
        record_fact: dict[str, Any] = {"id": str(first_id), "k": "r"}
        _fill(record_fact, self.record_slots, record, None, as_of)
        facts.append(record_fact)
        next_id = first_id + 1
        for loop in self.loops:
            try:
                items = _walk(record, loop.collection.steps, None, "record")
            except _Undetermined:
                continue
            if not isinstance(items, list | tuple) or not items:
                continue
            shared = {k: record_fact[k] for k in _keys(loop.record_slots) if k in record_fact}
            for position, item in enumerate(items):
                fact: dict[str, Any] = {"id": str(next_id), "k": loop.name, "i": position, **shared}
                _fill(fact, loop.item_slots, record, item, as_of)
                facts.append(fact)
                next_id += 1
        return facts


def _keys(slots: Sequence[D.Slot]) -> Iterator[str]:
    for slot in slots:
        yield slot.key
        if slot.mode == "list":
            yield slot.count_key


def _walk(record: Mapping[str, Any], steps: Sequence[D.Step], start: Any, root: str) -> Any:
    value: Any = record if root == "record" else start
    for step in steps:
        if step.name is None:
            if not isinstance(value, list | tuple):
                raise _Undetermined
            try:
                value = value[step.index]
            except IndexError:
                raise _Undetermined from None
            continue
        if not isinstance(value, Mapping):
            raise _Undetermined
        got = value.get(step.name, _MISSING)
        if got is _MISSING:
            if step.default is _MISSING:
                raise _Undetermined
            got = step.default
        value = got
    return value


def _fill(
    fact: dict[str, Any],
    slots: Sequence[D.Slot],
    record: Mapping[str, Any],
    loop_item: Any,
    as_of: dt.datetime | None,
) -> None:
    for slot in slots:
        try:
            if slot.root == "as_of":
                if as_of is None:
                    continue
                value: Any = as_of
            else:
                value = _walk(record, slot.steps, loop_item, slot.root)
        except _Undetermined:
            continue  # the closure engine would raise undetermined: the key stays out of the fact
        projected = _project(slot, value)
        if projected is not _MISSING:
            if slot.mode == "list":
                fact[slot.key], fact[slot.count_key] = projected
            else:
                fact[slot.key] = projected


def _project(slot: D.Slot, value: Any) -> Any:
    mode = slot.mode
    if mode == "has":
        return 1
    if mode == "value":
        return _scalar(value)
    if mode == "size":
        if value is None:
            return None
        if isinstance(value, Mapping | list | tuple):
            return len(value)
        raise Unrepresentable(f"a {type(value).__name__} where the record model has a mapping or list")
    if mode == "len":
        if isinstance(value, str | list | tuple | dict):
            return len(value)
        return _MISSING
    if mode == "text":
        if value is None:
            return None
        if not isinstance(value, str):
            return _MISSING
        return _text(value, slot.sentinel)
    if mode == "list":
        if value is None:
            return None, None
        if not isinstance(value, list | tuple):
            return _MISSING
        items: list[Any] = []
        whole = [s for s in slot.items if s.root == "item" and not s.steps]
        for item in value:
            if whole:  # a list of scalars: the item itself, as ``$i``
                projected_item = _project(whole[0], item)
                if projected_item is _MISSING:
                    raise Unrepresentable(f"a {type(item).__name__} in a list of text")
                items.append(projected_item)
                continue
            projected: dict[str, Any] = {}
            _fill(projected, slot.items, {}, item, None)
            items.append(projected)
        return items, len(items)
    raise AssertionError(mode)


def _scalar(value: Any) -> Any:
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is int:
        if not -_MAX_INT <= value <= _MAX_INT:
            raise Unrepresentable("an integer beyond 64 bits")
        return value
    if kind is float:
        return value
    if kind is str:
        _check_text(value)
        return value
    if kind is dt.datetime and value.utcoffset() is not None:
        return D.microseconds(value)
    raise Unrepresentable(f"a {kind.__name__} where the record model has a scalar")


def _check_text(value: str) -> None:
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise Unrepresentable("text with a lone surrogate (not valid UTF-8)") from None
    if size > D.MAX_STRING_BYTES:
        raise Unrepresentable("text longer than 65,535 bytes (durable-rules keeps 16-bit string lengths)")


def _text(value: str, sentinel: str) -> str:
    _check_text(value)
    if any(c in _ESCAPED for c in value):
        value = "".join(sentinel if c in _ESCAPED else c for c in value)
    return value


# -- the engine on its own thread ----------------------------------------------------------------------

CREATE_ATTEMPTS = 8
"""durable-rules 2.0.28 sometimes refuses a valid ruleset (code 102) after many rulesets have come and gone in a
process, and accepts the same text on another try (measured; a fresh process always accepts it). A ruleset it
refuses every time is refused."""


def _create_ruleset(module: Any, text: str) -> int:
    failure = ""
    for _ in range(CREATE_ATTEMPTS):
        try:
            handle: int = module.create_ruleset(f"svcpolicy{next(_RULESET_NAMES)}", text)
        except Exception as exc:  # durable_rules_engine.error
            failure = str(exc)
            continue
        return handle
    raise DurableRulesError(failure)


class DurableEngine:
    """One durable-rules ruleset, owned by one thread: every engine call runs there.

    durable-rules' C calls hold the GIL and its state is not safe to share between threads; to use more cores,
    run engines in several processes. ``run`` asserts a batch of facts, drains every action the batch
    triggered, retracts the batch, and returns ``(rule name, fact id)`` for each action.
    """

    def __init__(self, groups: Sequence[Mapping[str, Any]]) -> None:
        self._module = _engine_module()
        self._owner = OwnerThread("svcpolicy-durable")
        self.owner = self._owner.ident
        self.closed = False
        self.handles: list[int] = []
        try:
            for group in groups:
                text = dumps(dict(group))
                self.handles.append(self.call(lambda: _create_ruleset(self._module, text)))  # noqa: B023
        except BaseException:
            self.close()
            raise

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the owner thread and return its result (or raise its exception) to the caller."""
        return self._owner.call(fn)

    def run(self, facts_json: str) -> list[tuple[str, str]]:
        """Assert, drain, retract: the actions ``(rule, fact id)`` one batch of facts triggered."""
        return self.call(lambda: self._run(facts_json))

    def _run(self, facts_json: str) -> list[tuple[str, str]]:
        module = self._module
        fired: list[tuple[str, str]] = []
        for handle in self.handles:
            code, state = module.assert_facts(handle, facts_json)
            if code not in (0, 1):  # 1: some fact matched no rule, which is how a compliant record looks
                raise DurableRulesError(f"durable-rules refused a batch of facts (code {code})")
            result = module.start_action_for_state(handle, state)
            if result is not None:
                message: str | None = result[1]
                while message is not None:
                    for rule, frame in orjson.loads(message).items():
                        fired.append((rule, frame["m"]["id"]))
                    message = module.complete_and_start_action(handle, state)
            code, _ = module.retract_facts(handle, facts_json)
            if code not in (0, 1):
                raise DurableRulesError(f"durable-rules could not retract a batch of facts (code {code})")
        return fired

    def close(self) -> None:
        """Delete the rulesets (on the owner thread) and stop the thread."""
        if self.closed:
            return
        self.closed = True
        try:
            for handle in self.handles:
                self.call(lambda: self._module.delete_ruleset(handle))  # noqa: B023
        finally:
            self._owner.stop()

    def __enter__(self) -> DurableEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- compiling a policy once ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DurableProgram:
    """A policy's record rules compiled for durable-rules, with the rules left to the closure engine."""

    ruleset: D.CompiledRuleset
    by_id: Mapping[str, D.CompiledRule]

    @property
    def unsupported(self) -> list[tuple[str, str]]:
        return self.ruleset.unsupported


_PROGRAMS: weakref.WeakKeyDictionary[CompiledPack, DurableProgram] = weakref.WeakKeyDictionary()
_PROGRAMS_LOCK = threading.Lock()


def rule_spec(program: RuleProgram, tz: dt.tzinfo) -> D.RuleSpec:
    """What the durable compiler needs of a compiled record rule."""
    window = getattr(program, "window", (program.rule.effective_from, program.rule.effective_until))
    return D.RuleSpec(
        id=program.id,
        when=program.when.node,
        applies_if=program.applies_if.node if program.applies_if is not None else None,
        loop=(program.loop[0], program.collection.node) if program.loop and program.collection else None,
        window=_window(window, tz),
    )


def _window(window: tuple[dt.date | None, dt.date | None], tz: dt.tzinfo) -> tuple[int | None, int | None]:
    """A rule's days in force as microsecond bounds of the record's time: [start 00:00, day after end 00:00)."""
    start, end = window
    low = D.microseconds(dt.datetime.combine(start, dt.time(), tz)) if start else None
    high = D.microseconds(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)) if end else None
    return low, high


def durable_program(policy: CompiledPack) -> DurableProgram:
    """The policy compiled for durable-rules (cached per policy; policies are immutable)."""
    with _PROGRAMS_LOCK:
        cached = _PROGRAMS.get(policy)
        if cached is not None:
            return cached
        specs = [rule_spec(p, policy.tz) for p in policy.programs]
        ruleset = D.compile_rules(
            specs,
            defaults=ABSENT_DEFAULTS,
            constants=policy.parameters.constant,
            params=frozenset(policy.definition.parameters),
            tz=policy.tz,
            calendar=policy.calendar,
        )
        ruleset = _loadable(ruleset)
        program = DurableProgram(ruleset, {r.id: r for r in ruleset.rules})
        _PROGRAMS[policy] = program
        return program


def _loadable(ruleset: D.CompiledRuleset) -> D.CompiledRuleset:
    """Drop (and report) any rule durable-rules itself refuses to load, e.g. a phrase list too big for its
    regex automaton. The probes run on an engine's owner thread, like every other durable-rules call."""
    module = _engine_module()

    def loads(definition: Mapping[str, Any]) -> str | None:
        try:
            handle = _create_ruleset(module, dumps(dict(definition)))
        except DurableRulesError as exc:
            return str(exc)
        module.delete_ruleset(handle)
        return None

    with DurableEngine([]) as owner:
        if all(owner.call(lambda g=group: loads(g)) is None for group in ruleset.groups):  # type: ignore[misc]
            return ruleset
        refused: dict[str, str] = {}
        for rule in ruleset.rules:
            if not rule.supported:
                continue
            mine = {name: ruleset.definition[name] for name in rule.names}
            error = owner.call(lambda m=mine: loads(m))  # type: ignore[misc]
            if error is not None:
                refused[rule.id] = f"durable-rules refused the compiled rule ({error})"
    return ruleset.without(refused)


def durable_coverage(policy: CompiledPack) -> list[tuple[str, str]]:
    """Record rules durable-rules cannot express, as ``(rule id, reason)``; they run on the closure engine."""
    return durable_program(policy).unsupported


# -- judging records --------------------------------------------------------------------------------------


@dataclass
class DurableStats:
    """What the durable engine did in one evaluation."""

    records: int = 0
    native_records: Counter[str] = field(default_factory=Counter)
    facts: int = 0
    actions: int = 0
    batches: int = 0
    native_rules: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"durable-rules judged {self.records - sum(self.native_records.values())} records "
            f"({self.facts} facts, {self.actions} actions, {self.batches} batches)"
        )
        if self.native_rules:
            text += f"; {len(self.native_rules)} rules ran on the closure engine"
        for reason, count in sorted(self.native_records.items()):
            text += f"; {count} records on the closure engine: {reason}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "native_records": dict(self.native_records),
            "facts": self.facts,
            "actions": self.actions,
            "batches": self.batches,
            "native_rules": [{"rule": r, "reason": why} for r, why in self.native_rules],
        }


Judgement = tuple[Outcome, list[Finding]]


class DurableJudge:
    """Judges a stream of records with durable-rules, in batches, keeping input order.

    Used by :class:`svcpolicy.policy.Evaluation`: :meth:`prefetch` wraps the stream of raw records; for each
    raw record it yields, :meth:`validate` and :meth:`judge` return what was computed for it in its batch.
    """

    def __init__(self, policy: CompiledPack, as_of: dt.datetime | None, *, batch: int = BATCH) -> None:
        self.policy = policy
        self.as_of = as_of
        self.batch = batch
        self.program = durable_program(policy)
        self.projector = Projector(self.program.ruleset)
        self.stats = DurableStats(native_rules=list(self.program.unsupported))
        self._engine: DurableEngine | None = None
        self._pending: deque[tuple[RawRecord, Validation, Judgement | None]] = deque()
        self._current: tuple[RawRecord, Validation, Judgement | None] | None = None
        self._next_id = 1

    def prefetch(self, raws: Iterable[RawRecord]) -> Iterator[RawRecord]:
        """Yield the raw records again, each after its batch has been judged."""
        engine = DurableEngine(self.program.ruleset.groups)
        self._engine = engine
        try:
            iterator = iter(raws)
            while True:
                chunk = list(itertools.islice(iterator, self.batch))
                if not chunk:
                    return
                self._pending.extend(self._judge_batch(engine, chunk))
                while self._pending:
                    self._current = self._pending.popleft()
                    yield self._current[0]
        finally:
            engine.close()

    def validate(self, raw: RawRecord) -> Validation:
        current = self._current
        if current is None or current[0] is not raw:
            raise RuntimeError("DurableJudge.validate is called for the record prefetch just yielded")
        return current[1]

    def judge(
        self,
        record: Mapping[str, Any],
        locator: Locator | None,
        as_of: dt.datetime | None,
        programs: Sequence[RuleProgram] | None = None,
        env: Env | None = None,
    ) -> Judgement:
        current = self._current
        if current is None or current[1][0] is not record or current[2] is None:
            raise RuntimeError("DurableJudge.judge is called for the record prefetch just yielded")
        outcome, findings = current[2]
        if env is not None:  # leave the environment on this record, as the closure engine's judge does
            env.reset(record, self.policy.parameters.for_record(record))
        return outcome, findings

    # the batch

    def _judge_batch(
        self, engine: DurableEngine, chunk: list[RawRecord]
    ) -> list[tuple[RawRecord, Validation, Judgement | None]]:
        validated = [(raw, validate(raw)) for raw in chunk]
        texts: list[str] = []
        owners: dict[str, tuple[int, int]] = {}  # fact id -> (position in chunk, item or -1)
        native: set[int] = set()
        facts = 0
        for position, (_, (record, _, _)) in enumerate(validated):
            if record is None:
                continue
            self.stats.records += 1
            try:
                record_facts = self.projector.facts(record, self.as_of, self._next_id)
                text = dumps(record_facts)
            except Unrepresentable as exc:
                native.add(position)
                self.stats.native_records[str(exc)] += 1
                continue
            self._next_id += len(record_facts)
            for fact in record_facts:
                owners[fact["id"]] = (position, fact.get("i", -1))
            facts += len(record_facts)
            texts.append(text[1:-1])
        fired: list[tuple[str, str]] = engine.run("[" + ",".join(texts) + "]") if texts else []
        self.stats.batches += 1
        self.stats.facts += facts
        self.stats.actions += len(fired)
        matches: dict[int, set[tuple[str, int]]] = {}
        for rule_name, fact_id in fired:
            position, item = owners[fact_id]
            matches.setdefault(position, set()).add((rule_name, item))
        results: list[tuple[RawRecord, Validation, Judgement | None]] = []
        for position, (raw, validation) in enumerate(validated):
            record = validation[0]
            if record is None:
                results.append((raw, validation, None))
                continue
            judgement = self._judge_record(record, raw.locator, matches.get(position, set()), position in native)
            results.append((raw, validation, judgement))
        return results

    def _judge_record(
        self, record: Mapping[str, Any], locator: Locator, fired: set[tuple[str, int]], natively: bool
    ) -> Judgement:
        policy = self.policy
        programs = policy.programs_for(record)
        params = policy.parameters.for_record(record)
        env = Env(record, params=params, as_of=self.as_of, tz=policy.tz, calendar=policy.calendar)

        def verdicts(program: RuleProgram) -> list[Verdict] | None:
            compiled = self.program.by_id.get(program.id)
            if natively or compiled is None or not compiled.supported:
                return program.judge(env, record, policy.tz)
            return self._verdicts(program, compiled, env, record, fired)

        return judge_record(((p, verdicts(p)) for p in programs), env, record, locator, policy.ref)

    def _verdicts(
        self,
        program: RuleProgram,
        compiled: D.CompiledRule,
        env: Env,
        record: Mapping[str, Any],
        fired: set[tuple[str, int]],
    ) -> list[Verdict] | None:
        """durable-rules' decisions for one rule, explained by the closure engine (which must agree)."""
        roles: dict[int, set[str]] = {}
        for name, item in fired:
            role = compiled.role(name)
            if role is not None:
                roles.setdefault(item, set()).add(role)
        decided: list[tuple[Outcome, str | None]] = []
        if program.loop is None:
            on_record = roles.get(-1, set())
            if "v" in on_record:
                decided.append((Outcome.VIOLATION, None))
            elif "a" in on_record:
                decided.append((Outcome.UNDETERMINED, None))
        elif "g" in roles.get(-1, set()):
            decided.append((Outcome.UNDETERMINED, None))
        else:
            for item in sorted(i for i in roles if i >= 0):
                path = f"{program.collection_path}[{item}]"
                decided.append((Outcome.VIOLATION if "v" in roles[item] else Outcome.UNDETERMINED, path))
        if not decided:
            return None
        explained = program.judge(env, record, self.policy.tz) or []
        if [(v.outcome, v.path) for v in explained] != decided:
            raise EngineMismatch(
                f"rule {program.id} on record {record.get('id')!r}: durable-rules decided "
                f"{_describe(decided)}, the closure engine {_describe([(v.outcome, v.path) for v in explained])}"
            )
        return explained


def _describe(verdicts: Sequence[tuple[Outcome, str | None]]) -> str:
    if not verdicts:
        return "nothing to report"
    return ", ".join(f"{outcome}" + (f" at {path}" if path else "") for outcome, path in verdicts)
