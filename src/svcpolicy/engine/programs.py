"""Compiled rules and the per-record judgement: the hot path.

A pack is compiled once into ``RuleProgram`` objects: each rule's guard, item loop and condition as one
generated Python function (``svcpolicy.expr.codegen``), plus the closures (``svcpolicy.expr.compiler``) of the
same expressions for messages and evidence. Judging a record runs each program's function; compliant results
allocate nothing. Only a violation pays for evidence: its condition is evaluated again by the traced closures
to collect the values it read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from svcpolicy.engine.activity import Activity, ActivityByDay, window_activity
from svcpolicy.engine.parameters import record_date
from svcpolicy.engine.undetermined import undetermined_finding
from svcpolicy.errors import ExpressionError
from svcpolicy.expr import CompiledExpr, Compiler, Env, Template, Undetermined, parse_for_each
from svcpolicy.expr.nodes import Node
from svcpolicy.pack.definition import Site
from svcpolicy.pack.spec import PackSpec, RuleSpec
from svcpolicy.results.findings import Citation, Finding, Outcome, PackRef, RecordRef

if TYPE_CHECKING:  # the code generator is imported when a rule or kind is first generated: a short run never is
    from svcpolicy.expr.codegen import GeneratedRule, RuleFn, RuleGenerator, RuleTrees


@dataclass(frozen=True)
class Verdict:
    """One rule's result on one record or item, before it becomes a finding."""

    outcome: Outcome
    path: str | None
    missing: str | None = None
    reason: str | None = None
    index: int | None = None


class _RuleBody(NamedTuple):
    """A rule's item loop, lets and condition, compiled."""

    loop: tuple[str, str] | None
    collection: CompiledExpr | None
    lets: list[tuple[str, CompiledExpr]]
    let_nodes: dict[str, Node]
    when: CompiledExpr


