"""Judging a stream of records with durable-rules, in batches, with the closure engine explaining each decision.

durable-rules decides which (rule, record, item) pairs are violations or undetermined. The evidence, messages
and missing field of those pairs come from the closure engine, as they do for the closure engine's own findings,
so both engines give the same findings; the two must agree on every pair durable-rules reports, or
:class:`EngineMismatch` is raised. Fact ids are the judge's own counter, so a record's ``id`` never meets
durable-rules' message identity (a repeated id is silently ignored by it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import Counter, deque
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.programs import RuleProgram, Verdict, judge_record
from svcpolicy.engines.durable.facts import Projector, Unrepresentable, dumps
from svcpolicy.engines.durable.packing import CompiledRule
from svcpolicy.engines.durable.program import durable_program
from svcpolicy.engines.durable.runtime import DurableEngine
from svcpolicy.errors import SvcPolicyError
from svcpolicy.expr import Env
from svcpolicy.records.readers import Locator, RawRecord, Validation, validate
from svcpolicy.results.findings import Finding, Outcome

_log = logging.getLogger(__name__)

BATCH = 1000
"""Records per durable-rules batch (facts are asserted, drained and retracted per batch)."""


class EngineMismatch(SvcPolicyError):
    """durable-rules and the closure engine disagree on a record: a bug in the durable compiler."""


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
        for rule, reason in self.program.unsupported:
            _log.info("rule %s runs on the closure engine: %s", rule, reason)
        self._engine: DurableEngine | None = None
        self._pending: deque[tuple[RawRecord, Validation, Judgement | None]] = deque()
        self._current: tuple[RawRecord, Validation, Judgement | None] | None = None
        self._next_id = 1

    def prefetch(self, raws: Iterable[RawRecord]) -> Generator[RawRecord, None, None]:
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
        compiled: CompiledRule,
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
