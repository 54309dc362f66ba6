"""A pack compiled once: its record rules, aggregate rules, parameters, time zone and calendar.

Every engine (the closure engine here, durable-rules in ``svcpolicy.engines``) judges records against one of
these; :class:`svcpolicy.Policy` adds evaluation of whole inputs on top. Immutable once built, so one
instance serves many threads.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engine.aggregates import AggregateProgram, AggregateRun
from svcpolicy.engine.group_feed import GroupFeed, GroupFunctions
from svcpolicy.engine.parameters import ParameterTable
from svcpolicy.engine.portable import PackSource, rebuild, remember
from svcpolicy.engine.programs import KindProgram, RuleProgram, Verdict, judge_record
from svcpolicy.errors import PackError, PackErrors
from svcpolicy.expr import Compiler, Env
from svcpolicy.pack.definition import PackDefinition
from svcpolicy.records.readers import Locator
from svcpolicy.records.record_shape import ABSENT_DEFAULTS
from svcpolicy.results.catalog import RuleInfo
from svcpolicy.results.findings import Finding, Outcome, PackRef

if TYPE_CHECKING:
    from svcpolicy.expr.codegen import RuleGenerator  # imported when a kind's rules are first generated
    from svcpolicy.pack.schema import Rule  # with pydantic, when the models are first asked for

JUDGED_BY_CLOSURES = 32
"""Records of each kind judged rule by rule by the closures (compiled anyway, for messages and evidence) before
the kind's rules are generated as one function: generating it costs about as much as judging a few hundred
records, which a short run (a pre-commit hook on one small file) would never win back."""


_COMPLIANT = Outcome.COMPLIANT  # looked up once: an enum member's lookup costs as much as the rest of a return


def _log_info(message: str, *args: object) -> None:
    """Log at INFO for an application that uses :mod:`logging`. One that never imported it has configured no
    handler, and INFO never reaches logging's last-resort handler: so a short run does not import logging for it."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(__name__).info(message, *args)


def _rule_generator(compiler: Compiler) -> RuleGenerator:
    from svcpolicy.expr.codegen import RuleGenerator

    return RuleGenerator(compiler)


def _timezone(offset: str) -> dt.timezone:
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