class RuleProgram:
    """One rule, compiled: guards, the item loop, the condition and the message templates (those on first use:
    see ``CompiledPack``)."""

    def __init__(
        self,
        rule: RuleSpec,
        site: Site,
        pack: PackSpec,
        compiler: Compiler,
        generator: Callable[[], RuleGenerator],
        *,
        deferred: bool = False,
    ) -> None:
        """Compiles the rule's expressions, raising ExpressionError at the first that does not compile; ``deferred``
        compiles each part on first use instead (a pack known to compile: a short run compiles only the guards and
        conditions its records reach). ``generator`` gives the pack's code generator, made when first asked for."""
        self.rule = rule
        self.id = rule.id
        self.citations = tuple(citation_for(pack, ref) for ref in rule.cite)
        self.kinds = rule.applies_to
        self.window = rule_window(rule, pack)
        self.window_text = window_text(self.window)
        self.dated = self.window != (None, None)
        self._site = site
        self._compiler = compiler
        self._generator = generator
        if not deferred:
            self.compile()

    def compile(self) -> None:
        """Compile every part not compiled yet (message templates excepted: see ``CompiledPack``), in the order an
        author reads them, so the first error reported is the first in the rule."""
        _ = self.applies_if, self._body, self._messages

    @cached_property
    def applies_if(self) -> CompiledExpr | None:
        """The guard: compiled alone, so a record it excludes never compiles the rest."""
        rule, site = self.rule, self._site
        if not rule.applies_if:
            return None
        return self._compiler.compile(rule.applies_if, location=site.expression_at("applies_if"))

    @cached_property
    def _body(self) -> _RuleBody:
        """The item loop, the lets and the condition, compiled together (each may read the ones before)."""
        rule, site, compiler = self.rule, self._site, self._compiler
        loop: tuple[str, str] | None = None
        collection: CompiledExpr | None = None
        if rule.for_each:
            loop = parse_for_each(rule.for_each, site.expression_at("for_each"))
            collection = compiler.compile(loop[1], location=site.expression_at("for_each"))
        lets: list[tuple[str, CompiledExpr]] = []
        let_nodes: dict[str, Node] = {}
        for name, source in rule.let.items():
            where = site.expression_at("let", name)
            if loop and name == loop[0]:
                raise ExpressionError(f"let `{name}` hides the loop variable of the same name", where)
            compiled = compiler.compile(source, location=where, lets=let_nodes, loop=loop)
            lets.append((name, compiled))
            let_nodes[name] = compiled.node
        when = compiler.compile(rule.when, location=site.expression_at("when"), lets=let_nodes, loop=loop)
        return _RuleBody(loop, collection, lets, let_nodes, when)

    @cached_property
    def loop(self) -> tuple[str, str] | None:
        """``for_each``'s variable and the source of the collection it walks."""
        return self._body.loop

    @cached_property
    def collection(self) -> CompiledExpr | None:
        return self._body.collection

    @cached_property
    def collection_path(self) -> str:
        return self.collection.source.strip() if self.collection else ""

    @cached_property
    def items_in_record(self) -> bool:
        """Items of a record collection are located (operations[2]); items of a parameter table are not."""
        return self.collection is not None and self.collection.node_is_record_path

    @cached_property
    def lets(self) -> list[tuple[str, CompiledExpr]]:
        return self._body.lets

    @cached_property
    def when(self) -> CompiledExpr:
        return self._body.when

    @cached_property
    def trees(self) -> RuleTrees:
        """The parsed guard, collection and condition: what the generated function is made from."""
        from svcpolicy.expr.codegen import RuleTrees

        return RuleTrees(
            self.applies_if.node if self.applies_if else None,
            self.collection.node if self.collection else None,
            self.loop,
            self.when.node,
        )

    @cached_property
    def _messages(self) -> tuple[Template, Template]:
        site, body = self._site, self._body
        zh, en = (
            self._compiler.template(
                text, location=site.at("message", lang), lets=body.let_nodes, loop=body.loop, lang=lang, deferred=True
            )
            for lang, text in (("zh", self.rule.message_zh), ("en", self.rule.message_en))
        )
        return zh, en

    @cached_property
    def message_zh(self) -> Template:
        return self._messages[0]

    @cached_property
    def message_en(self) -> Template:
        return self._messages[1]

    @cached_property
    def _generated(self) -> GeneratedRule | None:
        """The rule's own generated function, made on first use: a run judges whole kinds at once
        (``KindProgram``), so most runs never need it, and a short run should not pay for compiling it."""
        return self._generator().rule(self.trees)

    @property
    def generated_source(self) -> str | None:
        """The Python text generated for this rule alone; None when it nests too deeply for Python."""
        generated = self._generated
        return generated.source if generated else None

    @cached_property
    def _results(self) -> RuleFn:
        generated = self._generated
        return generated.fn if generated else self.closure_results

    def in_force(self, record: Mapping[str, Any], tz: dt.tzinfo) -> bool:
        """Whether the rule applies at the record's time; raises Undetermined when the time is unknown."""
        if not self.dated:
            return True
        active = self.activity_on(record_date(record, tz))
        if isinstance(active, Undetermined):
            raise active
        return active

    def activity_on(self, day: dt.date | None) -> Activity:
        """Whether to judge the rule on a record of ``day`` (its ``record_date``; None when it has none): False
        when not in force that day, or why that is unknown."""
        return window_activity(self.id, self.window, day)

    def judge(
        self, env: Env, record: Mapping[str, Any], tz: dt.tzinfo, *, by_closures: bool = False
    ) -> list[Verdict] | None:
        """Verdicts that need reporting (violations, undetermined); None when all compliant or not applicable.

        This is the hot path: the rule's generated function runs the guard, the item loop and the condition;
        compliant records return None without allocating anything. ``by_closures`` runs the closures instead
        (the same verdicts), for the first records of a run, before generating code pays for itself.
        """
        try:
            if self.dated and not self.in_force(record, tz):
                return None
            results = self.closure_results(env) if by_closures else self._results(env)
        except Undetermined as exc:
            return self.verdicts(exc)
        return None if results is None else self.verdicts(results)

    def verdicts(self, results: list[tuple[int | None, Any]] | Undetermined) -> list[Verdict]:
        """The verdicts of what a rule function reported (see ``RuleFn``), or of the record's Undetermined."""
        if isinstance(results, Undetermined):
            return [Verdict(Outcome.UNDETERMINED, None, results.field, results.reason)]
        return [self._result_verdict(index, result) for index, result in results]

    def closure_results(self, env: Env) -> list[tuple[int | None, Any]] | None:
        """What the generated function computes (see ``RuleFn``), by the closures: for a rule nested too deeply
        for Python to compile, and the reference the generated code is tested against."""
        if self.applies_if is not None and self.applies_if.fn(env) is not True:
            return None
        if self.collection is None or self.loop is None:
            result = self.when.fn(env)
            return None if result is False else [(None, result)]
        items = self.collection.fn(env)
        if not items:
            return None
        if type(items) is not list and not isinstance(items, list | tuple):
            raise Undetermined(f"for_each: {self.collection_path} is not a list", self.collection_path)
        found: list[tuple[int | None, Any]] = []
        var, when = self.loop[0], self.when.fn
        for index, item in enumerate(items):
            env.locals[var] = item
            env.positions[var] = index
            try:
                result = when(env)
            except Undetermined as exc:
                result = exc
            if result is not False:
                found.append((index, result))
        return found or None

    def _result_verdict(self, index: int | None, result: object) -> Verdict:
        path = None if index is None else self._item_path(index)
        if isinstance(result, Undetermined):
            return Verdict(Outcome.UNDETERMINED, path, result.field, result.reason, index)
        return self._verdict(result, path, index)

    def _item_path(self, index: int) -> str | None:
        return f"{self.collection_path}[{index}]" if self.items_in_record else None

    @staticmethod
    def _verdict(result: object, path: str | None, index: int | None = None) -> Verdict:
        if result is True:
            return Verdict(Outcome.VIOLATION, path, index=index)
        reason = f"condition gave {type(result).__name__}, not true/false"
        return Verdict(Outcome.UNDETERMINED, path, None, reason, index)

    def focus(self, env: Env, index: int | None) -> None:
        """Point the loop variable at the item a verdict is about, to explain and message it."""
        if index is None or self.loop is None or self.collection is None:
            return
        env.locals[self.loop[0]] = self.collection.fn(env)[index]
        env.positions[self.loop[0]] = index

    def evidence(self, env: Env) -> dict[str, Any]:
        """The values the condition read for a violation (re-evaluated in traced mode)."""
        trace: dict[str, Any] = {}
        env.trace = trace
        try:
            self.when.traced(env)
            for name, expr in self.lets:
                try:
                    trace[name] = expr.fn(env)
                except Undetermined as exc:
                    trace[name] = f"undetermined: {exc.reason}"
        finally:
            env.trace = None
        return {key: jsonable(value) for key, value in trace.items()}


