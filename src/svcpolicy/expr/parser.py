"""Text to ``nodes``: Python's parser does the syntax, this module decides what of it the language allows.

Packs are untrusted, so everything not explicitly allowed is rejected here, before any compiler sees it, and
the size limits bound the work any expression can cause. Errors carry ``file:line:col`` of the offending
part, computed from where the expression starts in its YAML file.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import math
import pickle
import tokenize
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal

from svcpolicy.errors import ExpressionError, SourceLocation
from svcpolicy.expr import nodes as n
from svcpolicy.expr.functions import FUNCTIONS

MAX_SOURCE_CHARS = 4000
MAX_NODES = 500
MAX_DEPTH = 40
MAX_STRING_CHARS = 1000
MAX_NUMBER = 10**15
MAX_LIST_ITEMS = 200

RESERVED_NAMES = frozenset({"params", "as_of"})
QUANTIFIERS = ("any", "all", "count")
FUNCTION_NAMES = (*FUNCTIONS, *QUANTIFIERS, "has", "coalesce")

_COMPARE_OPS: dict[type[ast.cmpop], n.CompareOp] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_ARITH_OPS: dict[type[ast.operator], n.ArithOp] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Mod: "%",
}
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda expressions are",
    ast.NamedExpr: "assignments (:=) are",
    ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are",
    ast.Starred: "starred arguments are",
    ast.Slice: "slices are",
    ast.Dict: "mapping literals are",
    ast.Set: "set literals are",
    ast.ListComp: "list comprehensions are",
    ast.SetComp: "set comprehensions are",
    ast.DictComp: "mapping comprehensions are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
}


def is_dunder(name: str) -> bool:
    """Names starting with ``__`` are Python internals; rejecting them everywhere keeps them unreachable."""
    return name.startswith("__")


ParsedTrees = dict[tuple[str, SourceLocation | None], n.Node]
"""Expression trees by the source text and location they were parsed from."""

KeptTrees = dict[tuple[str, tuple[str, int, int] | None], bytes]
"""Parsed trees as kept for another process: each pickled on its own, by its source text and location (file, line,
column), so a run unpickles only the trees of the rules its records reach."""

_earlier: KeptTrees = {}
"""Trees parsed by this code in an earlier process (kept with a cached pack): taken as parsed, not parsed again."""
_recordings: list[ParsedTrees] = []


def parse(source: str, location: SourceLocation | None = None) -> n.Node:
    """Parse and check one expression; ``location`` is where its first character is in the pack.

    Trees are immutable, so a parse is remembered (bounded): ``svcpolicy check`` lints the pack it has just
    compiled, and the second parse of each of its ~1,200 expressions would otherwise be a tenth of a short run.
    A tree given to :func:`adopt_trees` is not parsed at all.
    """
    tree = _parse(source, location)
    for recording in _recordings:
        recording[(source, location)] = tree
    return tree


@functools.lru_cache(maxsize=4096)
def _parse(source: str, location: SourceLocation | None) -> n.Node:
    earlier = _earlier.get(_kept_key(source, location))
    if earlier is not None:
        try:
            tree = pickle.loads(earlier)  # noqa: S301 - kept by kept_trees, in the user's own cache directory
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            tree = None  # a damaged tree is parsed again
        if isinstance(tree, n.Node):
            return tree
    return _Parser(source, location).parse()


def _kept_key(source: str, location: SourceLocation | None) -> tuple[str, tuple[str, int, int] | None]:
    return source, None if location is None else (location.file, location.line, location.column)


def kept_trees(trees: ParsedTrees) -> KeptTrees:
    """``trees`` (what :func:`recording_trees` recorded) as another process running this code adopts them."""
    return {
        _kept_key(source, location): pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
        for (source, location), tree in trees.items()
    }


def adopt_trees(kept: KeptTrees) -> None:
    """Take the trees :func:`kept_trees` gave in an earlier process running this code as parsed (each unpickled
    when first parsed)."""
    _earlier.update(kept)


@contextlib.contextmanager
def recording_trees() -> Iterator[ParsedTrees]:
    """Every tree :func:`parse` gives inside the block, parsed then or before, by source and location."""
    recording: ParsedTrees = {}
    _recordings.append(recording)
    try:
        yield recording
    finally:
        _recordings[:] = [other for other in _recordings if other is not recording]


def parse_for_each(source: str, location: SourceLocation | None) -> tuple[str, str]:
    """Split ``for_each: op in operations`` into the variable and the collection's source text."""
    parser = _Parser(source, location)
    tree = parser.parse()
    if not (
        isinstance(tree, n.Compare)
        and tree.ops == ("in",)
        and isinstance(tree.left, n.Name)
        and tree.left.id not in RESERVED_NAMES
    ):
        raise ExpressionError("for_each must read `NAME in COLLECTION`, e.g. `op in operations`", location)
    return tree.left.id, tree.operands[0].text


