"""Nodes to Python source: the second compile target, one generated function per record rule.

The closure compiler (``svcpolicy.expr.compiler``) calls one closure per node; here the same tree becomes the
text of one Python function (guard, item loop, condition), compiled once with ``compile()``, so a record costs
one call per rule and the tree's operations run as inline bytecode on local variables. Only the generator's own
text is compiled: every name, string and value that comes from the pack (field names, paths, parameter values,
texts for messages) is bound in the function's namespace as ``k0``, ``k1``, … and referred to by that name.

The semantics are the closures' own, three-valued (``and``/``or`` in Kleene logic, ``Undetermined`` naming the
absent field by its concrete path); the error paths call the closure compiler's helpers, so reasons are worded
once. Per-record calls (``lookup(params.t, business_type)``, ``month(started_at)``) share the closures' memo
slots in ``Env.memo``: computed once per record whichever rule, loop or compiler asks first. Evidence of a
violation is still collected by the closures' traced mode, which runs only on violations.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from svcpolicy.expr import nodes as n
from svcpolicy.expr.compiler import (
    _ARITH,
    _ARITH_TYPES,
    _MISSING,
    _UNHASHABLE,
    Compiler,
    _a,
    _arith_slow,
    _hash_key,
    _hashed,
    _memo_key,
    _negated,
    _no_field,
    _pair_test,
    _Raised,
    _root_is_param,
    static_value,
)
from svcpolicy.expr.env import Env
from svcpolicy.expr.functions import FUNCTIONS
from svcpolicy.expr.undetermined import AbsentField, Undetermined

RuleFn = Callable[[Env], list[tuple[int | None, Any]] | None]
"""A generated rule: None when it does not apply or holds for everything it judges; else the ``(item index or
None, condition value or Undetermined)`` of each item whose condition is not false. Raises Undetermined when
the record as a whole cannot be judged (its guard, or the collection it walks)."""

Then = Callable[[str], None]
"""What the generated code does next with a value (or an Undetermined), given as a Python expression."""

_ORDER_SYMBOLS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITH_SYMBOLS = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}


@dataclass(frozen=True)
class GeneratedRule:
    """A rule's generated function and the source it was compiled from (for reading, and for tests)."""

    fn: RuleFn
    source: str


def _absent(path: str) -> Undetermined:
    return AbsentField(path)


def _field_miss(base: Any, name: str, base_path: str, suffix: str) -> Undetermined:
    """Why ``base[name]`` failed, as the closures word it: an absent field (at ``base_path + suffix``, joined
    only if read), or a value that is no mapping."""
    if type(base) is dict or isinstance(base, Mapping):
        return AbsentField(base_path, suffix)
    return _no_field(base_path, base, name)


def _item_path(collection: str, position: int) -> str:
    return f"{collection}[{position}]"


def _item_absent(path: str, items: Any) -> Undetermined:
    return Undetermined(f"{path} is absent: the list has {len(items)} items", path)


def _not_a_list(path: str, value: Any, index: int) -> Undetermined:
    return Undetermined(f"{path} is {_a(value)}, not a list, so it has no item {index}")


def _not_iterable(path: str, value: Any, text: str) -> Undetermined:
    return Undetermined(f"{path} is {_a(value)}, not a list, in `{text}`")


def _member(
    value: Any, members: frozenset[Any] | None, negate: bool, test: Callable[[Any, Any], bool], table: Any
) -> bool:
    """Membership as the closures decide it: by hash key when the table hashed, else by the pair test."""
    if members is not None:
        key = _hash_key(value)
        if key is not _UNHASHABLE:
            return (key not in members) if negate else (key in members)
    return test(value, table)


_Index = tuple[dict[str, list[int]], list[int]]
_INDEXES_KEPT = 64
_SELECTIONS_KEPT = 256


def _selected(
    items: list[Any] | tuple[Any, ...],
    name: str,
    key: Any,
    kept: dict[int, tuple[Any, _Index, dict[str | None, Sequence[int]]]],
) -> Sequence[int]:
    """The positions a search of a parameter table for ``item.name == key`` visits (see ``_visit``): the table's
    index is made once per table (the value in force on a day is one object, kept by the parameters), not per
    record, and the positions once per key (most records ask for one of a few keys)."""
    if key is not None and type(key) is not str:
        return range(len(items))
    entry = kept.get(id(items))
    if entry is None or entry[0] is not items:
        if len(kept) >= _INDEXES_KEPT:
            kept.clear()
        entry = kept[id(items)] = (items, _index(items, name), {})
    chosen = entry[2].get(key)
    if chosen is None:
        if len(entry[2]) >= _SELECTIONS_KEPT:
            entry[2].clear()
        chosen = entry[2][key] = tuple(_visit(entry[1], key, len(items)))
    return chosen


def _index(items: list[Any] | tuple[Any, ...], name: str) -> _Index:
    """The positions of the items whose field ``name`` is a string, by that string; and of every other item
    (not a mapping, the field absent, another type), which a search must always visit."""
    by_value: dict[str, list[int]] = {}
    others: list[int] = []
    for position, item in enumerate(items):
        if type(item) is dict:
            value = item.get(name, _MISSING)
            if type(value) is str:
                by_value.setdefault(value, []).append(position)
                continue
        others.append(position)
    return by_value, others


def _hashed_of(table: Any, kept: dict[int, tuple[Any, frozenset[Any] | None]]) -> frozenset[Any] | None:
    """``hashed(table)`` for a value of a parameter: made once per value (a dated parameter's value in force
    on a day is one object, kept by the parameters), not per record."""
    entry = kept.get(id(table))
    if entry is None or entry[0] is not table:
        if len(kept) >= _INDEXES_KEPT:
            kept.clear()
        entry = kept[id(table)] = (table, _hashed(table))
    return entry[1]


def _visit(index: _Index, key: Any, count: int) -> Iterable[int]:
    """The positions, in order, whose item may not be false for ``key``: every one unless the key is a string
    or None (a string field compared with another kind is undetermined, not false)."""
    if key is not None and type(key) is not str:
        return range(count)
    by_value, others = index
    matching = by_value.get(key, ()) if key is not None else ()
    if not others:
        return matching
    if not matching:
        return others
    return sorted((*matching, *others))


_NUMBER_TYPES = frozenset({int, float, Decimal})
"""The exact types ``_equal`` compares as numbers of one kind (a bool is not a number there)."""

_HELPERS: dict[str, Any] = {
    "M": _MISSING,
    "U": Undetermined,
    "Mapping": Mapping,
    "Decimal": Decimal,
    "Raised": _Raised,
    "UNHASHABLE": _UNHASHABLE,
    "hash_key": _hash_key,
    "hashed": _hashed,
    "hashed_of": _hashed_of,
    "member": _member,
    "absent": _absent,
    "selected": _selected,
    "field_miss": _field_miss,
    "item_path": _item_path,
    "item_absent": _item_absent,
    "not_a_list": _not_a_list,
    "not_iterable": _not_iterable,
    "no_field": _no_field,
    "negated": _negated,
    "arith_slow": _arith_slow,
    "ARITH_TYPES": _ARITH_TYPES,
    "NUMBER_TYPES": _NUMBER_TYPES,
    "list_type": list,
}


