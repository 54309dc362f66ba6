"""``svcpolicy lint``: find mistakes in a rule pack before it runs on real records.

Loading a pack already rejects what cannot run (YAML, schema, citations that do not resolve, duplicate ids,
expressions outside the language). Lint reports those, and then checks what would run but be wrong:

- field paths against the record model (``svcpolicy.records.model``): a misspelt field is an error with a
  did-you-mean (``customer.risk_tolerence`` → ``customer.risk_tolerance``); a field read on a list
  (``operations.kind``) or on a plain value (``customer.id.x``) is an error; anything under ``extra.`` is free;
- comparisons of a field with a literal of another kind (``customer.age == "60"``), or with a value its
  model never takes (``complaint.complexity == "compex"``): never true, always undetermined at run time;
- conditions that cannot depend on the record: a ``when`` that is always true or never true, an
  ``applies_if`` that is always false (the rule never applies), ``x is None`` on a field that is never null;
  an ``and``/``or`` operand that is constant; a rule whose dates lie outside the pack's;
- parameters that cite no source or that no rule uses, lets that are never used, rules without a violating
  or a compliant example, scaffold text left in place, a title or description without its Chinese (``_zh``).

Every message is ``file:line:col: error|warning: text [code]``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from svcpolicy.authoring.phrase_forms import (
    describe,
    literal_phrases,
    normalized_phrase_arguments,
    phrases_off_form,
)
from svcpolicy.calendar import HolidayCalendar
from svcpolicy.engine.parameters import ParameterTable
from svcpolicy.engine.pattern_conditions import compile_condition
from svcpolicy.errors import ExpressionError, PackError, PackErrors, SourceLocation
from svcpolicy.expr import CompiledExpr, Compiler, Env, Template, Undetermined, parse, parse_for_each
from svcpolicy.expr import nodes as n
from svcpolicy.pack.definition import PackDefinition, Site
from svcpolicy.pack.loader import read_pack_partially
from svcpolicy.pack.schema import Rule
from svcpolicy.records.model import ABSENT_DEFAULTS, RECORD_TYPE
from svcpolicy.records.types import FieldSpec

Level = Literal["error", "warning"]
SCAFFOLD_MARKER = "TODO(svcpolicy init-pack)"
"""Text ``svcpolicy init-pack`` leaves where an author must transcribe the real article."""

_AGGREGATE_SPEC = re.compile(r"^\s*(?P<function>[a-z_]+)\s*\((?P<argument>.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True, order=True)
class LintMessage:
    """One problem found, located in the pack."""

    file: str
    line: int
    column: int
    level: Level
    message: str
    code: str

    @classmethod
    def at(cls, where: SourceLocation | None, level: Level, message: str, code: str) -> LintMessage:
        where = where or SourceLocation("<pack>")
        return cls(where.file, where.line, where.column, level, message, code)

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.file, self.line, self.column)

    def __str__(self) -> str:
        return f"{self.location}: {self.level}: {self.message} [{self.code}]"


# -- the record model, as kinds per field path ---------------------------------------------------------


FIELD_KINDS: Mapping[str, FieldSpec] = {spec.path: spec for spec in RECORD_TYPE.descendants()}
"""The record model's fields by schema path, as :mod:`svcpolicy.records.types` describes them."""
_FREE = "<free>"  # a path under extra: anything goes
_WORDS = {"string": "text", "bool": "boolean"}  # a kind in a pack author's words


def _word(kind: str) -> str:
    return _WORDS.get(kind, kind)


def _value_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "any"


def _fits(literal_kind: str, field_kind: str) -> bool:
    """A literal of ``literal_kind`` can equal a value of ``field_kind`` (a decimal amount equals numbers)."""
    return literal_kind == field_kind or (field_kind == "decimal" and literal_kind == "number")


# -- walking one expression --------------------------------------------------------------------------


@dataclass
class _Scope:
    """Names visible in an expression: name -> schema path (``operations[]``), None when not a record path."""

    names: dict[str, str | None]
    params: frozenset[str]