class CompiledPack:
    """A pack's rules compiled (record rules to generated functions, everything else to closures), with what
    judging them needs (parameters, time zone, calendar)."""

    def __init__(
        self,
        pack: PackDefinition,
        *,
        calendar: HolidayCalendar,
        check_messages: bool = False,
        known_to_compile: bool = False,
    ) -> None:
        """Compiles every rule; raises PackErrors with the error of each rule that does not compile.

        Message templates are compiled when first rendered (for a violation), or by ``compile_messages``;
        ``check_messages`` compiles them here, each error reported with the other rules' (what lint does).
        ``known_to_compile`` (this pack's content compiled before, with this code) compiles each record rule's
        expressions on first use instead: a short run pays only for the rules its records reach."""
        self.definition = pack
        spec = pack.spec
        self.id = spec.pack
        self.version = spec.version
        self.title = spec.title
        self.ref = PackRef(self.id, self.version)
        self.tz = _timezone(spec.timezone)
        self.calendar = calendar
        self.parameters = ParameterTable(spec.parameters, self.tz)
        compiler = Compiler(
            params=list(spec.parameters), absent_defaults=ABSENT_DEFAULTS, constants=self.parameters.constant
        )
        self._generator = cache(partial(_rule_generator, compiler))
        """The pack's code generator for record rules, made when a rule or kind is first generated."""
        programs: list[RuleProgram] = []
        aggregates: list[AggregateProgram] = []
        errors: list[PackError] = []
        for rule, site in zip(spec.rules, pack.rule_sites, strict=True):
            try:
                program: RuleProgram | AggregateProgram
                if rule.kind == "aggregate":
                    program = AggregateProgram(rule, site, spec, compiler, self.tz)
                    aggregates.append(program)
                else:
                    program = RuleProgram(rule, site, spec, compiler, self._generator, deferred=known_to_compile)
                    programs.append(program)
                if check_messages:
                    program.message_zh.compile()
                    program.message_en.compile()
            except PackError as exc:
                errors.append(exc)
        if errors:
            raise PackErrors(errors)
        self.programs: tuple[RuleProgram, ...] = tuple(programs)
        self.aggregates: tuple[AggregateProgram, ...] = tuple(aggregates)
        kinds = {kind for program in programs for kind in program.kinds}
        self._by_kind: dict[str, tuple[RuleProgram, ...]] = {
            kind: tuple(p for p in programs if kind in p.kinds) for kind in kinds
        }
        self._fused: dict[str, KindProgram | None] = {}
        self._judged_by_closures: dict[str, int] = {}  # per kind, until JUDGED_BY_CLOSURES
        self.group_functions = GroupFunctions(compiler)
        """Each record kind's aggregates as one generated function, made on the first record of the kind."""
        self.fuse_kinds = True
        """Whether ``judge`` runs all of a kind's rules as one generated function (True), or rule by rule
        (what the benchmark's per-rule cost table times)."""
        # the bytes compiled here, read now: a pack file edited later must not reach the workers
        self._source = PackSource.of(pack)
        remember(self, self._source)
        _log_info(
            "pack %s %s loaded from %s: %d record rules, %d aggregate rules",
            self.id,
            self.version,
            pack.root,
            len(self.programs),
            len(self.aggregates),
        )

    def compile_messages(self) -> None:
        """Compile every message template now (each is otherwise compiled when first rendered); raises PackErrors
        with the error of each template that does not compile."""
        errors: list[PackError] = []
        programs: tuple[RuleProgram | AggregateProgram, ...] = (*self.programs, *self.aggregates)
        for program in programs:
            try:
                program.message_zh.compile()
                program.message_en.compile()
            except PackError as exc:
                errors.append(exc)
        if errors:
            raise PackErrors(errors)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the pack's content and the calendar's data, rebuilt once per process on the other side
        (compiled rules are closures): what a ``--jobs`` worker or a Spark task receives."""
        return (rebuild, (type(self), self._source, self.calendar))

    def programs_for(self, record: Mapping[str, Any]) -> tuple[RuleProgram, ...]:
        """The record rules that apply to a record of this kind."""
        return self._by_kind.get(record.get("kind", "interaction"), ())

    @property
    def rules(self) -> list[Rule]:
        """Every rule of the pack, record and aggregate, in pack order, as the pack schema's models."""
        return list(self.definition.rules)

    def catalog(self) -> tuple[RuleInfo, ...]:
        """Every rule, in pack order, with its resolved citations: what report writers list."""
        programs: dict[str, RuleProgram | AggregateProgram] = {p.id: p for p in self.programs}
        programs.update((p.id, p) for p in self.aggregates)
        return tuple(
            RuleInfo(
                id=rule.id,
                title=rule.title,
                severity=rule.severity,
                citations=tuple(programs[rule.id].citations),
                description=rule.description,
                kind=str(rule.kind),
                waivable=rule.waivable,
                title_zh=rule.title_zh,
                description_zh=rule.description_zh,
            )
            for rule in self.definition.spec.rules
        )

    def kind_program(self, kind: str) -> KindProgram | None:
        """Every rule of a record kind as one generated function, made on the first record of that kind (a short
        run compiles only the kinds it meets); None when a rule nests too deeply for Python: judged rule by rule."""
        if kind not in self._fused:
            members = self._by_kind.get(kind)
            self._fused[kind] = KindProgram.generate(members, self._generator()) if members else None
        return self._fused[kind]

    def aggregate_feed(self, runs: Sequence[AggregateRun]) -> GroupFeed:
        """How a stream feeds its aggregate runs: each record kind's aggregates as one generated function, or
        (``fuse_kinds`` False) each rule by its closures."""
        return GroupFeed(runs, self.group_functions if self.fuse_kinds else None)

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
        fused: KindProgram | None = None
        by_closures = False
        if programs is None:
            kind = record.get("kind", "interaction")
            if self.fuse_kinds:
                fused = self._fused.get(kind)  # once made, no more counting of the records judged before
                if fused is None:
                    by_closures = self._warming_up(kind)
                    fused = None if by_closures else self.kind_program(kind)
            if fused is None:
                programs = self._by_kind.get(kind, ())
        params = self.parameters.for_record(record)
        if env is None:
            env = Env(record, params=params, as_of=as_of, tz=self.tz, calendar=self.calendar)
        else:
            env.reset(record, params)
        judged: Iterable[tuple[RuleProgram, list[Verdict] | None]]
        if fused is not None:
            judged = fused.judge(env, record, self.tz)
            if not judged:  # most records: nothing to report
                return _COMPLIANT, []
        else:
            assert programs is not None  # noqa: S101 - set above whenever no kind function judges
            judged = ((program, program.judge(env, record, self.tz, by_closures=by_closures)) for program in programs)
        return judge_record(judged, env, record, locator, self.ref)

    def _warming_up(self, kind: str) -> bool:
        """Whether this record of ``kind`` is among its first ``JUDGED_BY_CLOSURES`` (counted per pack: threads
        sharing the pack may miscount a little, which changes only when the kind's function is made)."""
        judged = self._judged_by_closures.get(kind, 0)
        if judged >= JUDGED_BY_CLOSURES:
            return False
        self._judged_by_closures[kind] = judged + 1
        return True

    def group_findings(self, runs: Sequence[AggregateRun], as_of: dt.datetime | None) -> Iterator[Finding]:
        """Judge the groups of finished aggregate runs."""
        env = Env({}, params=self.parameters.for_record({}), as_of=as_of, tz=self.tz, calendar=self.calendar)
        for run in runs:
            yield from run.findings(env, self.ref)
