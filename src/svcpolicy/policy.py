"""The public entry point: a loaded, compiled pack that evaluates records.

A ``Policy`` is immutable once loaded, so one instance can serve many threads; each evaluation keeps its
own state in an ``Evaluation`` iterator, which streams findings in input order while counting every record.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engine import RuleProgram, make_finding
from svcpolicy.errors import InputError, PackError, PackErrors
from svcpolicy.expr import Compiler, Env
from svcpolicy.findings import Finding, InvalidRecord, Outcome, PackRef, RecordRef
from svcpolicy.model import ABSENT_DEFAULTS
from svcpolicy.pack.loader import PackDefinition, read_pack
from svcpolicy.pack.schema import Example, Rule
from svcpolicy.parameters import ParameterTable
from svcpolicy.readers import Locator, RawRecord, read_records, validate
from svcpolicy.report import Counts, InputFailure, Report

DEFAULT_PACK = "cn-bank-service"

RecordInput = Mapping[str, Any] | BaseModel | str | Path
Inputs = RecordInput | Iterable[RecordInput]
Progress = Callable[[Counts], None]


def bundled_pack_path(name: str = DEFAULT_PACK) -> Path:
    """Where a bundled pack lives: inside the installed wheel, or in the source checkout's rules/."""
    packaged = importlib.resources.files("svcpolicy") / "_bundled_packs" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "rules" / name
    if checkout.is_dir():
        return checkout
    raise PackError(f"no bundled pack named {name!r}")


def _timezone(offset: str) -> dt.timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def load_policy(pack: str | Path | None = None, *, calendar: HolidayCalendar | None = None) -> Policy:
    """Load and compile a pack: a path, the name of a bundled pack, or None for the default bundled pack."""
    if pack is None or (isinstance(pack, str) and not Path(pack).exists() and "/" not in pack):
        path = bundled_pack_path(pack or DEFAULT_PACK)
    else:
        path = Path(pack)
    return Policy(read_pack(path), calendar=calendar or HolidayCalendar.official())


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