class _Checker:
    """Walks parsed expressions of one rule and collects messages, parameter and let uses."""

    def __init__(self, messages: list[LintMessage], *, report_syntax: bool = False) -> None:
        self.messages = messages
        self.params_used: set[str] = set()
        self.names_used: set[str] = set()
        self.normalized_phrase_params: set[str] = set()
        """Parameters searched for as phrases in a normalize()d text: their values must be in normal form."""
        self.reads_record = False
        self.report_syntax = report_syntax
        """Report expressions that do not parse (when the engine's compile, which reports them, did not run)."""

    def error(self, node: n.Node, message: str, code: str, level: Level = "error") -> None:
        self.messages.append(LintMessage.at(node.loc, level, message, code))

    def check(self, node: n.Node, scope: _Scope) -> None:
        """Check a whole expression; ``reads_record`` tells afterwards whether it reads the record or as_of."""
        self.reads_record = False
        self._visit(node, scope)
        self._phrase_forms(node)

    def _phrase_forms(self, node: n.Node) -> None:
        """Literal phrases searched for in a normalize()d text are checked here; parameters once per pack."""
        for argument in normalized_phrase_arguments(node):
            if isinstance(argument, n.Param):
                self.normalized_phrase_params.add(argument.name)
                continue
            off = phrases_off_form(literal_phrases(argument))
            if off:
                self.error(argument, f"never found in a normalize()d text: {describe(off)}", "phrase-not-normalized")

    def schema(self, node: n.Node, scope: _Scope) -> str | None:
        """The model path of a field-path node (``operations[].kind``), _FREE under extra, None otherwise."""
        if isinstance(node, n.Name):
            self.names_used.add(node.id)
            if node.id in scope.names:
                if scope.names[node.id] is not None:
                    self.reads_record = True
                return scope.names[node.id]
            self.reads_record = True
            if node.id not in FIELD_KINDS:
                tops = sorted(p for p in FIELD_KINDS if "." not in p and "[" not in p)
                local = sorted(k for k in scope.names)
                self.error(node, f"unknown field `{node.id}`{_hint(node.id, tops + local)}", "unknown-field")
                return None
            return node.id
        if isinstance(node, n.Param):
            self._param(node, scope)
            return None
        if isinstance(node, n.AsOf):
            self.reads_record = True
            return None
        if isinstance(node, n.Field):
            base = self.schema(node.base, scope)
            if base is None:
                if not isinstance(node.base, n.Param | n.AsOf):
                    self._visit(node.base, scope)
                return None
            if base == _FREE or base == "extra":
                return _FREE
            path = f"{base}.{node.name}"
            if path in FIELD_KINDS:
                return path
            kind = FIELD_KINDS.get(base)
            if kind is not None and kind.kind == "list" and f"{base}[].{node.name}" in FIELD_KINDS:
                self.error(
                    node,
                    f"`{node.base.text}` is a list: read `{node.name}` of its items with `for_each: x in "
                    f"{node.base.text}` or any(x.{node.name} … for x in {node.base.text})",
                    "field-of-list",
                )
            elif kind is not None and kind.kind not in ("mapping", "any"):
                self.error(
                    node,
                    f"`{node.base.text}` is a {_word(kind.kind)} value: it has no field `{node.name}`",
                    "field-of-value",
                )
            else:
                siblings = sorted(
                    p.rsplit(".", 1)[1]
                    for p in FIELD_KINDS
                    if p.startswith(base + ".") and "." not in p[len(base) + 1 :]
                )
                self.error(
                    node,
                    f"unknown field `{node.name}` of `{node.base.text}` ({base}){_hint(node.name, siblings)}",
                    "unknown-field",
                )
            return None
        if isinstance(node, n.Item):
            base = self.schema(node.base, scope)
            if base is None:
                return None
            if base == _FREE or base == "extra":
                return _FREE
            kind = FIELD_KINDS.get(base)
            if kind is not None and kind.kind != "list":
                if kind.kind == "mapping" and isinstance(node.index, str):
                    return f"{base}.{node.index}" if f"{base}.{node.index}" in FIELD_KINDS else None
                self.error(node, f"`{node.base.text}` is not a list: it has no item [{node.index}]", "item-of-value")
                return None
            return f"{base}[]"
        return None

    def _param(self, node: n.Param, scope: _Scope) -> None:
        self.params_used.add(node.name)

    def _visit(self, node: n.Node, scope: _Scope) -> None:
        if isinstance(node, n.PATH_NODES):
            self.schema(node, scope)
            return
        if isinstance(node, n.Quantifier):
            collection = self.schema(node.iterable, scope) if isinstance(node.iterable, n.PATH_NODES) else None
            if not isinstance(node.iterable, n.PATH_NODES):
                self._visit(node.iterable, scope)
            if collection is not None and collection != _FREE:
                kind = FIELD_KINDS.get(collection)
                if kind is not None and kind.kind not in ("list", "any"):
                    self.error(
                        node.iterable, f"`{node.iterable.text}` is a {_word(kind.kind)} value, not a list", "not-a-list"
                    )
            item = None if collection is None else (_FREE if collection == _FREE else f"{collection}[]")
            inner = _Scope({**scope.names, node.var: item}, scope.params)
            for part in (node.element, node.condition):
                if part is not None:
                    self._visit(part, inner)
            return
        if isinstance(node, n.Compare):
            self._compare(node, scope)
        if isinstance(node, n.Has):
            self.schema(node.path, scope)
            return
        for child in n.children(node):
            self._visit(child, scope)

    def _compare(self, node: n.Compare, scope: _Scope) -> None:
        operands = (node.left, *node.operands)
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            path = self._peek(left, scope)
            other = right
            if path is None:
                path, other = self._peek(right, scope), left
            if path is None or path == _FREE or path not in FIELD_KINDS:
                continue
            kind = FIELD_KINDS[path]
            if op in ("is", "is not"):
                if (
                    isinstance(right, n.Const)
                    and right.value is None
                    and not kind.nullable
                    and path not in _NULL_DEFAULTS
                ):
                    verdict = "False" if op == "is" else "True"
                    self.error(
                        node,
                        f"`{node.text}` is always {verdict}: {path} is never null"
                        + (" (a list: absent means empty)" if kind.kind == "list" else ""),
                        "constant-condition",
                    )
                continue
            literals: list[object] = []
            if isinstance(other, n.Const) and other.value is not None:
                literals = [other.value]
                if op in ("in", "not in") and isinstance(other.value, str) and kind.kind == "string" and other is right:
                    continue  # substring test: "保本" in statement
            elif isinstance(other, n.ListLit) and op in ("in", "not in") and other is right:
                literals = [item.value for item in other.items if isinstance(item, n.Const) and item.value is not None]
            for literal in literals:
                self._literal_fits(node, path, kind, literal)

    def _literal_fits(self, node: n.Node, path: str, kind: FieldSpec, literal: object) -> None:
        literal_kind = _value_kind(literal)
        if kind.kind in ("any", "mapping", "list") or literal_kind == "any":
            return
        if not _fits(literal_kind, kind.kind):
            self.error(
                node,
                f"`{node.text}` compares {path} (a {_word(kind.kind)}) with a {_word(literal_kind)} ({literal!r}): "
                "never true, always undetermined",
                "type-mismatch",
            )
        elif kind.choices and literal not in kind.choices:
            allowed = ", ".join(repr(c) for c in kind.choices)
            self.error(
                node,
                f"`{node.text}`: {path} is one of {allowed}; {literal!r} never occurs"
                f"{_hint(str(literal), [str(c) for c in kind.choices])}",
                "unknown-value",
            )

    def _peek(self, node: n.Node, scope: _Scope) -> str | None:
        """The schema path of a node without reporting anything (reported when visited)."""
        if not isinstance(node, n.PATH_NODES):
            return None
        sink: list[LintMessage] = []
        quiet = _Checker(sink)
        return quiet.schema(node, scope)