class KindProgram:
    """Every record rule of one record kind as one generated function (see ``RuleGenerator.kind``)."""

    def __init__(self, programs: tuple[RuleProgram, ...], fn: Callable[..., Any]) -> None:
        self.programs = programs
        self._fn = fn
        self._dated = any(p.dated for p in programs)
        self._always = (True,) * len(programs)
        self._active_on = ActivityByDay(programs)

    @classmethod
    def generate(cls, programs: tuple[RuleProgram, ...], generator: RuleGenerator) -> KindProgram | None:
        """None when a rule is nested too deeply for Python to compile: its kind is then judged rule by rule."""
        generated = generator.kind([p.trees for p in programs], [p.dated for p in programs])
        return None if generated is None else cls(programs, generated.fn)

    def judge(self, env: Env, record: Mapping[str, Any], tz: dt.tzinfo) -> list[tuple[RuleProgram, list[Verdict]]]:
        """The rules that have something to report on this record, with their verdicts, in pack order."""
        active = self._active_on(record_date(record, tz)) if self._dated else self._always
        reported = self._fn(env, active)
        if reported is None:
            return []
        return [(self.programs[position], self.programs[position].verdicts(result)) for position, result in reported]


def jsonable(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:  # most evidence: no conversion, decided before the isinstance chain
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds() / 86400:g} days"
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


_PLAIN = frozenset({str, int, float, bool})


