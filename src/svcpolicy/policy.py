"""The public entry point: a loaded, compiled pack that evaluates records.

A ``Policy`` is immutable once loaded, so one instance can serve many threads; each evaluation keeps its
own state in an ``Evaluation`` iterator, which streams findings in input order while counting every record.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeGuard

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engine.aggregates import AggregateProgram, AggregateRun
from svcpolicy.engine.compiled import CompiledPack
from svcpolicy.engine.programs import RuleProgram
from svcpolicy.engine.record_context import group_paths
from svcpolicy.engine.stream import RecordIdentifiers, count_group_findings, judge_stream
from svcpolicy.errors import InputError, InputTypeError, SourceLocation, UsageError
from svcpolicy.expr import Env
from svcpolicy.expr.parser import adopt_trees, kept_trees, recording_trees
from svcpolicy.pack.bundled import resolve_pack
from svcpolicy.pack.cache import keep_with, kept_with, read_pack_cached
from svcpolicy.records.readers import Locator, RawRecord, read_records, source_name, validate
from svcpolicy.results.findings import Finding, InvalidRecord, Outcome, RecordRef
from svcpolicy.results.report import Counts, InputFailure, Report

if TYPE_CHECKING:
    from pydantic import BaseModel

    from svcpolicy.engines.durable import DurableStats
    from svcpolicy.pack.schema import Example
    from svcpolicy.results.decision import Decision

Engine = Literal["native", "durable"]
RecordInput: TypeAlias = "Mapping[str, Any] | BaseModel | str | Path"
Inputs: TypeAlias = "RecordInput | Iterable[RecordInput]"
Progress = Callable[[Counts], None]
OnInputError = Literal["raise", "report"]
"""What an input that cannot be read does: ``raise`` an :class:`InputError`, or ``report`` it in
``input_failures`` and go on with the other inputs (what the command line does)."""


PARSED_TREES = "parsed-trees"
"""What the pack cache keeps of a pack that compiled whole without error: its parsed expressions."""


def load_policy(pack: str | Path | None = None, *, calendar: HolidayCalendar | None = None) -> Policy:
    """Load and compile a pack: a path, the name of a bundled pack, or None for the default bundled pack.

    A pack is compiled whole, so a broken one is refused at once with every rule's error, and its parsed
    expressions are kept in the pack cache. A pack found there compiled before, with this code: its rules are
    compiled when a record first reaches them, from the kept trees, so a check of a few records neither parses
    nor compiles the rules it does not reach."""
    definition = read_pack_cached(resolve_pack(pack))
    calendar = calendar or HolidayCalendar.official()
    trees = kept_with(definition, PARSED_TREES)
    if isinstance(trees, dict):
        adopt_trees(trees)
        return Policy(definition, calendar=calendar, known_to_compile=True)
    with recording_trees() as parsed:
        policy = Policy(definition, calendar=calendar)
    keep_with(definition, PARSED_TREES, kept_trees(parsed))
    return policy


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
        jobs: int = 1,
        keep_identifiers: bool = False,
        on_input_error: OnInputError = "raise",
    ) -> Evaluation:
        """Stream findings and invalid records in input order, in constant memory.

        ``keep_context=True`` also keeps the scalar fields of each record that has findings in
        ``Evaluation.records`` (for a report's ``by("branch_id")`` and its HTML): memory then grows with findings.

        ``engine="durable"`` judges record rules with durable-rules (see svcpolicy.engines.durable); rules it
        cannot express run on the closure engine, and the findings are the same.

        ``jobs=N`` judges files (and parts of large JSONL/CSV files) in N worker processes (0: one per core); the
        findings, their order, the counts and the group findings are those of ``jobs=1``.

        ``keep_identifiers=True`` keeps, in ``Evaluation.identifiers``, the values each record with findings holds at
        the pack's identifying paths (``privacy: identifying_fields``), so a report can mask them.

        A file that cannot be read raises :class:`InputError`; ``on_input_error="report"`` lists it in
        ``Evaluation.input_failures`` instead and goes on with the other inputs.
        """
        return Evaluation(
            self,
            inputs,
            as_of=as_of,
            encoding=encoding,
            progress=progress,
            engine=engine,
            keep_context=keep_context,
            jobs=jobs,
            keep_identifiers=keep_identifiers,
            on_input_error=on_input_error,
        )

    def evaluate(
        self,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        progress: Progress | None = None,
        engine: Engine = "native",
        jobs: int = 1,
        on_input_error: OnInputError = "raise",
    ) -> Report:
        """Evaluate records (a file path, a dict, a pydantic model, or an iterable of these) into a Report.

        ``jobs=N`` spreads the work over N processes (0: one per core) with the same result as ``jobs=1``.
        A file that cannot be read raises :class:`InputError`, unless ``on_input_error="report"`` (then it is
        listed in ``Report.input_failures``).
        """
        findings: list[Finding] = []
        invalid: list[InvalidRecord] = []
        with self.iter_findings(
            inputs,
            as_of=as_of,
            encoding=encoding,
            progress=progress,
            engine=engine,
            keep_context=True,
            jobs=jobs,
            on_input_error=on_input_error,
        ) as run:  # Ctrl-C between two items stops the workers here, not when its traceback is freed
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
            rules=self.catalog(),
        )

    def check(
        self,
        record: Mapping[str, Any] | BaseModel,
        *,
        as_of: dt.datetime | None = None,
        include_aggregates: bool = False,
    ) -> Decision:
        """Decide one record, as a bank system asks before or after a transaction: its outcome, findings and the
        fields whose absence left rules undetermined.

        Aggregate rules judge groups of records, so on one record they can only be undetermined: they are skipped
        unless ``include_aggregates=True`` (then they judge a group of this one record).
        """
        from svcpolicy.results.decision import Decision  # for a one-record check() only, not a run over files

        if as_of is not None and as_of.tzinfo is None:
            raise UsageError("as_of must carry a time zone offset")
        (raw,) = _sources(record)
        if not isinstance(raw, RawRecord):
            raise InputTypeError(f"check() takes one record (a mapping or a model), not {type(record).__name__}")
        valid, error, _ = validate(raw)
        if valid is None:
            return Decision(Outcome.INVALID, error=error or "invalid record")
        outcome, findings = self.judge(valid, raw.locator, as_of)
        if include_aggregates and self.aggregates:
            findings = [*findings, *self._aggregate_findings(self.aggregates, [valid], as_of)]
            outcome = _worst([outcome, *(f.outcome for f in findings)])
        return Decision.of(outcome, findings)

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
    """A running evaluation: iterate for findings; ``counts`` and ``input_failures`` fill as it goes.

    It holds what it runs on (worker processes under ``jobs > 1``, the durable engine's thread, the file being
    read) until it is read to the end or raises. One left partway is closed with :meth:`close`, or used as a
    context manager (``with policy.iter_findings(...) as run:``); one simply dropped is closed at once too, as
    nothing it holds refers back to it.
    """

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
        jobs: int = 1,
        keep_identifiers: bool = False,
        on_input_error: OnInputError = "raise",
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise UsageError("as_of must carry a time zone offset")
        if engine not in ("native", "durable"):
            raise UsageError(f"engine is 'native' or 'durable', not {engine!r}")
        if on_input_error not in ("raise", "report"):
            raise UsageError(f"on_input_error is 'raise' or 'report', not {on_input_error!r}")
        if jobs < 0:
            raise UsageError(f"jobs is a number of processes (0: one per core), not {jobs}")
        if not jobs:
            from svcpolicy.engines.parallel import available_cores  # worker processes only when asked for

            jobs = available_cores()
        self.jobs = jobs
        if self.jobs > 1 and engine != "native":
            raise UsageError("jobs > 1 runs the native engine; the durable engine judges in one process")
        _refuse_unusable(inputs)
        self.on_input_error = on_input_error
        self.engine = engine
        self.policy = policy
        self.as_of = as_of if as_of is not None else dt.datetime.now(policy.tz).replace(microsecond=0)
        self.encoding = encoding
        self.counts = Counts()
        self.input_failures: list[InputFailure] = []
        self.keep_context = keep_context
        self.records: dict[tuple[str, int], dict[str, Any]] = {}  # scalar fields of records with findings
        self.identifiers: RecordIdentifiers = {}  # their identifying values, with keep_identifiers
        self.keep_identifiers = keep_identifiers
        self._judging = _Judging(self, progress, progress_every)
        self._items = self._judging.items(inputs)

    @property
    def engine_stats(self) -> DurableStats | None:
        """What the durable engine did (filled as it judges); None on the native engine."""
        return self._judging.engine_stats

    def __iter__(self) -> Evaluation:
        return self

    def __next__(self) -> Finding | InvalidRecord:
        return next(self._items)

    def close(self) -> None:
        """Stop the run where it is: its worker processes are stopped and waited for before this returns, and its
        input files closed. Closing again, or after the last item, does nothing."""
        self._items.close()

    def __enter__(self) -> Evaluation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Judging:
    """What an evaluation's run works with: its settings and the tallies it fills, shared with the
    :class:`Evaluation`, which this never refers to.

    The Evaluation holds the run's generator; were the generator's frame to hold the Evaluation, the two would be a
    reference cycle, and a dropped Evaluation would stop its worker processes only when the cycle collector ran,
    in whatever thread it ran (one of the pool's own, where stopping the pool can hang)."""

    def __init__(self, evaluation: Evaluation, progress: Progress | None, progress_every: int) -> None:
        self.policy = evaluation.policy
        self.as_of = evaluation.as_of
        self.encoding = evaluation.encoding
        self.engine = evaluation.engine
        self.jobs = evaluation.jobs
        self.on_input_error = evaluation.on_input_error
        self.counts = evaluation.counts
        self.input_failures = evaluation.input_failures
        self.contexts = evaluation.records if evaluation.keep_context else None
        self.identifiers = evaluation.identifiers if evaluation.keep_identifiers else None
        self.progress = progress
        self.progress_every = progress_every
        self.engine_stats: DurableStats | None = None  # filled by the durable engine

    def items(self, inputs: Inputs) -> Generator[Finding | InvalidRecord, None, None]:
        """The run: record findings and invalid records in input order, then group findings."""
        policy, counts, as_of = self.policy, self.counts, self.as_of
        aggregate_runs = [AggregateRun(program) for program in policy.aggregates]
        if self.jobs > 1:
            from svcpolicy.engines.parallel import judge_in_parallel

            yield from self._raising_failures(
                judge_in_parallel(
                    policy,
                    _sources(inputs),
                    as_of,
                    jobs=self.jobs,
                    encoding=self.encoding,
                    counts=counts,
                    runs=aggregate_runs,
                    contexts=self.contexts,
                    failures=self.input_failures,
                    progress=self.progress,
                    identifiers=self.identifiers,
                )
            )
        else:
            yield from self._judge_here(inputs, aggregate_runs)
        yield from count_group_findings(policy.group_findings(aggregate_runs, as_of), counts)
        if self.progress is not None:
            self.progress(counts)

    def _raw_records(self, inputs: Inputs) -> Generator[RawRecord, None, None]:
        for item in _sources(inputs):
            if isinstance(item, RawRecord):
                yield item
                continue
            try:
                yield from read_records(item, encoding=self.encoding)
            except InputError as exc:
                if self.on_input_error == "raise":
                    raise
                self.counts.input_errors += 1
                self.input_failures.append(InputFailure(source_name(item), exc.message))

    def _raising_failures(
        self, items: Generator[Finding | InvalidRecord, None, None]
    ) -> Iterator[Finding | InvalidRecord]:
        """Pass the workers' items on; with ``on_input_error="raise"``, raise the first input failure they report.

        The workers are stopped however this ends: the exception raised here may be kept long after (by a log,
        a test report), and with it this frame, which would otherwise keep them running."""
        with closing(items):
            for item in items:
                self._raise_failure()
                yield item
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self.on_input_error == "raise" and self.input_failures:
            failure = self.input_failures[0]
            raise InputError(failure.error, SourceLocation(failure.source))

    def _judge_here(self, inputs: Inputs, aggregate_runs: list[AggregateRun]) -> Iterator[Finding | InvalidRecord]:
        """Judge in this process; the record source (the file being read, the durable engine's thread) is closed
        however the run ends, not when an exception keeping this frame is freed."""
        policy, as_of = self.policy, self.as_of
        judge, check, raws = policy.judge, validate, self._raw_records(inputs)
        if self.engine == "durable":
            from svcpolicy.engines.durable import DurableJudge  # durable-rules is imported only when used

            durable = DurableJudge(policy, as_of)
            judge, check, raws, self.engine_stats = (
                durable.judge,
                durable.validate,
                durable.prefetch(raws),
                durable.stats,
            )
        with closing(raws):
            yield from judge_stream(
                policy,
                raws,
                as_of,
                counts=self.counts,
                runs=aggregate_runs,
                contexts=self.contexts,
                identifiers=self.identifiers,
                judge=judge,
                check=check,
                progress=self.progress,
                progress_every=self.progress_every,
            )


def _refuse_unusable(inputs: object) -> None:
    """Raise :class:`InputTypeError` for inputs that are no records at all (bytes would iterate as integers)."""
    if isinstance(inputs, bytes | bytearray | memoryview):
        raise InputTypeError("records given as bytes: pass a file path, or decode them (json.loads) into mappings")
    if not isinstance(inputs, str | Path | Mapping | Iterable) and not _is_model(inputs):
        raise InputTypeError(
            f"records are a file path, a mapping, a model or an iterable of these, not {type(inputs).__name__}"
        )


def _is_model(value: object) -> TypeGuard[BaseModel]:
    """Whether ``value`` is a pydantic model. No object is one while the module defining ``BaseModel`` is not
    imported, so a run given files or mappings never imports pydantic to ask (a third of a warm short check)."""
    models = sys.modules.get("pydantic.main")
    return models is not None and isinstance(value, models.BaseModel)


def _sources(inputs: Inputs) -> Iterator[str | Path | RawRecord]:
    """The inputs in order: record files as paths, everything else as located raw records (``<input>:N``)."""
    _refuse_unusable(inputs)
    if isinstance(inputs, str | Path | Mapping) or _is_model(inputs):
        inputs = [inputs]
    for position, item in enumerate(inputs, start=1):
        if isinstance(item, str | Path):
            yield item
        elif _is_model(item):
            data = item.model_dump(mode="python", exclude_unset=True, by_alias=True)
            yield RawRecord(Locator("<input>", position), data)
        elif isinstance(item, Mapping):
            yield RawRecord(Locator("<input>", position), item)
        else:
            yield RawRecord(Locator("<input>", position), None, f"not a record: {type(item).__name__}")