_NULL_DEFAULTS = frozenset(path for path, value in ABSENT_DEFAULTS.items() if value is None)


def _hint(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


# -- constant conditions ------------------------------------------------------------------------------


@functools.cache
def _calendar() -> HolidayCalendar:
    return HolidayCalendar.official()


def _constant_value(source: str, where: SourceLocation | None, compiler: Compiler, tz: dt.tzinfo) -> tuple[bool, Any]:
    """Evaluate an expression that reads no record field; (False, None) when it cannot be decided alone."""
    try:
        compiled: CompiledExpr = compiler.compile(source, location=where)
        env = Env({}, params={}, as_of=None, tz=tz, calendar=_calendar())
        return True, compiled.fn(env)
    except (ExpressionError, Undetermined, KeyError, TypeError):
        return False, None


def _constant_operands(node: n.Node, checker: _Checker, scope: _Scope) -> None:
    """Warn about ``and``/``or`` operands and conditional tests that are literal True/False."""
    if isinstance(node, n.BoolOp):
        for operand in node.operands:
            if isinstance(operand, n.Const) and isinstance(operand.value, bool):
                checker.error(
                    operand,
                    f"`{operand.text}` in `{node.op}` is a constant: the operand decides nothing",
                    "constant-operand",
                    "warning",
                )
    if isinstance(node, n.Conditional) and isinstance(node.test, n.Const):
        checker.error(node.test, "the test of this conditional is a constant", "constant-operand", "warning")
    for child in n.children(node):
        _constant_operands(child, checker, scope)


# -- the pack ---------------------------------------------------------------------------------------


@dataclass
class LintResult:
    pack: str
    messages: list[LintMessage]

    @property
    def errors(self) -> list[LintMessage]:
        return [m for m in self.messages if m.level == "error"]

    @property
    def warnings(self) -> list[LintMessage]:
        return [m for m in self.messages if m.level == "warning"]

    @property
    def loads(self) -> bool:
        """False when the engine itself refused the pack (it does not load or compile): a broken pack."""
        return not any(m.code in LOAD_ERROR_CODES for m in self.errors)


def base_files(pack: PackDefinition) -> set[str]:
    """The files of the packs an overlay extends (its base, the base's base, …): not the overlay's own."""
    files: set[str] = set()
    base = pack.base
    while base is not None:
        files.update(str(f) for f in base.files)
        base = base.base
    return files


def lint_pack(path: str | Path) -> LintResult:
    """Lint one pack (a directory with pack.yaml, or a pack file): every problem in one run.

    A pack that does not load whole is still linted as far as it loaded: the rules that passed the schema get
    lint's own checks (and their expressions a syntax check), so fixing one problem does not reveal the next.
    """
    messages: list[LintMessage] = []
    try:
        pack, load_errors = read_pack_partially(path)
    except PackErrors as exc:
        messages.extend(_pack_error(e) for e in exc.errors)
        return LintResult(str(path), sorted(messages))
    except PackError as exc:
        messages.append(_pack_error(exc))
        return LintResult(str(path), sorted(messages))
    if load_errors:
        messages.extend(_pack_error(e) for e in load_errors)
        _lint_rules(pack, messages, syntax=True)  # the engine compiles only a whole pack
    else:
        _lint_definition(pack, messages)
    return LintResult(str(path), sorted(set(messages)))


LOAD_ERROR_CODES = frozenset({"pack", "expression"})
"""The codes of errors the engine raises itself (:func:`_pack_error`), as against lint's own findings."""


def _pack_error(exc: PackError) -> LintMessage:
    code = "expression" if isinstance(exc, ExpressionError) else "pack"
    return LintMessage.at(exc.location, "error", exc.message, code)


def lint_loaded(pack: PackDefinition) -> LintResult:
    """Lint a pack the engine has already loaded and compiled (what ``svcpolicy check`` does before it runs)."""
    messages: list[LintMessage] = []
    _lint_rules(pack, messages)
    return LintResult(str(pack.root), sorted(set(messages)))


def _lint_definition(pack: PackDefinition, messages: list[LintMessage]) -> None:
    from svcpolicy.policy import Policy  # the engine's own compile: expression errors as it would raise them

    try:
        Policy(pack, calendar=HolidayCalendar.official(), check_messages=True)
    except PackErrors as exc:
        messages.extend(_pack_error(e) for e in exc.errors)
    except PackError as exc:
        messages.append(_pack_error(exc))
    _lint_rules(pack, messages)


def _lint_sequence_conditions(
    pack: PackDefinition, table: ParameterTable, inherited: set[str], messages: list[LintMessage]
) -> None:
    """Compile every sequence pattern's ``when`` as the monitor will: a bad one is an error now, not when the
    monitor starts (events carry every field of their type, null when unset, hence no absent defaults)."""
    compiler = Compiler(params=list(pack.parameters), absent_defaults={}, constants=table.constant)
    for rule, site in zip(pack.sequences, pack.sequence_sites, strict=True):
        if site.doc.file in inherited:
            continue
        for at, pattern in rule.located_patterns():
            try:
                compile_condition(pattern, compiler, site.expression_at(*at, "when"))
            except ExpressionError as exc:
                messages.append(_pack_error(exc))


def _lint_rules(pack: PackDefinition, messages: list[LintMessage], *, syntax: bool = False) -> None:
    """Lint's own checks of rules, parameters and sources (the engine's compile is not repeated here);
    ``syntax``: also report expressions that do not parse, when the engine's compile could not run."""
    inherited = base_files(pack)
    tz = _tz(pack.manifest.timezone)
    table = ParameterTable(pack.spec.parameters, tz)
    compiler = Compiler(params=list(pack.parameters), absent_defaults=ABSENT_DEFAULTS, constants=table.constant)
    params_used: set[str] = set()
    phrase_params: set[str] = set()
    own_rules = [(r, s) for r, s in zip(pack.rules, pack.rule_sites, strict=True) if s.doc.file not in inherited]
    for rule, site in zip(pack.rules, pack.rule_sites, strict=True):
        checker = _Checker(messages if site.doc.file not in inherited else [], report_syntax=syntax)
        _lint_rule(rule, site, pack, compiler, checker, tz)
        params_used |= checker.params_used
        phrase_params |= checker.normalized_phrase_params
    for rule, site in own_rules:
        _lint_rule_metadata(rule, site, pack, messages)
    _lint_sequence_conditions(pack, table, inherited, messages)
    _lint_phrase_parameters(pack, phrase_params, inherited, messages)
    for name, parameter in pack.parameters.items():
        where = pack.parameter_sites[name]
        if where.doc.file in inherited:
            continue
        if not parameter.cite:
            messages.append(
                LintMessage.at(
                    where.at(),
                    "warning",
                    f"parameter `{name}` cites no source (bank_set): cite the bank's own rule",
                    "uncited-parameter",
                )
            )
        if name not in params_used:
            messages.append(
                LintMessage.at(where.at(), "warning", f"parameter `{name}` is not used by any rule", "unused-parameter")
            )
    for source_id, source in pack.sources.items():
        site = pack.source_sites[source_id]
        if site.doc.file in inherited:
            continue
        for provision_id, provision in source.provisions.items():
            if SCAFFOLD_MARKER in provision.text:
                messages.append(
                    LintMessage.at(
                        site.at("provisions", provision_id, "text"),
                        "warning",
                        f"{source_id}/{provision_id} still holds the scaffold text: transcribe the article verbatim",
                        "scaffold-text",
                    )
                )


def _lint_phrase_parameters(
    pack: PackDefinition, names: set[str], inherited: set[str], messages: list[LintMessage]
) -> None:
    """A phrase list searched for in a normalize()d text with a phrase not in normal form never finds it."""
    for name in sorted(names & set(pack.parameters)):
        where = pack.parameter_sites[name]
        if where.doc.file in inherited and name not in pack.manifest.tighten:
            continue
        parameter = pack.parameters[name]
        values = [parameter.value] if parameter.values is None else list(parameter.values.values())
        off = [phrase for value in values for phrase in phrases_off_form(value)]
        if off:
            messages.append(
                LintMessage.at(
                    where.at(),
                    "error",
                    f"parameter `{name}` is searched for in normalize()d text, which never holds {describe(off)}",
                    "phrase-not-normalized",
                )
            )


def _tz(offset: str) -> dt.timezone:
    sign = -1 if offset.startswith("-") else 1
    return dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


def _lint_rule_metadata(rule: Rule, site: Site, pack: PackDefinition, messages: list[LintMessage]) -> None:
    _lint_chinese_text(rule, site, messages)
    expected = {e.expected for e in rule.examples}
    for outcome, word in (("violation", "violating"), ("compliant", "compliant")):
        if outcome not in expected:
            messages.append(
                LintMessage.at(site.at("id"), "warning", f"rule {rule.id} has no {word} example", "missing-example")
            )
    names = [e.name for e in rule.examples if e.name]
    for i, example in enumerate(rule.examples):
        if example.name and names.count(example.name) > 1 and names.index(example.name) != i:
            messages.append(
                LintMessage.at(
                    site.at("examples", i, "name"),
                    "warning",
                    f"example name {example.name!r} is used twice",
                    "duplicate-example",
                )
            )
    manifest = pack.manifest
    if manifest.effective_until and rule.effective_from and rule.effective_from > manifest.effective_until:
        messages.append(
            LintMessage.at(
                site.at("effective_from"),
                "error",
                f"rule takes effect after the pack ends ({manifest.effective_until})",
                "unreachable-rule",
            )
        )
    if manifest.effective_from and rule.effective_until and rule.effective_until < manifest.effective_from:
        messages.append(
            LintMessage.at(
                site.at("effective_until"),
                "error",
                f"rule ends before the pack takes effect ({manifest.effective_from})",
                "unreachable-rule",
            )
        )


def _lint_chinese_text(rule: Rule, site: Site, messages: list[LintMessage]) -> None:
    """Reports are in Chinese by default: a title or description without its ``_zh`` prints in English there."""
    for name, english, chinese in (
        ("title", rule.title, rule.title_zh),
        ("description", rule.description, rule.description_zh),
    ):
        if english and not chinese:
            messages.append(
                LintMessage.at(
                    site.at(name),
                    "warning",
                    f"rule {rule.id} has no {name}_zh: reports in Chinese (--lang zh, the default) print the English "
                    f"{name}",
                    "missing-zh",
                )
            )


def _lint_rule(
    rule: Rule, site: Site, pack: PackDefinition, compiler: Compiler, checker: _Checker, tz: dt.tzinfo
) -> None:
    params = frozenset(pack.parameters)
    names: dict[str, str | None] = {}
    parsed: dict[str, n.Node] = {}

    def parse_at(source: str, where: SourceLocation | None) -> n.Node | None:
        try:
            return parse(source, where)
        except ExpressionError as exc:
            if checker.report_syntax:
                checker.messages.append(_pack_error(exc))
            return None  # otherwise reported by the engine's compile

    if rule.for_each:
        where = site.expression_at("for_each")
        try:
            var = parse_for_each(rule.for_each, where)[0]
        except ExpressionError:
            var = ""
        if var:
            tree = parse_at(rule.for_each, where)
            collection_node = tree.operands[0] if isinstance(tree, n.Compare) else None
            if collection_node is not None:
                checker.check(collection_node, _Scope(dict(names), params))
                schema = (
                    checker.schema(collection_node, _Scope(dict(names), params))
                    if isinstance(collection_node, n.PATH_NODES)
                    else None
                )
                names[var] = None if schema is None else (_FREE if schema == _FREE else f"{schema}[]")
    is_aggregate = rule.kind == "aggregate"
    member_fields: list[tuple[str, str, tuple[str | int, ...]]] = []
    if rule.applies_if:
        member_fields.append(("applies_if", rule.applies_if, ("applies_if",)))
    for name, source in rule.let.items():
        node = parse_at(source, site.expression_at("let", name))
        if node is not None:
            checker.check(node, _Scope(dict(names), params))
            schema = checker.schema(node, _Scope(dict(names), params)) if isinstance(node, n.PATH_NODES) else None
            parsed[f"let:{name}"] = node
        names[name] = schema if node is not None and isinstance(node, n.PATH_NODES) else None
    if rule.where:
        member_fields.append(("where", rule.where, ("where",)))
    for key, source in rule.group_by.items():
        member_fields.append(("group_by", source, ("group_by", key)))
    for key, source in rule.aggregate.items():
        match = _AGGREGATE_SPEC.match(source)
        if match and match.group("argument").strip():
            member_fields.append(("aggregate", match.group("argument"), ("aggregate", key)))
    for _label, source, loc in member_fields:
        node = parse_at(source, site.expression_at(*loc))
        if node is None:
            continue
        checker.check(node, _Scope(dict(names), params))
        _constant_operands(node, checker, _Scope(dict(names), params))
        if loc == ("applies_if",) and not checker.reads_record:
            known, value = _constant_value(source, site.expression_at(*loc), compiler, tz)
            if known and value is not True:
                checker.error(node, f"applies_if is always {value!r}: rule {rule.id} never applies", "unreachable-rule")
            elif known:
                checker.error(node, "applies_if is always true: drop it", "constant-condition", "warning")
    if is_aggregate:
        group_scope = dict.fromkeys([*rule.group_by, *rule.aggregate])
        when_scope = _Scope(cast(dict[str, str | None], group_scope), params)
    else:
        when_scope = _Scope(dict(names), params)
    when_node = parse_at(rule.when, site.expression_at("when"))
    if when_node is not None:
        checker.check(when_node, when_scope)
        _constant_operands(when_node, checker, when_scope)
        if not checker.reads_record and not is_aggregate and not _uses_lets(when_node, rule):
            known, value = _constant_value(rule.when, site.expression_at("when"), compiler, tz)
            if known and value is True:
                checker.error(
                    when_node,
                    f"`when` is always true: every record rule {rule.id} applies to violates it",
                    "constant-condition",
                )
            elif known:
                checker.error(
                    when_node, f"`when` is never true: rule {rule.id} can never find a violation", "unreachable-rule"
                )
    for lang, text in (("zh", rule.message.zh), ("en", rule.message.en)):
        for source, spot in _placeholders(text, site.at("message", lang)):
            node = parse_at(source, spot)
            if node is not None:
                checker.check(node, when_scope)
    used = checker.names_used
    for name in rule.let:
        if name not in used:
            checker.error(_located(site.at("let", name)), f"let `{name}` is never used", "unused-let", "warning")


def _uses_lets(node: n.Node, rule: Rule) -> bool:
    if isinstance(node, n.Name) and node.id in rule.let:
        return True
    return any(_uses_lets(child, rule) for child in n.children(node))


def _located(where: SourceLocation) -> n.Node:
    return n.Const(None, text="", loc=where)


def _placeholders(text: str, location: SourceLocation | None) -> list[tuple[str, SourceLocation | None]]:
    found: list[tuple[str, SourceLocation | None]] = []

    def capture(source: str, where: SourceLocation | None) -> CompiledExpr:
        found.append((source, where))
        return cast(CompiledExpr, None)

    try:
        Template.parse(text, location, capture)
    except ExpressionError:
        return []  # reported by the engine's compile
    return found