def rule_window(rule: RuleSpec, pack: PackSpec) -> tuple[dt.date | None, dt.date | None]:
    """The days a rule is in force: its own dates within its pack's (either may be open-ended).

    A rule all of whose cited provisions take effect later has no basis before the earliest of them, so it
    starts then too.
    """
    starts = [d for d in (rule.effective_from, pack.effective_from) if d is not None]
    cited_from = [pack.provision_effective_from(ref) for ref in rule.cite]
    if cited_from and all(d is not None for d in cited_from):
        starts.append(min(d for d in cited_from if d is not None))
    ends = [d for d in (rule.effective_until, pack.effective_until) if d is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


def window_text(window: tuple[dt.date | None, dt.date | None]) -> tuple[str | None, str | None] | None:
    if window == (None, None):
        return None
    return (window[0].isoformat() if window[0] else None, window[1].isoformat() if window[1] else None)


def citation_for(pack: PackSpec, ref: str) -> Citation:
    """What a finding says of a cited provision (``source/provision``)."""
    source_id, _, provision_id = ref.partition("/")
    source = pack.sources[source_id]
    provision = source.provisions[provision_id]
    effective_from = pack.provision_effective_from(ref)
    repeats = provision.label is not None and any(
        other.label == provision.label and other.chapter != provision.chapter
        for key, other in source.provisions.items()
        if key != provision_id
    )
    return Citation(
        source=source_id,
        provision=provision_id,
        title=source.title,
        label=provision.label,
        chapter=provision.chapter,
        text=provision.text,
        kind=source.kind,
        reference=source.reference,
        confidence=provision.confidence,
        wording=provision.wording,
        effective_from=effective_from.isoformat() if effective_from else None,
        label_repeats=repeats,
    )


def citations_in_force(citations: tuple[Citation, ...], day: dt.date | None) -> tuple[Citation, ...]:
    """The citations a finding on ``day`` may make: none of a provision not yet in force that day.

    An unknown day keeps them all (the rule's own window already makes dated rules undetermined then).
    """
    if day is None or all(c.effective_from is None for c in citations):
        return citations
    text = day.isoformat()
    return tuple(c for c in citations if c.effective_from is None or c.effective_from <= text)


def make_finding(program: RuleProgram, verdict: Verdict, env: Env, ref: RecordRef, pack: PackRef) -> Finding:
    """Turn a verdict into a finding; a violation also gets its evidence and rendered messages."""
    located = RecordRef(ref.id, ref.source, ref.line, verdict.path)
    rule = program.rule
    if verdict.outcome is not Outcome.VIOLATION:
        return undetermined_finding(
            program.id,
            rule.title,
            rule.severity,
            citations_in_force(program.citations, record_date(env.record, env.tz)),
            located,
            pack,
            reason=verdict.reason,
            missing=verdict.missing,
            effective=program.window_text,
        )
    program.focus(env, verdict.index)
    evidence = program.evidence(env)
    return Finding(
        rule=program.id,
        title=rule.title,
        severity=rule.severity,
        outcome=Outcome.VIOLATION,
        citations=citations_in_force(program.citations, record_date(env.record, env.tz)),
        record=located,
        message_zh=program.message_zh.render(env),
        message_en=program.message_en.render(env),
        pack=pack,
        evidence=evidence,
        effective=program.window_text,
    )


def judge_record(
    judged: Iterable[tuple[RuleProgram, list[Verdict] | None]],
    env: Env,
    record: Mapping[str, Any],
    locator: tuple[str, int] | None,
    pack: PackRef,
) -> tuple[Outcome, list[Finding]]:
    """A record's outcome and findings from its rules' verdicts (taken one rule at a time, as they are judged)."""
    findings: list[Finding] = []
    outcome = Outcome.COMPLIANT
    ref: RecordRef | None = None
    for program, verdicts in judged:
        if not verdicts:
            continue
        if ref is None:
            ref = RecordRef(record.get("id"), *(locator if locator else (None, None)))
        for verdict in verdicts:
            findings.append(make_finding(program, verdict, env, ref, pack))
            if verdict.outcome is Outcome.VIOLATION:
                outcome = Outcome.VIOLATION
            elif outcome is Outcome.COMPLIANT:
                outcome = Outcome.UNDETERMINED
    return outcome, findings