_LOCAL_HELPERS = "M=M, list_type=list_type"
"""The helpers a generated rule reads most (the cache sentinel, the list type), bound as keyword-only defaults:
a local read is cheaper than a global one, and a record reads them some hundred times."""


@dataclass(frozen=True)
class _Var:
    """A name bound by the generated code (the rule's loop variable, a quantifier's): its Python local, the
    expression of its concrete path, its schema path (for absent defaults), the depth of the loop binding it, and
    that loop (the ``id`` of its node, as ``_repeated`` names it)."""

    local: str
    path: str
    schema: str | None
    level: int
    binder: int


_FOLDABLE = frozenset(
    {
        "len",
        "lower",
        "upper",
        "normalize",
        "code",
        "days",
        "hours",
        "minutes",
        "lookup",
        "percent",
        "contains_any",
        "contains_unnegated",
    }
)
"""Functions that read nothing but their arguments (no clock, time zone or calendar): with constant arguments
their value is computed once, here."""


@dataclass(frozen=True)
class _Place:
    """Where the caches of a loop body (or of the record) are reset, filled in as caches are made."""

    indent: str
    resets: dict[str, list[str]]  # by the value a cache starts from: its locals

    def reset(self, local: str, value: str) -> None:
        self.resets.setdefault(value, []).append(local)

    def lines(self) -> list[str]:
        """One chained assignment per starting value (``c0 = c1 = … = M``): a load of the value, not one per cache."""
        return [f"{self.indent}{' = '.join(locals)} = {value}" for value, locals in self.resets.items()]


