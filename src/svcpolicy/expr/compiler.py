"""Nodes to Python closures: the fast evaluator the engine runs once per rule and record.

Each node becomes a closure ``fn(env) -> value`` that raises ``Undetermined`` when the record cannot decide
it. The fast path does no string formatting and allocates nothing per field read: a field's concrete path
(``operations[2].authorization.at``) is built by a separate path closure, called only when raising. A
second, traced tree (built on first use, for violations only) records every field path it reads.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from svcpolicy.errors import ExpressionError, SourceLocation
from svcpolicy.expr import nodes as n
from svcpolicy.expr.compiled import CompiledExpr, Fn
from svcpolicy.expr.env import Env
from svcpolicy.expr.functions import FUNCTIONS, type_name
from svcpolicy.expr.lets import expand_lets
from svcpolicy.expr.parser import RESERVED_NAMES, parse, suggestion
from svcpolicy.expr.template import Template
from svcpolicy.expr.undetermined import Undetermined

PathFn = Callable[[Env], str]

_MISSING: Any = object()  # Any: compared by identity against arbitrary record values
_ARITH_TYPES = frozenset({int, float, Decimal, date, datetime, timedelta})
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


@dataclass(frozen=True, slots=True)
class _Local:
    """A name in scope: its schema path (for absent defaults) and, for quantifier variables, the
    concrete path of the collection it walks (its own path is that plus ``[position]``)."""

    schema: str | None
    collection: PathFn | None = None


class Compiler:
    """Compiles pack expressions against the pack's declared parameters and the record model's defaults.

    ``absent_defaults`` maps schema paths (``operations``, ``offers[].statements``; ``[]`` is any item of a
    list) to the value an absent field means; any other absent field makes the rule undetermined.
    """

    def __init__(
        self, *, params: Collection[str], absent_defaults: Mapping[str, Any], constants: Mapping[str, Any] = {}
    ) -> None:
        """``constants`` are parameters with one value for every record (no dated values): they are folded
        into the closures, so ``params.x`` costs nothing and functions can check constant arguments once."""
        self._params = frozenset(params)
        self._defaults = dict(absent_defaults)
        self._constants = dict(constants)
        self._shared: dict[Hashable, int] = {}  # per-record subexpressions of every rule -> their memo slot

    @property
    def absent_defaults(self) -> Mapping[str, Any]:
        return self._defaults

    @property
    def constants(self) -> Mapping[str, Any]:
        return self._constants

    @property
    def memo_slots(self) -> dict[Hashable, int]:
        """Per-record subexpressions -> their slot in ``Env.memo``: shared with generated code, so a value one
        computes the other reuses."""
        return self._shared

    def once_per_record(self, fn: Fn, role: str, nodes: Sequence[n.Node]) -> Fn:
        """``fn``, the value of ``nodes`` in a ``role`` (an aggregate's filter, its group key), computed once per
        record however many rules of the pack ask for the same: it takes a slot in ``Env.memo`` like ``month()``."""
        key = (role, *(_memo_key(node) for node in nodes))  # a str first: never equal to a subexpression's key
        return _memo(fn, self._shared.setdefault(key, len(self._shared)))

    def compile(
        self,
        source: str,
        *,
        location: SourceLocation | None,
        local_names: Sequence[str] = (),
        local_schema: Mapping[str, str] = {},
        lets: Mapping[str, n.Node] = {},
        loop: tuple[str, str] | None = None,
    ) -> CompiledExpr:
        """Parse, check and compile one expression; raises ExpressionError with its location.

        ``lets`` maps let names to their parsed (and already expanded) definitions; they are substituted
        into the tree before compiling (see ``svcpolicy.expr.lets``). ``loop`` is a rule's ``for_each``
        variable and the collection it walks: the engine sets ``env.locals[var]`` and
        ``env.positions[var]`` per item, and the item's path (``operations[2]``) is built only on demand.
        """
        node = expand_lets(parse(source, location), lets)
        scope: dict[str, _Local] = {}
        for name in [*local_names, *(loop[:1] if loop else ())]:
            if name in RESERVED_NAMES:
                raise ExpressionError(f"`{name}` is reserved and cannot be a variable name", location)
            scope[name] = _Local(local_schema.get(name))
        if loop is not None:
            var, collection = loop
            collection_schema = n.spelling(parse(collection, location))
            item_schema = f"{collection_schema}[]" if collection_schema is not None else None
            scope[var] = _Local(item_schema, _constant_path(collection_schema or collection.strip()))
        builder = _Builder(self._params, self._defaults, self._constants, scope, traced=False, shared=self._shared)
        fn = builder.build(node)
        return CompiledExpr(source, node, fn, frozenset(builder.reads), lambda: builder.traced().build(node))

    def template(
        self,
        text: str,
        *,
        location: SourceLocation | None,
        local_names: Sequence[str] = (),
        local_schema: Mapping[str, str] = {},
        lets: Mapping[str, n.Node] = {},
        loop: tuple[str, str] | None = None,
        lang: str = "en",
        deferred: bool = False,
    ) -> Template:
        """Compile a message template: ``{expr}`` placeholders, ``{{``/``}}`` for literal braces; values are
        written in ``lang`` (missing ones as 未提供 in Chinese). ``deferred``: compiled on first use (see
        ``Template.parse``)."""

        def placeholder(source: str, where: SourceLocation | None) -> CompiledExpr:
            return self.compile(
                source, location=where, local_names=local_names, local_schema=local_schema, lets=lets, loop=loop
            )

        return Template.parse(text, location, placeholder, lang, deferred=deferred)

    def compile_node(self, node: n.Node) -> Fn:
        """The closure of an already parsed tree without local names: how another compiler (the durable one)
        evaluates constant sub-expressions, so that both engines agree on their values by construction."""
        return _Builder(self._params, self._defaults, self._constants, {}, traced=False, shared=self._shared).build(
            node
        )


class _Builder:
    """The visitor turning nodes into closures; one per compiled expression and mode (fast or traced)."""

    def __init__(
        self,
        params: frozenset[str],
        defaults: Mapping[str, Any],
        constants: Mapping[str, Any],
        scope: dict[str, _Local],
        *,
        traced: bool,
        shared: dict[Hashable, int] | None = None,
    ) -> None:
        self.params = params
        self.defaults = defaults
        self.constants = constants
        self.scope = scope
        self.is_traced = traced
        self.shared = shared
        self.reads: set[str] = set()

    def traced(self) -> _Builder:
        return _Builder(self.params, self.defaults, self.constants, dict(self.scope), traced=True)

    def build(self, node: n.Node) -> Fn:
        if isinstance(node, n.PATH_NODES):
            fn, _, _ = self._path(node, use_defaults=True)
            key = self._note_read(node)
            if key is None:  # a field of a computed value, e.g. coalesce(a, b).at: nothing to name
                return fn
            return _trace(fn, key) if self.is_traced else fn
        method: Callable[[_Builder, Any], Fn] = getattr(_Builder, f"_build_{type(node).__name__}")
        fn = method(self, node)
        if self.shared is not None and isinstance(node, n.Call) and self._per_record(node):
            return _memo(fn, self.shared.setdefault(_memo_key(node), len(self.shared)))
        return fn

    def _per_record(self, node: n.Node) -> bool:
        """Whether a value depends on nothing but the record, its parameters and the clock: no loop variable,
        no local. Such a value is computed once per record however often rules (or a loop) ask for it."""
        return not any(
            isinstance(part, n.Quantifier) or (isinstance(part, n.Name) and part.id in self.scope)
            for part in n.walk(node)
        )

    def _note_read(self, node: n.Node) -> str | None:
        """Add a field path to ``reads`` (parameters and ``as_of`` are not record fields); return its key."""
        key = n.spelling(node)
        if key is not None and not _root_is_param(node):
            self.reads.add(key)
        return key

    # -- field paths ---------------------------------------------------------------------------------

    def _path(self, node: n.Node, *, use_defaults: bool) -> tuple[Fn, PathFn, str | None]:
        """Closures for a value and its concrete path, plus its schema path when it is a record field."""
        if isinstance(node, n.Name):
            return self._name(node, use_defaults=use_defaults)
        if isinstance(node, n.Param):
            return self._param(node)
        if isinstance(node, n.AsOf):
            return _as_of, _constant_path("as_of"), None
        if isinstance(node, n.Field):
            return self._field(node, use_defaults=use_defaults)
        if isinstance(node, n.Item):
            return self._item(node, use_defaults=use_defaults)
        text = node.text
        return self.build(node), _constant_path(text), None

    def _name(self, node: n.Name, *, use_defaults: bool) -> tuple[Fn, PathFn, str | None]:
        name = node.id
        local = self.scope.get(name)
        if local is None:
            default = self.defaults.get(name, _MISSING) if use_defaults else _MISSING
            return _record_field(name, default), _constant_path(name), name

        def variable(env: Env) -> Any:
            return env.locals[name]

        collection = local.collection
        if collection is None:

            def bound_path(env: Env) -> str:
                return env.paths[name]

            return variable, bound_path, local.schema

        def item_path(env: Env) -> str:
            return f"{collection(env)}[{env.positions[name]}]"

        return variable, item_path, local.schema

    def _param(self, node: n.Param) -> tuple[Fn, PathFn, str | None]:
        name = node.name
        if name not in self.params:
            hint = suggestion(name, sorted(self.params))
            raise ExpressionError(f"unknown parameter `params.{name}`{hint}", node.loc)
        if name in self.constants:
            value = self.constants[name]
            return (lambda env: value), _constant_path(f"params.{name}"), None

        def param(env: Env) -> Any:
            return env.params[name]

        return param, _constant_path(f"params.{name}"), None

    def _field(self, node: n.Field, *, use_defaults: bool) -> tuple[Fn, PathFn, str | None]:
        base, base_path, base_schema = self._path(node.base, use_defaults=use_defaults)
        name = node.name
        schema = f"{base_schema}.{name}" if base_schema is not None else None
        default = self.defaults.get(schema, _MISSING) if use_defaults and schema is not None else _MISSING
        suffix = n.field_suffix(name)

        def path(env: Env) -> str:
            return base_path(env) + suffix

        if isinstance(node.base, n.Name) and node.base.id in self.scope:
            root = node.base.id

            def local_field(env: Env) -> Any:  # the loop variable's fields: the hottest reads, one call less
                value = env.locals[root]
                if type(value) is dict or isinstance(value, Mapping):
                    result = value.get(name, _MISSING)
                    if result is _MISSING:
                        if default is _MISSING:
                            where = path(env)
                            raise Undetermined(f"field {where} is absent", where)
                        return default
                    return result
                raise _no_field(base_path(env), value, name)

            return local_field, path, schema

        def field(env: Env) -> Any:
            value = base(env)
            if type(value) is dict or isinstance(value, Mapping):
                result = value.get(name, _MISSING)
                if result is _MISSING:
                    if default is _MISSING:
                        where = path(env)
                        raise Undetermined(f"field {where} is absent", where)
                    return default
                return result
            raise _no_field(base_path(env), value, name)

        return field, path, schema

    def _item(self, node: n.Item, *, use_defaults: bool) -> tuple[Fn, PathFn, str | None]:
        base, base_path, base_schema = self._path(node.base, use_defaults=use_defaults)
        index = node.index
        schema = f"{base_schema}[]" if base_schema is not None else None

        def path(env: Env) -> str:
            return f"{base_path(env)}[{index}]"

        def item(env: Env) -> Any:
            value = base(env)
            if type(value) is list or isinstance(value, list | tuple):
                try:
                    return value[index]
                except IndexError:
                    where = path(env)
                    raise Undetermined(f"{where} is absent: the list has {len(value)} items", where) from None
            raise Undetermined(f"{base_path(env)} is {_a(value)}, not a list, so it has no item {index}")

        return item, path, schema

    # -- everything else -----------------------------------------------------------------------------

    def _build_Const(self, node: n.Const) -> Fn:
        value = node.value
        return lambda env: value

    def _build_ListLit(self, node: n.ListLit) -> Fn:
        if all(isinstance(item, n.Const) for item in node.items):
            constant = [item.value for item in node.items if isinstance(item, n.Const)]
            return lambda env: constant
        items = [self.build(item) for item in node.items]
        return lambda env: [item(env) for item in items]

    def _build_Compare(self, node: n.Compare) -> Fn:
        operands = [self.build(node.left), *(self.build(operand) for operand in node.operands)]
        tests = [_pair_test(op, node.text) for op in node.ops]
        if len(tests) == 1:
            if node.ops[0] in ("in", "not in"):
                member = self._membership(node, operands[0], tests[0])
                if member is not None:
                    return member
            return _single_compare(node.ops[0], operands[0], operands[1], tests[0])

        def chain(env: Env) -> bool:
            # Kleene: a chain is a conjunction of its pairs; a false pair decides even if another is unknown.
            pending: Undetermined | None = None
            known = True
            try:
                left = operands[0](env)
            except Undetermined as exc:
                pending, known, left = exc, False, None
            for test, operand in zip(tests, operands[1:], strict=True):
                try:
                    right = operand(env)
                except Undetermined as exc:
                    pending = pending or exc
                    known = False
                    continue
                if known and not test(left, right):
                    return False
                left, known = right, True
            if pending is not None:
                raise pending
            return True

        return chain

    def _membership(self, node: n.Compare, left: Fn, test: Callable[[Any, Any], bool]) -> Fn | None:
        """``x in table`` as a set lookup when the table is a constant list (hashed once) or a per-record value
        (hashed once per record, e.g. ``lookup(params.pairs, business_type)`` inside a loop); None otherwise."""
        right = node.operands[0]
        known, constant = self._static(right)
        values: Fn
        table: Fn
        if known:
            hashed = _hashed(constant)
            if hashed is None:
                return None
            values, table = (lambda env: constant), (lambda env: hashed)
        elif self.shared is not None and isinstance(right, n.Call) and self._per_record(right):
            values = self.build(right)  # memoised: a Call of the record only
            slot = self.shared.setdefault(("hashed", _memo_key(right)), len(self.shared))
            table = _memo(lambda env: _hashed(values(env)), slot)
        else:
            return None
        negate = node.ops[0] == "not in"

        def member(env: Env) -> bool:
            a = left(env)
            members = table(env)
            if members is not None:
                key = _hash_key(a)
                if key is not _UNHASHABLE:
                    return (key not in members) if negate else (key in members)
            return test(a, values(env))

        return member

    def _build_BoolOp(self, node: n.BoolOp) -> Fn:
        operands = [self.build(operand) for operand in node.operands]
        if node.op == "and":
            return _all_of(operands)
        return _any_of(operands)

    def _build_Not(self, node: n.Not) -> Fn:
        operand = self.build(node.operand)
        return lambda env: not operand(env)

    def _build_Arith(self, node: n.Arith) -> Fn:
        left, right = self.build(node.left), self.build(node.right)
        apply = _ARITH[node.op]
        symbol, text = node.op, node.text

        def arith(env: Env) -> Any:
            a = left(env)
            b = right(env)
            if type(a) in _ARITH_TYPES and type(b) in _ARITH_TYPES:
                try:
                    return apply(a, b)
                except (TypeError, ArithmeticError, ValueError):
                    pass
            return _arith_slow(apply, a, b, symbol, text)

        return arith

    def _build_Negate(self, node: n.Negate) -> Fn:
        operand = self.build(node.operand)
        text = node.text
        return lambda env: _negated(operand(env), text)

    def _build_Conditional(self, node: n.Conditional) -> Fn:
        test, then, otherwise = self.build(node.test), self.build(node.then), self.build(node.otherwise)
        return lambda env: then(env) if test(env) else otherwise(env)

    def _static(self, node: n.Node) -> tuple[bool, Any]:
        return static_value(node, self.constants)

    def _build_Call(self, node: n.Call) -> Fn:
        function = FUNCTIONS[node.function]
        if function.specialize is not None and len(node.args) >= 2 and not self.is_traced:
            statics = [self._static(arg) for arg in node.args[1:]]
            if all(known for known, _ in statics):
                try:
                    fast = function.specialize(*(value for _, value in statics))
                except Undetermined as exc:
                    raise ExpressionError(f"{function.signature}: {exc.reason}", node.loc) from None
                first = self.build(node.args[0])
                return lambda env: fast(first(env))
        impl = function.impl
        args = [self.build(arg) for arg in node.args]
        if len(args) == 1:
            (only,) = args
            return lambda env: impl(env, only(env))
        if len(args) == 2:
            first, second = args
            return lambda env: impl(env, first(env), second(env))
        return lambda env: impl(env, *(arg(env) for arg in args))

    def _build_Has(self, node: n.Has) -> Fn:
        fn, _, _ = self._path(node.path, use_defaults=False)  # has() asks about the record, not defaults
        self._note_read(node.path)

        def has(env: Env) -> bool:
            try:
                fn(env)
            except Undetermined:
                return False
            return True

        return has

    def _build_Coalesce(self, node: n.Coalesce) -> Fn:
        args = [self.build(arg) for arg in node.args]

        def coalesce(env: Env) -> Any:
            absent: Undetermined | None = None
            for arg in args:
                try:
                    value = arg(env)
                except Undetermined as exc:
                    if exc.field is None:
                        raise
                    absent = absent or exc
                    continue
                if value is not None:
                    return value
            if absent is not None:  # an absent argument might have held a value: do not guess None
                raise absent
            return None

        return coalesce

    def _build_Quantifier(self, node: n.Quantifier) -> Fn:
        var = node.var
        if var in self.scope:
            raise ExpressionError(f"`{var}` is already in use here; pick another loop variable", node.loc)
        collection, collection_path, collection_schema = self._path(node.iterable, use_defaults=True)
        self._note_read(node.iterable)  # not traced: the items' fields are the evidence, not the whole list
        item_schema = f"{collection_schema}[]" if collection_schema is not None else None
        self.scope[var] = _Local(item_schema, collection_path)
        try:
            element = self.build(node.element) if node.element is not None else None
            condition = self.build(node.condition) if node.condition is not None else None
        finally:
            del self.scope[var]
        truth = _item_truth(node.kind, element, condition)
        kind, text = node.kind, node.text

        def quantifier(env: Env) -> Any:
            items = collection(env)
            if type(items) is not list and not isinstance(items, list | tuple):
                raise Undetermined(f"{collection_path(env)} is {_a(items)}, not a list, in `{text}`")
            values, positions = env.locals, env.positions
            pending: Undetermined | None = None
            count = 0
            for position, item in enumerate(items):
                values[var] = item
                positions[var] = position
                try:
                    holds = truth(env)
                except Undetermined as exc:
                    if kind == "count":
                        raise
                    pending = pending or exc
                    continue
                if holds:
                    if kind == "any":
                        return True
                    count += 1
                elif kind == "all":
                    return False
            if kind == "count":
                return count
            if pending is not None:
                raise pending
            return kind == "all"

        return quantifier


def static_value(node: n.Node, constants: Mapping[str, Any]) -> tuple[bool, Any]:
    """Whether a node's value is known when compiling (a literal or a constant parameter), and the value."""
    if isinstance(node, n.Const):
        return True, node.value
    if isinstance(node, n.Param) and node.name in constants:
        return True, constants[node.name]
    if isinstance(node, n.ListLit) and all(isinstance(item, n.Const) for item in node.items):
        return True, [item.value for item in node.items if isinstance(item, n.Const)]
    return False, None


def _memo_key(node: n.Node) -> Hashable:
    """Nodes compare without their text, and ``Const(1) == Const(True)``: the constants' types keep them apart."""
    return node, tuple(type(part.value) for part in n.walk(node) if isinstance(part, n.Const))


_UNHASHABLE: Any = object()


def _hash_key(value: Any) -> Any:
    """A hashable stand-in equal exactly when ``==`` holds (lists tagged, so a list never equals a tuple)."""
    if type(value) is list:
        key = (list, *value)  # lists of scalars, the common case, need no recursion
        try:
            hash(key)
        except TypeError:
            items = tuple(_hash_key(item) for item in value)
            return _UNHASHABLE if _UNHASHABLE in items else (list, *items)
        return key
    try:
        hash(value)
    except TypeError:
        return _UNHASHABLE
    return value


def _hashed(table: Any) -> frozenset[Any] | None:
    """A list's members as a set of hash keys; None for anything else (a string, a mapping, unhashable items)."""
    if type(table) is not list:
        return None
    keys = frozenset(_hash_key(item) for item in table)
    return None if _UNHASHABLE in keys else keys


class _Raised:
    """A memoised Undetermined: asking again raises it again."""

    __slots__ = ("error",)

    def __init__(self, error: Undetermined) -> None:
        self.error = error


def _memo(fn: Fn, slot: int) -> Fn:
    """``fn`` evaluated once per record (``Env.memo`` is emptied for each record), its Undetermined included."""

    def memo(env: Env) -> Any:
        cache = env.memo
        value = cache.get(slot, _MISSING)
        if value is _MISSING:
            try:
                value = fn(env)
            except Undetermined as exc:
                cache[slot] = _Raised(exc)
                raise
            cache[slot] = value
            return value
        if type(value) is _Raised:
            raise value.error
        return value

    return memo


def _root_is_param(node: n.Node) -> bool:
    while isinstance(node, n.Field | n.Item):
        node = node.base
    return isinstance(node, n.Param | n.AsOf)


def _constant_path(path: str) -> PathFn:
    return lambda env: path


def _trace(fn: Fn, key: str) -> Fn:
    def traced(env: Env) -> Any:
        value = fn(env)
        if env.trace is not None:
            env.trace[key] = value
        return value

    return traced


def _a(value: object) -> str:
    """``a string "x"`` / ``null``: how a wrong value is described in a reason."""
    if value is None:
        return "null"
    kind = type_name(value)
    article = "an" if kind[0] in "aeiou" else "a"
    shown = repr(value)
    return f"{article} {kind} ({shown[:40]}…)" if len(shown) > 40 else f"{article} {kind} ({shown})"


def _no_field(base_path: str, value: object, name: str) -> Undetermined:
    return Undetermined(f"{base_path} is {_a(value)}, not a mapping, so it has no field {name}")


def _as_of(env: Env) -> Any:
    if env.as_of is None:
        raise Undetermined("no as_of given")
    return env.as_of


def _record_field(name: str, default: Any) -> Fn:
    def record_field(env: Env) -> Any:
        value = env.record.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise Undetermined(f"field {name} is absent", name)
            return default
        return value

    return record_field


def _all_of(operands: list[Fn]) -> Fn:
    """``and`` in Kleene logic: false if any operand is false, even when another is undetermined."""
    if len(operands) == 2:
        a, b = operands

        def both(env: Env) -> bool:
            try:
                if not a(env):
                    return False
            except Undetermined as first:
                try:
                    if not b(env):
                        return False
                except Undetermined:
                    pass
                raise first from None
            return True if b(env) else False  # noqa: SIM210 - avoids a call to bool() on the hot path

        return both

    def every(env: Env) -> bool:
        pending: Undetermined | None = None
        for operand in operands:
            try:
                if not operand(env):
                    return False
            except Undetermined as exc:
                pending = pending or exc
        if pending is not None:
            raise pending
        return True

    return every


def _any_of(operands: list[Fn]) -> Fn:
    """``or`` in Kleene logic: true if any operand is true, even when another is undetermined."""
    if len(operands) == 2:
        a, b = operands

        def either(env: Env) -> bool:
            try:
                if a(env):
                    return True
            except Undetermined as first:
                try:
                    if b(env):
                        return True
                except Undetermined:
                    pass
                raise first from None
            return True if b(env) else False  # noqa: SIM210 - avoids a call to bool() on the hot path

        return either

    def some(env: Env) -> bool:
        pending: Undetermined | None = None
        for operand in operands:
            try:
                if operand(env):
                    return True
            except Undetermined as exc:
                pending = pending or exc
        if pending is not None:
            raise pending
        return False

    return some


def _item_truth(kind: n.QuantifierKind, element: Fn | None, condition: Fn | None) -> Fn:
    """One item's truth in a quantifier: ``condition and element`` for any/count, and
    ``not condition or element`` for all, so an item the filter excludes never undetermines ``all``."""
    if condition is None:
        if element is None:
            return lambda env: True
        return element
    if element is None:
        return condition
    if kind == "all":
        return _any_of([lambda env: not condition(env), element])
    return _all_of([condition, element])


def _kind(value: object) -> str:
    """Equality is only meaningful within one kind; across kinds it is a type error, not ``False``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    return type_name(value)


def _equal(a: Any, b: Any, text: str) -> bool:
    if type(a) is type(b) or a is None or b is None:
        return bool(a == b)
    kind = _kind(a)
    if kind != _kind(b):
        raise Undetermined(f"cannot compare {_a(a)} with {_a(b)} in `{text}`")
    if kind == "list":
        return list(a) == list(b)
    return bool(a == b)


def _pair_test(op: n.CompareOp, text: str) -> Callable[[Any, Any], bool]:
    """The test for one link of a comparison, raising Undetermined on a type mismatch."""
    if op == "is":
        return lambda a, b: a is None
    if op == "is not":
        return lambda a, b: a is not None
    if op == "==":
        return lambda a, b: _equal(a, b, text)
    if op == "!=":
        return lambda a, b: not _equal(a, b, text)
    if op in ("in", "not in"):
        negate = op == "not in"

        def member(a: Any, b: Any) -> bool:
            if isinstance(b, str) and not isinstance(a, str):
                raise Undetermined(f"cannot look for {_a(a)} in a string in `{text}`")
            try:
                return (a not in b) if negate else (a in b)
            except TypeError:
                raise Undetermined(f"cannot look for {_a(a)} in {_a(b)} in `{text}`") from None

        return member
    order = _ORDER[op]

    def ordered(a: Any, b: Any) -> bool:
        try:
            return order(a, b)
        except TypeError:
            raise Undetermined(f"cannot compare {_a(a)} with {_a(b)} in `{text}`") from None

    return ordered


def _single_compare(op: n.CompareOp, left: Fn, right: Fn, test: Callable[[Any, Any], bool]) -> Fn:
    """An unchained comparison, with the common operators inlined to keep the hot path short."""
    if op == "is":
        return lambda env: left(env) is None
    if op == "is not":
        return lambda env: left(env) is not None
    if op in _ORDER:
        order = _ORDER[op]

        def ordered(env: Env) -> bool:
            a = left(env)
            b = right(env)
            try:
                return order(a, b)
            except TypeError:
                return test(a, b)  # re-raises as Undetermined with the reason

        return ordered
    if op in ("==", "!="):
        equal = op == "=="

        def equality(env: Env) -> bool:
            a = left(env)
            b = right(env)
            if type(a) is type(b):
                return (a == b) is equal
            return test(a, b)

        return equality
    return lambda env: test(left(env), right(env))


def _negated(value: Any, text: str) -> Any:
    """Unary minus of a number or a duration; anything else is undetermined, with a reason."""
    if isinstance(value, int | float | Decimal | timedelta) and not isinstance(value, bool):
        try:
            return -value
        except OverflowError:
            raise Undetermined(f"`{text}` is out of range") from None
    raise Undetermined(f"cannot negate {_a(value)} in `{text}`")


def _arith_operand(value: object) -> bool:
    return isinstance(value, int | float | Decimal | date | timedelta) and not isinstance(value, bool)


def _arith_slow(apply: Callable[[Any, Any], Any], a: Any, b: Any, symbol: str, text: str) -> Any:
    """The rare arithmetic cases: mixed Decimal and float, subclasses, and every error, with a reason."""
    if not (_arith_operand(a) and _arith_operand(b)):
        raise Undetermined(f"cannot apply {symbol} to {_a(a)} and {_a(b)} in `{text}`")
    if isinstance(a, float) and isinstance(b, Decimal):
        a = Decimal(repr(a))
    elif isinstance(a, Decimal) and isinstance(b, float):
        b = Decimal(repr(b))
    try:
        return apply(a, b)
    except ZeroDivisionError:
        raise Undetermined(f"division by zero in `{text}`") from None
    except (OverflowError, ArithmeticError, ValueError):
        raise Undetermined(f"`{text}` is out of range") from None
    except TypeError:
        raise Undetermined(f"cannot apply {symbol} to {_a(a)} and {_a(b)} in `{text}`") from None