class Policy:
    """A compiled pack. Build with :func:`load_policy`; evaluate records with :meth:`evaluate`."""

    def __init__(self, pack: PackDefinition, *, calendar: HolidayCalendar) -> None:
        self.definition = pack
        self.id = pack.manifest.pack
        self.version = pack.manifest.version
        self.title = pack.manifest.title
        self.ref = PackRef(self.id, self.version)
        self.tz = _timezone(pack.manifest.timezone)
        self.calendar = calendar
        self.parameters = ParameterTable(pack.parameters, self.tz)
        compiler = Compiler(
            params=list(pack.parameters), absent_defaults=ABSENT_DEFAULTS, constants=self.parameters.constant
        )
        programs: list[RuleProgram] = []
        errors: list[PackError] = []
        for rule, site in zip(pack.rules, pack.rule_sites, strict=True):
            try:
                programs.append(RuleProgram(rule, site, pack, compiler))
            except PackError as exc:
                errors.append(exc)
        if errors:
            raise PackErrors(errors)
        self.programs: tuple[RuleProgram, ...] = tuple(programs)
        kinds = {kind for program in programs for kind in program.kinds}
        self._by_kind = {kind: tuple(p for p in programs if kind in p.kinds) for kind in kinds}

    @property
    def rules(self) -> list[Rule]:
        return [p.rule for p in self.programs]

    def __repr__(self) -> str:
        return f"<Policy {self.id} {self.version}: {len(self.programs)} rules>"

    # -- evaluation ---------------------------------------------------------------------------------

    def iter_findings(
        self,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        progress: Progress | None = None,
    ) -> Evaluation:
        """Stream findings and invalid records in input order, in constant memory."""
        return Evaluation(self, inputs, as_of=as_of, encoding=encoding, progress=progress)

    def evaluate(
        self,
        inputs: Inputs,
        *,
        as_of: dt.datetime | None = None,
        encoding: str = "utf-8",
        progress: Progress | None = None,
    ) -> Report:
        """Evaluate records (a file path, a dict, a pydantic model, or an iterable of these) into a Report."""
        run = self.iter_findings(inputs, as_of=as_of, encoding=encoding, progress=progress)
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
        )

    def judge(
        self,
        record: Mapping[str, Any],
        locator: Locator | None,
        as_of: dt.datetime | None,
        programs: Sequence[RuleProgram] | None = None,
        env: Env | None = None,
    ) -> tuple[Outcome, list[Finding]]:
        """Judge one validated record: its overall outcome and the findings that need attention.

        ``env`` lets a stream reuse one environment (with this ``as_of``) for all its records.
        """
        if programs is None:
            programs = self._by_kind.get(record.get("kind", "interaction"), ())
        params = self.parameters.for_record(record)
        if env is None:
            env = Env(record, params=params, as_of=as_of, tz=self.tz, calendar=self.calendar)
        else:
            env.reset(record, params)
        findings: list[Finding] = []
        outcome = Outcome.COMPLIANT
        ref: RecordRef | None = None
        for program in programs:
            verdicts = program.judge(env, record, self.tz)
            if verdicts is None:
                continue
            if ref is None:
                ref = RecordRef(record.get("id"), *(locator if locator else (None, None)))
            for verdict in verdicts:
                findings.append(make_finding(program, verdict, env, ref, self.ref))
                if verdict.outcome is Outcome.VIOLATION:
                    outcome = Outcome.VIOLATION
                elif outcome is Outcome.COMPLIANT:
                    outcome = Outcome.UNDETERMINED
        return outcome, findings

    # -- embedded examples --------------------------------------------------------------------------

    def run_examples(self, rule_id: str | None = None) -> list[ExampleResult]:
        """Run every embedded example (of one rule, or all) against its own rule."""
        results: list[ExampleResult] = []
        for program in self.programs:
            if rule_id is not None and program.id != rule_id:
                continue
            for i, example in enumerate(program.rule.examples):
                results.append(self._run_example(program, i, example))
        return results

    def _run_example(self, program: RuleProgram, index: int, example: Example) -> ExampleResult:
        fragment = dict(example.fragment)
        fragment.setdefault("id", f"{program.id}-example-{index}")
        record, error, _ = validate(RawRecord(Locator("<example>", index), fragment))
        if record is None:
            actual, missing, detail = "invalid", None, error
        else:
            outcome, findings = self.judge(record, None, example.as_of, programs=[program])
            actual = str(outcome)
            missing = next((f.missing for f in findings if f.outcome is Outcome.UNDETERMINED), None)
            detail = "; ".join(f.reason or f.message_en for f in findings) or None
        return ExampleResult(
            rule=program.id,
            index=index,
            name=example.name,
            expected=example.expected,
            actual=actual,
            missing_expected=example.missing,
            missing_actual=missing,
            detail=detail,
        )


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
    ) -> None:
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone offset")
        self.policy = policy
        self.as_of = as_of if as_of is not None else dt.datetime.now(policy.tz).replace(microsecond=0)
        self.encoding = encoding
        self.counts = Counts()
        self.input_failures: list[InputFailure] = []
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
        for raw in self._raw_records(inputs):
            record, error, record_id = validate(raw)
            if record is None:
                counts.add_record(Outcome.INVALID)
                yield InvalidRecord(
                    RecordRef(record_id, raw.locator.source, raw.locator.line), error or "invalid record"
                )
            else:
                outcome, findings = policy.judge(record, raw.locator, as_of, env=env)
                counts.add_record(outcome)
                for finding in findings:
                    if finding.outcome is Outcome.VIOLATION:
                        counts.violations += 1
                    else:
                        counts.undetermined_findings += 1
                    yield finding
            if progress is not None and counts.records % every == 0:
                progress(counts)
        if progress is not None:
            progress(counts)