def suggestion(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """A did-you-mean hint for an unknown name, or nothing when none is close."""
    import difflib  # only for a name that is not known: a run of a pack that compiles never needs it

    close = difflib.get_close_matches(name, candidates, n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


class _Parser:
    """One expression's parse; holds the source lines to turn ``ast`` offsets into pack locations."""

    def __init__(self, source: str, location: SourceLocation | None) -> None:
        # Python counts a lone \r as a line break too: normalise so ast line numbers match ours
        stripped = source.replace("\r\n", "\n").replace("\r", "\n").lstrip(" \t")
        self.shift = len(source) - len(stripped)  # Python rejects leading blanks; YAML may leave some
        self.source = stripped
        self.base = location or SourceLocation("<expression>", 1, 1)
        self.lines = [line.encode("utf-8", "surrogatepass") for line in stripped.split("\n")]
        self.in_quantifier = False

    def parse(self) -> n.Node:
        if len(self.source) > MAX_SOURCE_CHARS:
            raise ExpressionError(
                f"expression is {len(self.source)} characters long; the limit is {MAX_SOURCE_CHARS}",
                self._location(1, 0),
            )
        if not self.source.strip():
            raise ExpressionError("expression is empty", self._location(1, 0))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. invalid escapes: the value is what the author wrote
                tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            line = exc.lineno or 1
            column = (exc.offset or 1) - 1 if exc.lineno else 0
            assignment = _lone_equals(self.source)
            if assignment is not None:
                line, column = assignment
                raise ExpressionError(
                    "`=` assigns, it does not compare: use == to compare", self._location(line, column)
                ) from None
            said = "" if exc.msg == "invalid syntax" else f": {exc.msg}"  # Python's most common message, once
            raise ExpressionError(f"invalid syntax{said}", self._location(line, column)) from None
        except (ValueError, UnicodeError) as exc:
            raise ExpressionError(f"invalid expression text: {exc}", self._location(1, 0)) from None
        except RecursionError:
            raise ExpressionError(
                f"expression is nested too deeply; the limit is {MAX_DEPTH}", self._location(1, 0)
            ) from None
        except MemoryError:  # "parser stack overflowed": CPython's own bound, hit by ~200 nested `[-`
            raise ExpressionError(
                f"expression is too complex to parse (nested too deeply; the limit is {MAX_DEPTH})",
                self._location(1, 0),
            ) from None
        self._check_size(tree.body)
        if not self.source.isascii():
            self._check_spelling(tree.body)
        return self._convert(tree.body)

    def _check_spelling(self, root: ast.expr) -> None:
        """Refuse identifiers Python read differently from how they are written.

        Python folds identifiers with Unicode NFKC, so ``customer.ᵢd`` would silently read ``customer.id``; a
        pack must say what it means, so a name is taken only when its spelling is its name.
        """
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                name, written = node.id, self._text(node)
            elif isinstance(node, ast.Attribute):  # the attribute is written after the node's last dot
                name, written = node.attr, self._text(node).rsplit(".", 1)[-1].strip(" \t\n\\")
            else:
                continue
            if written != name:
                raise self._error(
                    node,
                    f"identifier `{written}` is read by Python as `{name}` (Unicode NFKC folding); "
                    f"write `{name}` if that is what is meant",
                )

    def _location(self, lineno: int, char_column: int) -> SourceLocation:
        base = self.base
        if lineno == 1:
            column = base.column + self.shift + char_column if base.column else 0
            return SourceLocation(base.file, base.line, column)
        return SourceLocation(base.file, base.line + lineno - 1 if base.line else 0, char_column + 1)

    def _chars(self, lineno: int, byte_offset: int) -> int:
        """``ast`` columns count UTF-8 bytes; pack authors count characters."""
        return len(self.lines[lineno - 1][:byte_offset].decode("utf-8", "replace"))

    def _node_location(self, node: ast.AST) -> SourceLocation:
        lineno: int = getattr(node, "lineno", 1)
        return self._location(lineno, self._chars(lineno, getattr(node, "col_offset", 0)))

    def _text(self, node: ast.expr) -> str:
        end_line = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else len(self.lines[end_line - 1])
        if node.lineno == end_line:
            raw = self.lines[node.lineno - 1][node.col_offset : end_col]
        else:
            parts = [self.lines[node.lineno - 1][node.col_offset :]]
            parts.extend(self.lines[node.lineno : end_line - 1])
            parts.append(self.lines[end_line - 1][:end_col])
            raw = b"\n".join(parts)
        return raw.decode("utf-8", "replace")

    def _error(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, self._node_location(node))

    def _check_size(self, root: ast.expr) -> None:
        """Count nodes and depth without recursion, so a hostile tree is rejected before it is walked."""
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise self._error(node, f"expression has more than {MAX_NODES} parts")
            if depth > MAX_DEPTH:
                raise self._error(node, f"expression is nested more than {MAX_DEPTH} levels deep")
            stack.extend(
                (child, depth + 1)
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.expr | ast.comprehension | ast.keyword)
            )

    def _convert(self, node: ast.expr) -> n.Node:
        converter = self._CONVERTERS.get(type(node))
        if converter is None:
            what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are")
            raise self._error(node, f"{what} not allowed in a condition")
        return converter(self, node)

    def _constant(self, node: ast.Constant) -> n.Node:
        value = node.value
        if isinstance(value, bool) or value is None:
            return n.Const(value, text=self._text(node), loc=self._node_location(node))
        if isinstance(value, int | float):
            if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_NUMBER:
                raise self._error(node, f"number literals are limited to ±{MAX_NUMBER:.0e}")
            return n.Const(value, text=self._text(node), loc=self._node_location(node))
        if isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                raise self._error(node, f"string literals are limited to {MAX_STRING_CHARS} characters")
            return n.Const(value, text=self._text(node), loc=self._node_location(node))
        raise self._error(node, f"{type(value).__name__} literals are not allowed in a condition")

    def _sequence(self, node: ast.List | ast.Tuple) -> n.Node:
        if len(node.elts) > MAX_LIST_ITEMS:
            raise self._error(node, f"list literals are limited to {MAX_LIST_ITEMS} items")
        items = tuple(self._convert(item) for item in node.elts)
        return n.ListLit(items, text=self._text(node), loc=self._node_location(node))

    def _name(self, node: ast.Name) -> n.Node:
        if is_dunder(node.id):
            raise self._error(node, f"`{node.id}`: names starting with __ are not allowed")
        if node.id == "params":
            raise self._error(node, "`params` must be followed by a parameter name, e.g. `params.limit_days`")
        if node.id == "as_of":
            return n.AsOf(text=self._text(node), loc=self._node_location(node))
        return n.Name(node.id, text=self._text(node), loc=self._node_location(node))

    def _attribute(self, node: ast.Attribute) -> n.Node:
        if is_dunder(node.attr):
            raise self._error(node, f"`.{node.attr}`: names starting with __ are not allowed")
        if isinstance(node.value, ast.Name) and node.value.id == "params":
            return n.Param(node.attr, text=self._text(node), loc=self._node_location(node))
        base = self._convert(node.value)
        return n.Field(base, node.attr, text=self._text(node), loc=self._node_location(node))

    def _subscript(self, node: ast.Subscript) -> n.Node:
        key = node.slice
        negative = isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub)
        if isinstance(key, ast.UnaryOp) and negative:
            key = key.operand
        value = key.value if isinstance(key, ast.Constant) else None
        base = self._convert(node.value)
        if isinstance(value, int) and not isinstance(value, bool) and value <= MAX_NUMBER:
            index = -value if negative else value
            return n.Item(base, index, text=self._text(node), loc=self._node_location(node))
        if isinstance(value, str) and not negative and len(value) <= MAX_STRING_CHARS:
            if is_dunder(value):
                raise self._error(node, f"`[{value!r}]`: names starting with __ are not allowed")
            return n.Field(base, value, text=self._text(node), loc=self._node_location(node))
        raise self._error(node.slice, "an index must be a literal position (`steps[0]`) or field name")

    def _compare(self, node: ast.Compare) -> n.Node:
        ops: list[n.CompareOp] = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            symbol = _COMPARE_OPS[type(op)]
            if symbol in ("is", "is not") and not (isinstance(right, ast.Constant) and right.value is None):
                raise self._error(right, f"only None may stand right of `{symbol}`; use == to compare values")
            ops.append(symbol)
        left = self._convert(node.left)
        operands = tuple(self._convert(right) for right in node.comparators)
        return n.Compare(left, tuple(ops), operands, text=self._text(node), loc=self._node_location(node))

    def _bool_op(self, node: ast.BoolOp) -> n.Node:
        op: Literal["and", "or"] = "and" if isinstance(node.op, ast.And) else "or"
        operands = tuple(self._convert(value) for value in node.values)
        return n.BoolOp(op, operands, text=self._text(node), loc=self._node_location(node))

    def _unary(self, node: ast.UnaryOp) -> n.Node:
        if isinstance(node.op, ast.Not):
            return n.Not(self._convert(node.operand), text=self._text(node), loc=self._node_location(node))
        if isinstance(node.op, ast.USub):
            return n.Negate(self._convert(node.operand), text=self._text(node), loc=self._node_location(node))
        raise self._error(node, "only `not` and unary `-` are allowed before a value")

    def _binary(self, node: ast.BinOp) -> n.Node:
        op = _ARITH_OPS.get(type(node.op))
        if op is None:
            raise self._error(node, "only + - * / % are allowed in arithmetic")
        left, right = self._convert(node.left), self._convert(node.right)
        return n.Arith(op, left, right, text=self._text(node), loc=self._node_location(node))

    def _conditional(self, node: ast.IfExp) -> n.Node:
        test, then, otherwise = (self._convert(part) for part in (node.test, node.body, node.orelse))
        return n.Conditional(test, then, otherwise, text=self._text(node), loc=self._node_location(node))

    def _call(self, node: ast.Call) -> n.Node:
        if not isinstance(node.func, ast.Name):
            raise self._error(node, "only the language's functions can be called, e.g. `upper(x)`, not `x.upper()`")
        name = node.func.id
        if node.keywords:
            raise self._error(node.keywords[0], f"{name}() takes no keyword arguments")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._error(arg, "starred arguments are not allowed in a condition")
        if name in QUANTIFIERS:
            return self._quantifier(node, name)
        if name == "has":
            return self._has(node)
        args = tuple(self._convert(arg) for arg in node.args)
        if name == "coalesce":
            if not args:
                raise self._error(node, "coalesce() needs at least one argument")
            return n.Coalesce(args, text=self._text(node), loc=self._node_location(node))
        function = FUNCTIONS.get(name)
        if function is None:
            raise self._error(node.func, f"unknown function `{name}`{suggestion(name, FUNCTION_NAMES)}")
        if len(args) != function.arity:
            message = f"{function.signature} takes {function.arity} argument(s), got {len(args)}"
            raise self._error(node, message)
        return n.Call(name, args, text=self._text(node), loc=self._node_location(node))

    def _has(self, node: ast.Call) -> n.Node:
        if len(node.args) != 1:
            raise self._error(node, "has() takes one field path, e.g. `has(customer.age)`")
        path = self._convert(node.args[0])
        if not isinstance(path, n.PATH_NODES):
            raise self._error(node.args[0], "has() takes a field path, e.g. `has(customer.age)`")
        return n.Has(path, text=self._text(node), loc=self._node_location(node))

    def _quantifier(self, node: ast.Call, kind: str) -> n.Node:
        usage = f"{kind}() takes one generator, e.g. `{kind}(x.done for x in steps if x.name == 'a')`"
        if len(node.args) != 1 or not isinstance(node.args[0], ast.GeneratorExp):
            raise self._error(node, usage)
        generator = node.args[0]
        if len(generator.generators) != 1:
            raise self._error(generator, f"{kind}() takes a single `for`; nested loops are not allowed")
        loop = generator.generators[0]
        if loop.is_async or not isinstance(loop.target, ast.Name):
            raise self._error(loop.target, f"{kind}() loops over one name, e.g. `for x in steps`")
        var = loop.target.id
        if is_dunder(var) or var in RESERVED_NAMES:
            raise self._error(loop.target, f"`{var}` cannot be used as a loop variable")
        if len(loop.ifs) > 1:
            raise self._error(loop.ifs[1], f"{kind}() takes at most one `if`; join conditions with `and`")
        if self.in_quantifier:
            raise self._error(node, "quantifiers cannot be nested")
        iterable = self._convert(loop.iter)
        self.in_quantifier = True
        try:
            element: n.Node | None = self._convert(generator.elt)
            condition = self._convert(loop.ifs[0]) if loop.ifs else None
        finally:
            self.in_quantifier = False
        if kind == "count" and element == n.Name(var, text="", loc=None):
            element = None  # count(x for x in xs if c) counts items, whatever their truth value
        quantifier_kind: n.QuantifierKind = "any" if kind == "any" else "all" if kind == "all" else "count"
        return n.Quantifier(
            quantifier_kind,
            var,
            iterable,
            element,
            condition,
            text=self._text(node),
            loc=self._node_location(node),
        )

    def _generator(self, node: ast.GeneratorExp) -> n.Node:
        raise self._error(node, "a generator is only allowed as the argument of any(), all() or count()")

    _CONVERTERS: ClassVar[dict[type[ast.AST], Callable[[_Parser, Any], n.Node]]] = {
        ast.Constant: _constant,
        ast.List: _sequence,
        ast.Tuple: _sequence,
        ast.Name: _name,
        ast.Attribute: _attribute,
        ast.Subscript: _subscript,
        ast.Compare: _compare,
        ast.BoolOp: _bool_op,
        ast.UnaryOp: _unary,
        ast.BinOp: _binary,
        ast.IfExp: _conditional,
        ast.Call: _call,
        ast.GeneratorExp: _generator,
    }


def _lone_equals(source: str) -> tuple[int, int] | None:
    """Where a single ``=`` stands in an expression that does not parse (1-based line, 0-based column): the
    common slip for ``==``. None when there is none or the text does not even tokenize."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.OP and token.string == "=":
                return token.start
    except (tokenize.TokenError, SyntaxError):
        return None
    return None