class _Writer:
    """Generated lines, indented; fresh local names; pack values bound as constants."""

    def __init__(self) -> None:
        self.lines: list[str | _Place] = []  # a place: lines filled in later, at the start of a loop body
        self.depth = 1
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self._constants = itertools.count()
        self._caches = itertools.count()
        self._temporaries = itertools.count()
        self.computed: dict[str, int] = {}
        """Caches certainly holding their value here, by the depth of the block that computed them: the code
        that follows in that block (and in blocks inside it) reads them without testing them again."""

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def later(self) -> _Place:
        """A place for lines written later (at the current indentation): the cache resets of a loop body."""
        place = _Place("    " * self.depth, {})
        self.lines.append(place)
        return place

    def text(self) -> str:
        return "\n".join(
            line for entry in self.lines for line in ([entry] if isinstance(entry, str) else entry.lines())
        )

    @contextlib.contextmanager
    def block(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.computed = {cache: depth for cache, depth in self.computed.items() if depth <= self.depth}

    def local(self) -> str:
        """A temporary of the current rule: assigned before it is read, so the next rule may reuse the name."""
        return f"t{next(self._temporaries)}"

    def cache(self) -> str:
        """A local that keeps a value across rules (reset to ``M`` once per record or loop item)."""
        return f"c{next(self._caches)}"

    def next_rule(self) -> None:
        """Start a rule's temporaries from ``t0`` again: a function with more than 256 locals pays an extra
        instruction for every read and write of the others."""
        self._temporaries = itertools.count()

    def const(self, value: Any) -> str:
        """A pack value (or any object) as a name bound in the namespace: never spliced into the text."""
        name = f"k{next(self._constants)}"
        self.namespace[name] = value
        return name


class RuleGenerator:
    """Writes one record rule as Python source against the closure compiler's parameters, defaults and memo."""

    def __init__(self, compiler: Compiler) -> None:
        self._defaults = compiler.absent_defaults
        self._constants = compiler.constants
        self._shared = compiler.memo_slots

    def rule(self, trees: RuleTrees) -> GeneratedRule | None:
        """The function judging one record by one rule (see ``RuleFn``); None when the rule is nested too deeply
        for Python to compile (more than 20 loops and ``try`` blocks inside each other)."""
        body = _Body(_Writer(), self._defaults, self._constants, self._shared, _repeated([trees]))
        out = body.out
        body.prologue()
        body.rule(trees, lambda results: out.line(f"return {results}"))
        out.line("return None")
        return _compiled(out, f"env, *, {_LOCAL_HELPERS}")

    def kind(self, rules: Sequence[RuleTrees], dated: Sequence[bool]) -> GeneratedRule | None:
        """One function judging a record by every rule of one record kind, in order: per-record values (field
        reads, lookups, ``month(started_at)``) are shared by the rules that ask for them, and a rule costs no
        call. It takes ``active``, per rule: True to judge it, False when it is not in force for this record, or
        the Undetermined to report instead (only read for the ``dated`` rules). It returns None when no rule has
        anything to report, else ``(rule position, RuleFn result or Undetermined)`` for each rule that has. None
        when Python cannot compile it (a rule nested too deeply)."""
        body = _Body(_Writer(), self._defaults, self._constants, self._shared, _repeated(rules))
        out = body.out
        body.prologue()
        out.line("reported = None")
        for position, (trees, is_dated) in enumerate(zip(rules, dated, strict=True)):
            with contextlib.ExitStack() as nested:
                if is_dated:
                    state = f"active[{position:d}]"
                    out.line(f"if {state} is not True and {state} is not False:")
                    with out.block():
                        _report(out, position, state)
                    out.line(f"if {state} is True:")
                    nested.enter_context(out.block())
                out.next_rule()
                error = out.local()
                out.line("try:")
                with out.block():
                    body.rule(trees, functools.partial(_report, out, position))
                out.line(f"except U as {error}:")
                with out.block():
                    _report(out, position, error)
        out.line("return reported")
        return _compiled(out, f"env, active, *, {_LOCAL_HELPERS}")


@dataclass(frozen=True)
class RuleTrees:
    """What a record rule is made of, as trees: its guard, the collection it walks (with its ``for_each``
    variable and source) and its condition, ``let`` names already expanded."""

    applies_if: n.Node | None
    collection: n.Node | None
    loop: tuple[str, str] | None
    when: n.Node

    @property
    def nodes(self) -> list[n.Node]:
        return [tree for tree in (self.applies_if, self.collection, self.when) if tree is not None]


def _report(out: _Writer, position: int, value: str) -> None:
    out.line("if reported is None:")
    out.line("    reported = []")
    out.line(f"reported.append(({position:d}, {value}))")


def _compiled(out: _Writer, parameters: str, what: str = "rule") -> GeneratedRule | None:
    """``what`` names the generated code in tracebacks and profiles (``<svcpolicy generated rule>``)."""
    source = f"def judge({parameters}):\n{out.text()}\n"
    try:
        code = compile(source, f"<svcpolicy generated {what}>", "exec")
    except SyntaxError:  # "too many statically nested blocks": CPython's bound of 20
        return None
    exec(code, out.namespace)  # noqa: S102 - our own generated text; pack values are bound names
    return GeneratedRule(out.namespace["judge"], source)


class _Body:
    """The visitor writing statements for nodes; ``build`` returns the local (or constant) holding the value."""

    def __init__(
        self,
        out: _Writer,
        defaults: Mapping[str, Any],
        constants: Mapping[str, Any],
        shared: dict[Hashable, int],
        repeated: frozenset[_Occurrence],
    ) -> None:
        self.out = out
        self.defaults = defaults
        self.constants = constants
        self.shared = shared
        self.repeated = repeated
        self.scope: dict[str, _Var] = {}
        self.levels: list[_Place] = []  # per loop depth (0: the record), where its cache resets go
        self.caches: list[dict[Hashable, str]] = []  # per loop depth, as levels

    def prologue(self) -> None:
        self.out.line("record = env.record")
        self.out.line("memo = env.memo")
        self.enter_level()

    def enter_level(self) -> None:
        """A new loop body (or the record): where the caches of values that change with its item are reset."""
        self.levels.append(self.out.later())
        self.caches.append({})

    def leave_level(self) -> None:
        self.levels.pop()
        self.caches.pop()

    def rule(self, trees: RuleTrees, report: Callable[[str], None]) -> None:
        """One rule's guard, item loop and condition; ``report`` writes what to do with a result to report.
        An Undetermined of the record as a whole (guard, collection) is raised."""
        out = self.out
        with contextlib.ExitStack() as nested:
            if trees.applies_if is not None:
                guard = self.build(trees.applies_if)
                out.line(f"if {guard} is True:")
                nested.enter_context(out.block())
            if trees.collection is None or trees.loop is None:
                result = self.build(trees.when)
                out.line(f"if {result} is not False:")
                with out.block():
                    report(f"[(None, {result})]")
                return
            found = self._loop(trees.collection, trees.loop, trees.when)
            out.line(f"if {found} is not None:")
            with out.block():
                report(found)

    def _loop(self, collection: n.Node, loop: tuple[str, str], when: n.Node) -> str:
        """The rule's ``for_each``: each item's condition, collecting the items whose condition is not false."""
        out = self.out
        var, source = loop
        items = self.build(collection)
        collection_path = n.spelling(collection) or source.strip()
        found = out.local()
        out.line(f"{found} = None")
        out.line(f"if {items}:")  # null or empty: nothing to judge
        with out.block():
            out.line(f"if type({items}) is not list_type and not isinstance({items}, (list, tuple)):")
            with out.block():
                reason = f"for_each: {collection.text.strip()} is not a list"
                out.line(f"raise U({out.const(reason)}, {out.const(collection.text.strip())})")
            position, item = out.local(), out.local()
            schema = n.spelling(collection)
            self.scope[var] = _Var(
                item,
                f"item_path({out.const(collection_path)}, {position})",
                f"{schema}[]" if schema else None,
                1,
                id(when),
            )
            out.line(f"for {position}, {item} in enumerate({items}):")
            with out.block():
                self.enter_level()
                result = out.local()

                def judged(value: str) -> None:
                    out.line(f"{result} = {value}")

                self._judge_item(when, judged, judged, out.local(), idle=False)  # an Undetermined is a result
                out.line(f"if {result} is False:")
                with out.block():
                    out.line("continue")
                out.line(f"if {found} is None:")
                with out.block():
                    out.line(f"{found} = []")
                out.line(f"{found}.append(({position}, {result}))")
                self.leave_level()
            del self.scope[var]
        return found

    def build(self, node: n.Node) -> str:
        """The value of ``node``; computed once per record (or loop item) when the tree asks for it again, or
        when a loop asks for a value that does not change with the loop's item (hoisted lazily: an item the
        rule never reaches still computes nothing)."""
        if isinstance(node, n.Call):
            folded = self._fold(node)
            if folded is not None:
                return folded
        if self._static(node)[0] or (isinstance(node, n.Name) and node.id in self.scope):
            return self._compute(node)
        free = _free_names(node, self.scope)
        level = max((self.scope[name].level for name in free), default=0)
        if self._once(node, free) and level == len(self.levels) - 1:
            return self._compute(node)
        key = (_memo_key(node), tuple(sorted(self.scope[name].local for name in free)))
        return self._cached(key, level, lambda: self._compute(node))

    def _once(self, node: n.Node, free: set[str]) -> bool:
        """Whether the rule reads ``node``, with the loop items it reads, only here."""
        return (node, tuple(sorted((name, self.scope[name].binder) for name in free))) not in self.repeated

    def _cached(self, key: Hashable, level: int, compute: Callable[[], str]) -> str:
        """A local holding a value computed at most once per item of the loop at ``level`` (0: per record)."""
        caches = self.caches[level]
        cache = caches.get(key)
        if cache is None:  # a loop's caches are its rule's temporaries; the record's are kept across rules
            cache = caches[key] = self.out.cache() if level == 0 else self.out.local()
            self.levels[level].reset(cache, "M")
        if cache in self.out.computed:
            return cache
        self.out.line(f"if {cache} is M:")
        with self.out.block():
            value = compute()
            self.out.line(f"{cache} = {value}")
        self.out.computed[cache] = self.out.depth
        return cache

    def _compute(self, node: n.Node) -> str:
        if isinstance(node, n.PATH_NODES):
            return self._path(node, use_defaults=True)[0]
        if isinstance(node, n.Call) and self._per_record(node):
            return self._memo(node)
        method: Callable[[_Body, Any], str] = getattr(_Body, f"_build_{type(node).__name__}")
        return method(self, node)

    def _fold(self, node: n.Call) -> str | None:
        """A call of a function of its arguments alone, all constant: its value, computed now (None: it is not
        such a call, or the value is undetermined, which each record then learns with its reason)."""
        if node.function not in _FOLDABLE:
            return None
        statics = [self._static(arg) for arg in node.args]
        if not all(known for known, _ in statics):
            return None
        try:
            value = FUNCTIONS[node.function].impl(None, *(constant for _, constant in statics))
        except Undetermined:
            return None
        return self.out.const(value)

    def _per_record(self, node: n.Node) -> bool:
        """As the closures decide it: no quantifier and no bound name inside, so once per record is enough."""
        return not any(
            isinstance(part, n.Quantifier) or (isinstance(part, n.Name) and part.id in self.scope)
            for part in n.walk(node)
        )

    def _memo(self, node: n.Call) -> str:
        """A per-record call through the memo slot the closures use for the same node."""
        out = self.out
        slot = self.shared.setdefault(_memo_key(node), len(self.shared))
        value, error = out.local(), out.local()
        out.line(f"{value} = memo.get({slot:d}, M)")
        out.line(f"if {value} is M:")
        with out.block():
            out.line("try:")
            with out.block():
                computed = self._build_Call(node)
                out.line(f"{value} = {computed}")
            out.line(f"except U as {error}:")
            with out.block():
                out.line(f"memo[{slot:d}] = Raised({error})")
                out.line("raise")
            out.line(f"memo[{slot:d}] = {value}")
        out.line(f"elif type({value}) is Raised:")
        with out.block():
            out.line(f"raise {value}.error")
        return value

    # -- field paths: (value, expression of the concrete path) ------------------------------------------

    def _path(self, node: n.Node, *, use_defaults: bool) -> tuple[str, str, str | None]:
        out = self.out
        if isinstance(node, n.Name):
            bound = self.scope.get(node.id)
            if bound is not None:
                return bound.local, bound.path, bound.schema
            name = out.const(node.id)
            value = out.local()
            default = self.defaults.get(node.id, _MISSING) if use_defaults else _MISSING
            if default is _MISSING:  # absent is rare and undetermines anyway: a plain subscript is fastest
                out.line("try:")
                out.line(f"    {value} = record[{name}]")
                out.line("except KeyError:")
                out.line(f"    raise absent({name}) from None")
                return value, name, node.id
            out.line(f"{value} = record.get({name}, M)")
            out.line(f"if {value} is M:")
            out.line(f"    {value} = {out.const(default)}")
            return value, name, node.id
        if isinstance(node, n.Param):
            path = out.const(f"params.{node.name}")
            if node.name in self.constants:
                return out.const(self.constants[node.name]), path, None
            value = out.local()
            out.line(f"{value} = env.params[{out.const(node.name)}]")
            return value, path, None
        if isinstance(node, n.AsOf):
            value = out.local()
            out.line(f"{value} = env.as_of")
            out.line(f"if {value} is None:")
            with out.block():
                out.line(f"raise U({out.const('no as_of given')})")
            return value, out.const("as_of"), None
        if isinstance(node, n.Field):
            return self._field(node, use_defaults=use_defaults)
        if isinstance(node, n.Item):
            return self._item(node, use_defaults=use_defaults)
        return self.build(node), out.const(node.text), None

    def _where(self, node: n.Node) -> tuple[str, str | None]:
        """The expression of a value's concrete path, and its schema path, as ``_path`` gives them."""
        if isinstance(node, n.Name):
            bound = self.scope.get(node.id)
            return (bound.path, bound.schema) if bound is not None else (self.out.const(node.id), node.id)
        if isinstance(node, n.Param):
            return self.out.const(f"params.{node.name}"), None
        if isinstance(node, n.AsOf):
            return self.out.const("as_of"), None
        if isinstance(node, n.Field):
            base_path, base_schema = self._where(node.base)
            schema = f"{base_schema}.{node.name}" if base_schema is not None else None
            return f"({base_path} + {self.out.const(n.field_suffix(node.name))})", schema
        if isinstance(node, n.Item):
            base_path, base_schema = self._where(node.base)
            schema = f"{base_schema}[]" if base_schema is not None else None
            return f"item_path({base_path}, {self.out.const(node.index)})", schema
        return self.out.const(node.text), None

    def _field(self, node: n.Field, *, use_defaults: bool) -> tuple[str, str, str | None]:
        out = self.out
        base, base_path, base_schema = self._path(node.base, use_defaults=use_defaults)
        schema = f"{base_schema}.{node.name}" if base_schema is not None else None
        default = self.defaults.get(schema, _MISSING) if use_defaults and schema is not None else _MISSING
        name = out.const(node.name)
        suffix = out.const(n.field_suffix(node.name))
        path = f"({base_path} + {suffix})"
        value = out.local()
        if default is _MISSING:  # only a mapping takes a string subscript; ``field_miss`` says what went wrong
            out.line("try:")
            out.line(f"    {value} = {base}[{name}]")
            out.line("except (KeyError, TypeError):")
            out.line(f"    raise field_miss({base}, {name}, {base_path}, {suffix}) from None")
            return value, path, schema
        out.line(f"if type({base}) is not dict and not isinstance({base}, Mapping):")
        with out.block():
            out.line(f"raise no_field({base_path}, {base}, {name})")
        out.line(f"{value} = {base}.get({name}, M)")
        out.line(f"if {value} is M:")
        with out.block():
            out.line(f"{value} = {out.const(default)}")
        return value, path, schema

    def _item(self, node: n.Item, *, use_defaults: bool) -> tuple[str, str, str | None]:
        out = self.out
        base, base_path, base_schema = self._path(node.base, use_defaults=use_defaults)
        index = out.const(node.index)
        path = f"item_path({base_path}, {index})"
        value = out.local()
        out.line(f"if type({base}) is not list_type and not isinstance({base}, (list, tuple)):")
        with out.block():
            out.line(f"raise not_a_list({base_path}, {base}, {index})")
        out.line("try:")
        with out.block():
            out.line(f"{value} = {base}[{index}]")
        out.line("except IndexError:")
        with out.block():
            out.line(f"raise item_absent({path}, {base}) from None")
        return value, path, f"{base_schema}[]" if base_schema is not None else None

    # -- everything else ------------------------------------------------------------------------------

    def _build_Const(self, node: n.Const) -> str:
        return self.out.const(node.value)

    def _build_ListLit(self, node: n.ListLit) -> str:
        if all(isinstance(item, n.Const) for item in node.items):
            return self.out.const([item.value for item in node.items if isinstance(item, n.Const)])
        items = [self.build(item) for item in node.items]
        value = self.out.local()
        self.out.line(f"{value} = [{', '.join(items)}]")
        return value

    def _static(self, node: n.Node) -> tuple[bool, Any]:
        return static_value(node, self.constants)

    def _build_Compare(self, node: n.Compare) -> str:
        if len(node.ops) > 1:
            return self._chain(node)
        op = node.ops[0]
        if op in ("in", "not in"):
            return self._membership(node, op)
        left = self.build(node.left)
        if op in ("is", "is not"):  # as the closures: the right side is the literal None, never evaluated
            return self._compared(node, op, left, "None")
        return self._compared(node, op, left, self.build(node.operands[0]))

    def _compared(self, node: n.Compare, op: n.CompareOp, left: str, right: str) -> str:
        """One comparison (not ``in``) of two values already computed."""
        out = self.out
        value = out.local()
        if op in ("is", "is not"):
            out.line(f"{value} = {left} {op} None")
            return value
        test = out.const(_pair_test(op, node.text))
        if op in _ORDER_SYMBOLS:
            out.line("try:")
            with out.block():
                out.line(f"{value} = {left} {_ORDER_SYMBOLS[op]} {right}")
            out.line("except TypeError:")
            with out.block():
                out.line(f"{value} = {test}({left}, {right})")
            return value
        known, constant = self._static(node.operands[0])
        if known:
            return self._compared_with(op, left, right, constant, test)
        same = "True" if op == "==" else "False"
        comparable = (  # as ``_equal`` decides: one type, a None, or two numbers (an int and a float, say)
            f"type({left}) is type({right}) or {left} is None or {right} is None"
            f" or (type({left}) in NUMBER_TYPES and type({right}) in NUMBER_TYPES)"
        )
        out.line(f"{value} = (({left} == {right}) is {same}) if {comparable} else {test}({left}, {right})")
        return value

    def _compared_with(self, op: n.CompareOp, left: str, right: str, constant: Any, test: str) -> str:
        """``left == constant`` (or ``!=``) as ``_equal`` decides it, the constant's kind known here: one type
        test of the left instead of four; ``==`` of two strings, two booleans or two numbers is a bool already."""
        out = self.out
        value = out.local()
        equal = op == "=="
        if constant is None:
            out.line(f"{value} = {left} is {'' if equal else 'not '}None")
            return value
        if type(constant) is str:
            same_kind, same = f"type({left}) is str", f"{left} {'==' if equal else '!='} {right}"
        elif type(constant) is bool:
            same_kind, same = f"type({left}) is bool", f"{left} is {'' if equal else 'not '}{right}"
        elif type(constant) in _NUMBER_TYPES:
            same_kind, same = f"type({left}) in NUMBER_TYPES", f"{left} {'==' if equal else '!='} {right}"
        else:
            same_kind = f"type({left}) is type({right})"
            same = f"(({left} == {right}) is {equal})"
        out.line(f"{value} = ({same}) if {same_kind} else ({not equal} if {left} is None else {test}({left}, {right}))")
        return value

    def _membership(self, node: n.Compare, op: n.CompareOp, left: str | None = None) -> str:
        """``x in table``: a frozenset lookup when the table is constant (hashed here, once) or a per-record call
        (hashed once per record, in the closures' memo slot); the pair test otherwise. ``left``: the value of
        ``x`` when already computed."""
        out = self.out
        right = node.operands[0]
        test = out.const(_pair_test(op, node.text))
        negate = op == "not in"
        known, constant = self._static(right)
        members: str | None = None
        table_hashed = known and _hashed(constant) is not None
        pair: list[str] | None = None
        if left is None:
            if isinstance(node.left, n.ListLit) and not all(isinstance(item, n.Const) for item in node.left.items):
                pair = [self.build(item) for item in node.left.items]
                left = f"[{', '.join(pair)}]"  # the list itself is only needed off the hashed path
            else:
                left = self.build(node.left)
        value = out.local()
        if known and table_hashed:
            table, members = out.const(constant), out.const(_hashed(constant))
        elif not known and isinstance(right, n.Call) and self._per_record(right):
            table = self.build(right)
            members = self._cached(("hashed", _memo_key(right)), 0, lambda: self._per_record_members(right, table))
        else:
            table = self.build(right)
            out.line(f"{value} = {test}({left}, {table})")
            return value
        keyword = "not in" if negate else "in"
        general = f"member({left}, {members}, {negate}, {test}, {table})"
        if pair is not None:  # [a, b] in table: the hash key is (list, a, b), built without a list walk
            out.line("try:")
            with out.block():
                out.line(f"{value} = (list_type, {', '.join(pair)}{',' if len(pair) == 1 else ''}) {keyword} {members}")
            out.line("except TypeError:")  # an unhashable item, or no hashed table (None)
            with out.block():
                out.line(f"{value} = {general}")
            return value
        hashed_members = "" if known and table_hashed else f" and {members} is not None"  # a constant: not None
        out.line(f"if type({left}) is str{hashed_members}:")
        with out.block():
            out.line(f"{value} = {left} {keyword} {members}")
        out.line("else:")
        with out.block():
            out.line(f"{value} = {general}")
        return value

    def _per_record_members(self, right: n.Call, table: str) -> str:
        """The hashed members of a per-record table: a value of a constant mapping (``lookup(params.t, key)``)
        was hashed here, once; a value of a dated parameter's mapping once per value, when first met (kept by
        identity); any other is hashed once per record, in the closures' memo slot."""
        out = self.out
        members = out.local()
        known, mapping = self._static(right.args[0]) if right.function == "lookup" else (False, None)
        if known and type(mapping) is dict:
            by_id = out.const({id(value): _hashed(value) for value in mapping.values()})
            out.line(f"{members} = {by_id}.get(id({table}), M)")
            out.line(f"if {members} is M:")
            with out.block():
                out.line(f"{members} = hashed({table})")
            return members
        if right.function == "lookup" and _root_is_param(right.args[0]):  # a dated table: one of a few values
            out.line(f"{members} = hashed_of({table}, {out.const({})})")
            return members
        slot = self.shared.setdefault(("hashed", _memo_key(right)), len(self.shared))
        out.line(f"{members} = memo.get({slot:d}, M)")
        out.line(f"if {members} is M:")
        with out.block():
            out.line(f"{members} = memo[{slot:d}] = hashed({table})")
        return members

    def _chain(self, node: n.Compare) -> str:
        """``a < b <= c``: a conjunction of its pairs; a false pair decides even if another is unknown."""
        out = self.out
        pending, known, left, decided = out.local(), out.local(), out.local(), out.local()
        out.line(f"{pending} = None")
        out.line(f"{known} = True")
        self._attempt(node.left, left, on_error=[f"{pending} = {{error}}", f"{known} = False", f"{left} = None"])
        out.line(f"{decided} = None")
        for op, operand in zip(node.ops, node.operands, strict=True):
            test = out.const(_pair_test(op, node.text))
            right, ok = out.local(), out.local()
            out.line(f"if {decided} is None:")
            with out.block():
                out.line(f"{ok} = True")
                self._attempt(
                    operand,
                    right,
                    on_error=[
                        f"if {pending} is None:",
                        f"    {pending} = {{error}}",
                        f"{known} = False",
                        f"{ok} = False",
                    ],
                )
                out.line(f"if {ok}:")
                with out.block():
                    out.line(f"if {known} and not {test}({left}, {right}):")
                    with out.block():
                        out.line(f"{decided} = False")
                    out.line("else:")
                    with out.block():
                        out.line(f"{left} = {right}")
                        out.line(f"{known} = True")
        out.line(f"if {decided} is None:")
        with out.block():
            out.line(f"if {pending} is not None:")
            with out.block():
                out.line(f"raise {pending}")
            out.line(f"{decided} = True")
        return decided

    def _attempt(
        self, node: n.Node, target: str | None, *, on_error: Sequence[str], on_value: Sequence[str] = ()
    ) -> None:
        """``target = node``, running ``on_error`` (``{error}`` is the Undetermined) when it is undetermined and
        ``on_value`` when it is not; with no ``target``, ``on_value`` reads the value as ``{value}`` (no copy)."""
        out = self.out
        error = out.local()

        def failed(undetermined: str) -> None:
            held = undetermined  # a local already holding it (the handler's, a cache's), or computed once here
            if not undetermined.isidentifier():
                out.line(f"{error} = {undetermined}")
                held = error
            for text in on_error:
                out.line(text.format(error=held))

        def judged(value: str) -> None:
            if target is None:
                for text in on_value:
                    out.line(text.format(value=value))
                return
            out.line(f"{target} = {value}")
            for text in on_value:
                out.line(text)

        self._judge(node, judged, failed, error)

    def _judge_item(self, node: n.Node, on_value: Then, on_error: Then, caught: str, *, idle: bool) -> None:
        """``_judge`` of a loop item's truth, where the truth ``idle`` asks nothing of the loop (false for ``any``,
        ``count`` and a rule's items, true for ``all``): an ``and`` (``or``) operand that decides it so goes on
        with the next item at once, with no result kept and tested. Most items end there."""
        if not (isinstance(node, n.BoolOp) and (node.op == "or") is idle and self._uncached(node)):
            self._judge(node, on_value, on_error, caught)
            return
        out = self.out
        out.line("try:")
        with out.block():
            _, pending = self._bool(node, decided="continue")
            out.line(f"if {pending} is None:")
            with out.block():
                on_value(str(not idle))
            out.line("else:")
            with out.block():
                on_error(pending)
        out.line(f"except U as {caught}:")
        with out.block():
            on_error(caught)

    def _uncached(self, node: n.Node) -> bool:
        """Whether ``build`` and ``_then`` compute ``node`` where they are asked for it (no cache keeps it)."""
        free = _free_names(node, self.scope)
        level = max((self.scope[name].level for name in free), default=0)
        return self._once(node, free) and level == len(self.levels) - 1

    def _judge(self, node: n.Node, on_value: Then, on_error: Then, caught: str) -> None:
        """The code for ``node``, then ``on_value`` or ``on_error``: an Undetermined ``_then`` carries as a value
        or one raised (caught as ``caught``)."""
        out = self.out
        out.line("try:")
        with out.block():
            self._then(node, on_value, on_error)
        out.line(f"except U as {caught}:")
        with out.block():
            on_error(caught)

    # -- absent fields without exceptions: the code that follows a value is written for it (continuations) ------

    def _then(self, node: n.Node, on_value: Then, on_error: Then) -> None:
        """The code computing ``node``, then ``on_value(value)``; or ``on_error(Undetermined)`` when a field it
        reads is absent, written where the absence is found: the paths, comparisons, ``not`` and ``and``/``or``
        of an operand raise nothing for it, and the enclosing operator decides whether it matters (an ``or``
        that another operand makes true). Other causes raise, as in ``build``. Cached as ``build`` caches."""
        out = self.out
        if not self._softable(node):
            on_value(self.build(node))
            return
        if isinstance(node, n.Name | n.Field):
            self._then_path(node, on_value, on_error)
            return
        if self._uncached(node):
            self._then_compute(node, on_value, on_error)
            return
        free = _free_names(node, self.scope)
        level = max((self.scope[name].level for name in free), default=0)
        key = ("soft", _memo_key(node), tuple(sorted(self.scope[name].local for name in free)))
        caches = self.caches[level]
        value, error = caches.get((key, "value")), caches.get((key, "error"))
        if value is None or error is None:
            fresh = out.cache if level == 0 else out.local
            value = caches[(key, "value")] = fresh()
            error = caches[(key, "error")] = fresh()
            self.levels[level].reset(value, "M")
            self.levels[level].reset(error, "None")
        if value not in out.computed:  # the value, or why there is none
            out.line(f"if {value} is M and {error} is None:")
            with out.block():
                self._then_compute(
                    node, lambda computed: out.line(f"{value} = {computed}"), lambda why: out.line(f"{error} = {why}")
                )
            out.computed[value] = out.depth
        out.line(f"if {error} is None:")
        with out.block():
            on_value(value)
        out.line("else:")
        with out.block():
            on_error(error)

    def _softable(self, node: n.Node) -> bool:
        """Whether ``_then`` can hand an absent field of ``node`` to ``on_error`` without raising it."""
        if isinstance(node, n.BoolOp):
            return True
        if isinstance(node, n.Not):
            return self._softable(node.operand)
        if isinstance(node, n.Compare):
            if len(node.ops) > 1 or self._static(node)[0]:
                return False
            if self._soft_path_ok(node.left):
                return True
            return node.ops[0] not in ("is", "is not", "in", "not in") and self._soft_path_ok(node.operands[0])
        return self._soft_path_ok(node)

    def _soft_path_ok(self, node: n.Node) -> bool:
        """A record field (``a``, ``x.b``) that may be absent and has no default."""
        if isinstance(node, n.Name):
            return node.id not in self.scope and node.id not in self.defaults
        if isinstance(node, n.Field):
            schema = self._schema(node)
            return schema is None or schema not in self.defaults
        return False

    def _schema(self, node: n.Node) -> str | None:
        """A path's schema path (``offers[].statements``), as ``_where`` gives it, writing nothing."""
        if isinstance(node, n.Name):
            bound = self.scope.get(node.id)
            return bound.schema if bound is not None else node.id
        if isinstance(node, n.Field | n.Item):
            base = self._schema(node.base)
            if base is None:
                return None
            return f"{base}.{node.name}" if isinstance(node, n.Field) else f"{base}[]"
        return None

    def _then_compute(self, node: n.Node, on_value: Then, on_error: Then) -> None:
        """``_then`` for one node, uncached: ``and``/``or`` hand on the error they would raise."""
        out = self.out
        if isinstance(node, n.BoolOp):
            result, pending = self._bool(node)
            out.line(f"if {pending} is None or {'not ' if node.op == 'and' else ''}{result}:")
            with out.block():
                on_value(result)
            out.line("else:")
            with out.block():
                on_error(pending)
        elif isinstance(node, n.Not):

            def negated(operand: str) -> None:
                value = out.local()
                out.line(f"{value} = not {operand}")
                on_value(value)

            self._then(node.operand, negated, on_error)
        elif isinstance(node, n.Compare):
            self._then_compare(node, on_value, on_error)
        else:
            self._then_path(node, on_value, on_error)

    def _then_compare(self, node: n.Compare, on_value: Then, on_error: Then) -> None:
        """A comparison whose operands may be absent fields: the left's, then the right's (raising, as
        ``_compared`` does, on values of kinds that do not compare)."""
        op = node.ops[0]

        def with_left(left: str) -> None:
            if op in ("in", "not in"):
                on_value(self._membership(node, op, left))
            elif op in ("is", "is not"):
                on_value(self._compared(node, op, left, "None"))
            else:
                self._then(node.operands[0], lambda right: on_value(self._compared(node, op, left, right)), on_error)

        self._then(node.left, with_left, on_error)

    def _then_path(self, node: n.Node, on_value: Then, on_error: Then) -> None:
        """A field read by a subscript in a ``try`` (a present field, the common case, costs what it costs in
        ``_path``), whose absence (or a base that is no mapping) goes to ``on_error``."""
        out = self.out
        if not isinstance(node, n.Name | n.Field) or not self._soft_path_ok(node):
            on_value(self.build(node))
            return
        value = out.local()

        def subscript(base: str, name: str, missed: tuple[str, str]) -> None:
            """``value = base[name]``; ``missed``: the exceptions saying it is not there, and the Undetermined."""
            exceptions, undetermined = missed
            out.line("try:")
            out.line(f"    {value} = {base}[{name}]")
            out.line(f"except {exceptions}:")
            with out.block():
                on_error(undetermined)
            out.line("else:")
            with out.block():
                on_value(value)

        if isinstance(node, n.Name):
            name = out.const(node.id)
            subscript("record", name, ("KeyError", f"absent({name})"))
            return
        field = node

        def read(base: str) -> None:
            base_path, _ = self._where(field.base)
            name, suffix = out.const(field.name), out.const(n.field_suffix(field.name))
            subscript(base, name, ("(KeyError, TypeError)", f"field_miss({base}, {name}, {base_path}, {suffix})"))

        self._then_path(field.base, read, on_error)

    def _build_BoolOp(self, node: n.BoolOp) -> str:
        result, pending = self._bool(node)
        self.out.line(f"if {pending} is not None and {'' if node.op == 'and' else 'not '}{result}:")
        with self.out.block():
            self.out.line(f"raise {pending}")
        return result

    def _bool(self, node: n.BoolOp, decided: str | None = None) -> tuple[str, str]:
        """Kleene ``and``/``or``: the first deciding operand wins over any undetermined one before it. Returns
        the result and the first undetermined operand's error (which matters only if the result is not
        decided: true for ``and``, false for ``or``). ``decided``: a statement leaving the code that follows
        (``continue``) when an operand decides, run instead of keeping the result (then the constant not
        decided)."""
        out = self.out
        result, pending = (out.local() if decided is None else str(node.op == "and")), out.local()
        conjunction = node.op == "and"
        if decided is None:
            out.line(f"{result} = {conjunction}")
        out.line(f"{pending} = None")
        deciding = decided if decided is not None else f"{result} = {not conjunction}"
        for position, operand in enumerate(node.operands):
            with contextlib.ExitStack() as nested:
                if position and decided is None:  # the first operand always runs, and finds nothing pending
                    out.line(f"if {result}:" if conjunction else f"if not {result}:")
                    nested.enter_context(out.block())
                self._attempt(
                    operand,
                    None,
                    on_error=[f"if {pending} is None:", f"    {pending} = {{error}}"]
                    if position
                    else [f"{pending} = {{error}}"],
                    on_value=["if not {value}:" if conjunction else "if {value}:", f"    {deciding}"],
                )
        return result, pending

    def _build_Not(self, node: n.Not) -> str:
        operand = self.build(node.operand)
        value = self.out.local()
        self.out.line(f"{value} = not {operand}")
        return value

    def _build_Arith(self, node: n.Arith) -> str:
        out = self.out
        left, right = self.build(node.left), self.build(node.right)
        value = out.local()
        slow = (
            f"arith_slow({out.const(_ARITH[node.op])}, {left}, {right}, {out.const(node.op)}, {out.const(node.text)})"
        )
        typed = [  # a constant's type is known here: only the others are tested per record
            f"type({operand}) in ARITH_TYPES"
            for operand, part in ((left, node.left), (right, node.right))
            if not (self._static(part)[0] and type(self._static(part)[1]) in _ARITH_TYPES)
        ]
        out.line(f"if {' and '.join(typed) or 'True'}:")
        with out.block():
            out.line("try:")
            with out.block():
                out.line(f"{value} = {left} {_ARITH_SYMBOLS[node.op]} {right}")
            out.line("except (TypeError, ArithmeticError, ValueError):")
            with out.block():
                out.line(f"{value} = {slow}")
        out.line("else:")
        with out.block():
            out.line(f"{value} = {slow}")
        return value

    def _build_Negate(self, node: n.Negate) -> str:
        operand = self.build(node.operand)
        value = self.out.local()
        self.out.line(f"{value} = negated({operand}, {self.out.const(node.text)})")
        return value

    def _build_Conditional(self, node: n.Conditional) -> str:
        out = self.out
        test = self.build(node.test)
        value = out.local()
        out.line(f"if {test}:")
        with out.block():
            then = self.build(node.then)
            out.line(f"{value} = {then}")
        out.line("else:")
        with out.block():
            otherwise = self.build(node.otherwise)
            out.line(f"{value} = {otherwise}")
        return value

    def _build_Call(self, node: n.Call) -> str:
        out = self.out
        function = FUNCTIONS[node.function]
        value = out.local()
        if function.specialize is not None and len(node.args) >= 2:
            statics = [self._static(arg) for arg in node.args[1:]]
            if all(known for known, _ in statics):
                fast = out.const(function.specialize(*(constant for _, constant in statics)))
                first = self.build(node.args[0])
                out.line(f"{value} = {fast}({first})")
                return value
        args = [self.build(arg) for arg in node.args]
        out.line(f"{value} = {out.const(function.impl)}(env, {', '.join(args)})")
        return value

    def _build_Has(self, node: n.Has) -> str:
        """Whether the record supplies a field: a walk down the path that raises nothing (an absent field is
        common here, and an exception costs as much as the rest of a rule)."""
        out = self.out
        value = out.local()
        steps: list[n.Field | n.Item] = []
        root = node.path
        while isinstance(root, n.Field | n.Item):
            steps.append(root)
            root = root.base
        if isinstance(root, n.Name):
            out.line(f"{value} = False")
            with contextlib.ExitStack() as nested:
                bound = self.scope.get(root.id)
                current = out.local()
                if bound is None:
                    out.line(f"{current} = record.get({out.const(root.id)}, M)")
                    out.line(f"if {current} is not M:")
                    nested.enter_context(out.block())
                else:
                    out.line(f"{current} = {bound.local}")
                for step in reversed(steps):
                    following = out.local()
                    if isinstance(step, n.Field):
                        out.line(f"if type({current}) is dict or isinstance({current}, Mapping):")
                        nested.enter_context(out.block())
                        out.line(f"{following} = {current}.get({out.const(step.name)}, M)")
                        out.line(f"if {following} is not M:")
                        nested.enter_context(out.block())
                    else:
                        index = out.const(step.index)
                        out.line(
                            f"if (type({current}) is list_type or isinstance({current}, (list, tuple)))"
                            f" and -len({current}) <= {index} < len({current}):"
                        )
                        nested.enter_context(out.block())
                        out.line(f"{following} = {current}[{index}]")
                    current = following
                out.line(f"{value} = True")
            return value
        out.line("try:")
        with out.block():
            self._path(node.path, use_defaults=False)  # has() asks about the record, not defaults
        out.line("except U:")
        with out.block():
            out.line(f"{value} = False")
        out.line("else:")
        with out.block():
            out.line(f"{value} = True")
        return value

    def _build_Coalesce(self, node: n.Coalesce) -> str:
        """The first argument present and not None; an absent one before a None keeps the value unknown."""
        out = self.out
        value, absent = out.local(), out.local()
        out.line(f"{value} = M")
        out.line(f"{absent} = None")
        for arg in node.args:
            candidate = out.local()
            out.line(f"if {value} is M:")
            with out.block():
                self._attempt(
                    arg,
                    candidate,
                    on_error=[
                        "if {error}.field is None:",
                        "    raise {error}",
                        f"if {absent} is None:",
                        f"    {absent} = {{error}}",
                    ],
                    on_value=[f"if {candidate} is not None:", f"    {value} = {candidate}"],
                )
        out.line(f"if {value} is M:")
        with out.block():
            out.line(f"if {absent} is not None:")
            with out.block():
                out.line(f"raise {absent}")
            out.line(f"{value} = None")
        return value

    def _selection(self, items: str, name: str, key_node: n.Node) -> str:
        """The positions a quantifier over a parameter table must visit, from the table's index (built once per
        table) and the key; all of them when the key is undetermined (the items then decide, in the usual order)."""
        out = self.out
        selected = out.local()
        out.line("try:")
        with out.block():
            key = self.build(key_node)
            out.line(f"{selected} = selected({items}, {out.const(name)}, {key}, {out.const({})})")
        out.line("except U:")
        with out.block():
            out.line(f"{selected} = range(len({items}))")
        return selected

    def _build_Quantifier(self, node: n.Quantifier) -> str:
        out = self.out
        items = self.build(node.iterable)
        items_path, items_schema = self._where(node.iterable)
        value, pending, position, item, error = (out.local() for _ in range(5))
        out.line(f"if type({items}) is not list_type and not isinstance({items}, (list, tuple)):")
        with out.block():
            out.line(f"raise not_iterable({items_path}, {items}, {out.const(node.text)})")
        out.line(f"{value} = {0 if node.kind == 'count' else node.kind == 'all'}")
        out.line(f"{pending} = None")
        truth = _item_truth(node)
        probe = _probe(node, truth)
        indexed = probe is not None and _root_is_param(node.iterable)
        if probe is not None and indexed:
            selected = self._selection(items, *probe)
        self.scope[node.var] = _Var(
            item,
            f"item_path({items_path}, {position})",
            f"{items_schema}[]" if items_schema is not None else None,
            len(self.levels),
            id(node),
        )
        if indexed:
            out.line(f"for {position} in {selected}:")
        else:
            out.line(f"for {position}, {item} in enumerate({items}):")
        with out.block():
            self.enter_level()
            if indexed:
                out.line(f"{item} = {items}[{position}]")

            def failed(undetermined: str) -> None:
                if node.kind == "count":
                    out.line(f"raise {undetermined}")
                else:
                    out.line(f"if {pending} is None:")
                    out.line(f"    {pending} = {undetermined}")

            def judged(holds: str) -> None:
                out.line(f"if not {holds}:" if node.kind == "all" else f"if {holds}:")
                with out.block():
                    if node.kind == "count":
                        out.line(f"{value} += 1")
                    else:
                        out.line(f"{value} = {node.kind == 'any'}")
                        out.line("break")

            if truth is None:
                judged("True")
            else:
                self._judge_item(truth, judged, failed, error, idle=node.kind == "all")
            self.leave_level()
        if node.kind != "count":
            out.line("else:")
            with out.block():
                out.line(f"if {pending} is not None:")
                with out.block():
                    out.line(f"raise {pending}")
        del self.scope[node.var]
        return value


def _probe(node: n.Quantifier, truth: n.Node | None) -> tuple[str, n.Node] | None:
    """For ``any``/``count`` whose item truth starts with ``var.field == key`` (``key`` not reading ``var``): the
    field and the key. An item whose field holds another string than the key is then false without a word said,
    so a search of a parameter table need only visit the items its index names for the key."""
    if node.kind == "all" or truth is None:
        return None
    first = truth.operands[0] if isinstance(truth, n.BoolOp) and truth.op == "and" else truth
    if not (isinstance(first, n.Compare) and first.ops == ("==",)):
        return None
    for side, other in ((first.left, first.operands[0]), (first.operands[0], first.left)):
        if (
            isinstance(side, n.Field)
            and isinstance(side.base, n.Name)
            and side.base.id == node.var
            and not any(isinstance(part, n.Name) and part.id == node.var for part in n.walk(other))
        ):
            return side.name, other
    return None


_Occurrence = tuple[n.Node, tuple[tuple[str, int], ...]]
"""A subtree and the loops binding the names it reads: alike subtrees reading the items of two loops are two
values (``p.code == fee.code`` in two searches of one table), which no cache shares."""


def _repeated(rules: Sequence[RuleTrees]) -> frozenset[_Occurrence]:
    """The subtrees that occur more than once, as the same value: often through ``let`` names expanded in place,
    or a per-record value several rules ask for."""
    seen: set[_Occurrence] = set()
    again: set[_Occurrence] = set()

    def visit(node: n.Node, binders: Mapping[str, int]) -> set[str]:
        """Records ``node``'s occurrence; the bound names it reads."""
        if isinstance(node, n.Name):
            reads = {node.id} if node.id in binders else set()
        elif isinstance(node, n.Quantifier):
            reads = visit(node.iterable, binders)
            inner = {**binders, node.var: id(node)}
            for part in (node.element, node.condition):
                if part is not None:
                    reads |= visit(part, inner) - {node.var}
        else:
            reads = set()
            for child in n.children(node):
                reads |= visit(child, binders)
        occurrence = (node, tuple(sorted((name, binders[name]) for name in reads)))
        (again if occurrence in seen else seen).add(occurrence)
        return reads

    for trees in rules:
        for tree in (trees.applies_if, trees.collection):
            if tree is not None:
                visit(tree, {})
        visit(trees.when, {trees.loop[0]: id(trees.when)} if trees.loop is not None else {})
    return frozenset(again)


def _free_names(node: n.Node, scope: Mapping[str, _Var], bound: frozenset[str] = frozenset()) -> set[str]:
    """The loop variables of ``scope`` that ``node`` reads (a quantifier inside binds its own)."""
    if isinstance(node, n.Name):
        return {node.id} if node.id in scope and node.id not in bound else set()
    if isinstance(node, n.Quantifier):
        inner = bound | {node.var}
        names = _free_names(node.iterable, scope, bound)
        for part in (node.element, node.condition):
            if part is not None:
                names |= _free_names(part, scope, inner)
        return names
    names = set()
    for child in n.children(node):
        names |= _free_names(child, scope, bound)
    return names


def _item_truth(node: n.Quantifier) -> n.Node | None:
    """One item's truth as a node: ``condition and element`` for any/count, ``not condition or element`` for
    all (an item the filter excludes never undetermines ``all``), as the closures' ``_item_truth``."""
    condition, element = node.condition, node.element
    if condition is None:
        return element
    if element is None:
        return condition
    text, loc = node.text, node.loc
    if node.kind == "all":
        return n.BoolOp("or", (n.Not(condition, text=text, loc=loc), element), text=text, loc=loc)
    return n.BoolOp("and", (condition, element), text=text, loc=loc)
