"""The public entry point: a loaded, compiled pack that evaluates records.

A ``Policy`` is immutable once loaded, so one instance can serve many threads; each evaluation keeps its
own state in an ``Evaluation`` iterator, which streams findings in input order while counting every record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engine.aggregates import AggregateProgram, AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.programs import RuleProgram
from svcpolicy.engine.record_context import group_paths, record_context
from svcpolicy.engines.durable.adapter import DurableJudge, DurableStats
from svcpolicy.errors import InputError
from svcpolicy.expr import Env
from svcpolicy.pack.bundled import resolve_pack
from svcpolicy.pack.loader import read_pack
from svcpolicy.pack.schema import Example
from svcpolicy.records.readers import Locator, RawRecord, read_records, validate
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Counts, InputFailure, Report

Engine = Literal["native", "durable"]
RecordInput = Mapping[str, Any] | BaseModel | str | Path
Inputs = RecordInput | Iterable[RecordInput]
Progress = Callable[[Counts], None]


def load_policy(pack: str | Path | None = None, *, calendar: HolidayCalendar | None = None) -> Policy:
    """Load and compile a pack: a path, the name of a bundled pack, or None for the default bundled pack."""
    return Policy(read_pack(resolve_pack(pack)), calendar=calendar or HolidayCalendar.official())


@dataclass(frozen=True)
class ExampleResult:
    """One embedded example of a rule, run: what it expected and what the engine said."""

    rule: str
    index: int
    name: str | None
    expected: str
    actual: str
    missing_expected: str | None
    missing_actual: str | None
    detail: str | None = None

    @property
    def passed(self) -> bool:
        if self.expected != self.actual:
            return False
        return self.missing_expected is None or self.missing_expected == self.missing_actual

    @property
    def test_id(self) -> str:
        return f"{self.rule}[{self.index}:{self.expected}]"


class Policy(CompiledPack):
    """A compiled pack. Build with :func:`load_policy`; evaluate records with :meth:`evaluate`."""

    def __repr__(self) -> str:
        return f"<Policy {self.id} {self.version}: {len(self.programs)} record rules, {len(self.aggregates)} aggregate>"

    # -- evaluation ---------------------------------------------------------------------------------

    def iter_findings(
        self,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        progress: Progress | None = None,
        engine: Engine = "native",
        keep_context: bool = False,
    ) -> Evaluation:
        """Stream findings and invalid records in input order, in constant memory.

        ``keep_context=True`` also keeps the scalar fields of each record that has findings in
        ``Evaluation.records`` (for a report's ``by("branch_id")`` and its HTML): memory then grows with findings.

        ``engine="durable"`` judges record rules with durable-rules (see svcpolicy.engines.durable.adapter); rules it
        cannot express run on the closure engine, and the findings are the same.
        """
        return Evaluation(
            self, inputs, as_of=as_of, encoding=encoding, progress=progress, engine=engine, keep_context=keep_context
        )

    def evaluate(
        self,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        progress: Progress | None = None,
        engine: Engine = "native",
    ) -> Report:
        """Evaluate records (a file path, a dict, a pydantic model, or an iterable of these) into a Report."""
        run = self.iter_findings(
            inputs, as_of=as_of, encoding=encoding, progress=progress, engine=engine, keep_context=True
        )
        findings: list[Finding] = []
        invalid: list[InvalidRecord] = []
        for item in run:
            if isinstance(item, Finding):
                findings.append(item)
            else:
                invalid.append(item)
        return Report(
            pack=self.ref,
            as_of=run.as_of,
            findings=findings,
            invalid=invalid,
            input_failures=run.input_failures,
            counts=run.counts,
            records=run.records,
            group_paths=group_paths(self.aggregates),
        )

    # -- embedded examples --------------------------------------------------------------------------

    def run_examples(self, rule_id: str | None = None) -> list[ExampleResult]:
        """Run every embedded example (of one rule, or all) against its own rule, in pack order."""
        results: list[ExampleResult] = []
        programs: dict[str, RuleProgram | AggregateProgram] = {p.id: p for p in self.programs}
        programs.update((p.id, p) for p in self.aggregates)
        for rule in self.definition.rules:
            if rule_id is not None and rule.id != rule_id:
                continue
            for i, example in enumerate(rule.examples):
                results.append(self._run_example(programs[rule.id], i, example))
        return results

    def _run_example(self, program: RuleProgram | AggregateProgram, index: int, example: Example) -> ExampleResult:
        records: list[Mapping[str, Any]] = []
        for n, fragment in enumerate(example.fragments):
            record, error, _ = validate(
                RawRecord(Locator("<example>", index), {"id": f"{program.id}-example-{index}-{n}", **fragment})
            )
            if record is None:
                return ExampleResult(
                    program.id, index, example.name, example.expected, "invalid", example.missing, None, error
                )
            records.append(record)
        if isinstance(program, AggregateProgram):
            findings = list(self._aggregate_findings([program], records, example.as_of))
            outcome = _worst(f.outcome for f in findings)
        else:
            outcome, findings = self.judge(records[0], None, example.as_of, programs=[program])
        missing = next((f.missing for f in findings if f.outcome is Outcome.UNDETERMINED), None)
        detail = "; ".join(f.reason or f.message_en for f in findings) or None
        return ExampleResult(
            rule=program.id,
            index=index,
            name=example.name,
            expected=example.expected,
            actual=str(outcome),
            missing_expected=example.missing,
            missing_actual=missing,
            detail=detail,
        )

    def _aggregate_findings(
        self, programs: Sequence[AggregateProgram], records: Iterable[Mapping[str, Any]], as_of: dt.datetime | None
    ) -> Iterator[Finding]:
        runs = [AggregateRun(p) for p in programs]
        env = Env({}, params={}, as_of=as_of, tz=self.tz, calendar=self.calendar)
        for record in records:
            env.reset(record, self.parameters.for_record(record))
            ref = RecordRef(record.get("id"))
            for run in runs:
                run.feed(env, record, ref)
        yield from self.group_findings(runs, as_of)


def _worst(outcomes: Iterable[Outcome]) -> Outcome:
    seen = set(outcomes)
    for outcome in (Outcome.VIOLATION, Outcome.UNDETERMINED):
        if outcome in seen:
            return outcome
    return Outcome.COMPLIANT


class Evaluation(Iterator[Finding | InvalidRecord]):
    """A running evaluation: iterate for findings; ``counts`` and ``input_failures`` fill as it goes."""

    def __init__(
        self,
        policy: Policy,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None,
        encoding: str,
        progress: Progress | None,
        progress_every: int = 1000,
        engine: Engine = "native",
        keep_context: bool = False,
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone offset")
        if engine not in ("native", "durable"):
            raise ValueError(f"engine is 'native' or 'durable', not {engine!r}")
        self.engine = engine
        self.engine_stats: DurableStats | None = None  # filled by the durable engine
        self.policy = policy
        self.as_of = as_of if as_of is not None else dt.datetime.now(policy.tz).replace(microsecond=0)
        self.encoding = encoding
        self.counts = Counts()
        self.input_failures: list[InputFailure] = []
        self.keep_context = keep_context
        self.records: dict[tuple[str, int], dict[str, Any]] = {}  # scalar fields of records with findings
        self._progress = progress
        self._progress_every = progress_every
        self._items = self._run(inputs)

    def __iter__(self) -> Evaluation:
        return self

    def __next__(self) -> Finding | InvalidRecord:
        return next(self._items)

    def _raw_records(self, inputs: Inputs) -> Iterator[RawRecord]:
        if isinstance(inputs, str | Path | Mapping | BaseModel):
            inputs = [inputs]
        for position, item in enumerate(inputs, start=1):
            if isinstance(item, str | Path):
                try:
                    yield from read_records(item, encoding=self.encoding)
                except InputError as exc:
                    self.counts.input_errors += 1
                    self.input_failures.append(InputFailure(str(item), exc.message))
            elif isinstance(item, BaseModel):
                data = item.model_dump(mode="python", exclude_unset=True, by_alias=True)
                yield RawRecord(Locator("<input>", position), data)
            elif isinstance(item, Mapping):
                yield RawRecord(Locator("<input>", position), item)
            else:
                yield RawRecord(Locator("<input>", position), None, f"not a record: {type(item).__name__}")

    def _run(self, inputs: Inputs) -> Iterator[Finding | InvalidRecord]:
        policy, counts, as_of = self.policy, self.counts, self.as_of
        every, progress = self._progress_every, self._progress
        env = Env({}, params={}, as_of=as_of, tz=policy.tz, calendar=policy.calendar)
        aggregate_runs = [AggregateRun(program) for program in policy.aggregates]
        judge, check, raws = policy.judge, validate, self._raw_records(inputs)
        if self.engine == "durable":
            durable = DurableJudge(policy, as_of)
            judge, check, raws, self.engine_stats = (
                durable.judge,
                durable.validate,
                durable.prefetch(raws),
                durable.stats,
            )
        for raw in raws:
            record, error, record_id = check(raw)
            if record is None:
                counts.add_record(Outcome.INVALID)
                yield InvalidRecord(
                    RecordRef(record_id, raw.locator.source, raw.locator.line), error or "invalid record"
                )
            else:
                outcome, findings = judge(record, raw.locator, as_of, env=env)
                if aggregate_runs:
                    ref = RecordRef(record.get("id"), raw.locator.source, raw.locator.line)
                    for aggregate in aggregate_runs:
                        aggregate.feed(env, record, ref)
                counts.add_record(outcome)
                if findings and self.keep_context:
                    self.records[raw.locator] = record_context(record)
                for finding in findings:
                    if finding.outcome is Outcome.VIOLATION:
                        counts.violations += 1
                    else:
                        counts.undetermined_findings += 1
                    yield finding
            if progress is not None and counts.records % every == 0:
                progress(counts)
        for finding in policy.group_findings(aggregate_runs, as_of):
            if finding.outcome is Outcome.VIOLATION:
                counts.group_violations += 1
            else:
                counts.group_undetermined += 1
            yield finding
        if progress is not None:
            progress(counts)
