"""Message templates: text with ``{expr}`` placeholders, rendered for a violation.

A placeholder is an ordinary expression, compiled with the rule's names in scope. Rendering never fails:
a value the record does not supply (or null) shows as 未提供 / ``(not given)``, in the template's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from svcpolicy.errors import ExpressionError, SourceLocation
from svcpolicy.expr.undetermined import Undetermined

if TYPE_CHECKING:
    from svcpolicy.expr.compiled import CompiledExpr
    from svcpolicy.expr.env import Env

MISSING_TEXT = {"zh": "未提供", "en": "(not given)"}
"""What a placeholder shows when the record does not supply the value (or it is null)."""
EMPTY_TEXT = {"zh": "空", "en": "(empty)"}
"""What a placeholder shows for an empty text or list."""
_YES_NO = {"zh": ("是", "否"), "en": ("true", "false")}
_SEPARATOR = {"zh": "、", "en": ", "}
ITEMS_SHOWN = 20
"""A list in a message shows its first items and how many more there are: a record with thousands of steps
would otherwise repeat every one of them in each of its findings (megabytes of a CI log for one record)."""
CHARACTERS_SHOWN = 1000
"""A placeholder shows at most this many characters of its value, and how many more there are."""
_MORE_ITEMS = {"zh": "…（另 {} 项）", "en": "… (+{} more)"}
_MORE_CHARACTERS = {"zh": "…（另 {} 字）", "en": "… (+{} more characters)"}


Parts: TypeAlias = "tuple[str | CompiledExpr, ...]"


class Template:
    """A compiled template: literal text and compiled placeholders, in order (compiled on first use when
    deferred: a pack's messages are rendered only for violations, and a short run may meet none)."""

    __slots__ = ("_parts", "lang", "text")

    def __init__(self, text: str, parts: Parts | Callable[[], Parts], lang: str = "en") -> None:
        """``parts``: the parts, or a function making them when first needed."""
        self.text = text
        self._parts = parts
        self.lang = "zh" if lang == "zh" else "en"

    @property
    def parts(self) -> Parts:
        """Literal text and compiled placeholders; compiling a deferred template here raises its ExpressionError."""
        if callable(self._parts):
            self._parts = self._parts()
        return self._parts

    def compile(self) -> None:
        """Compile a deferred template now: raises the ExpressionError its first render would."""
        self.parts  # noqa: B018 - compiled on access

    @classmethod
    def parse(
        cls,
        text: str,
        location: SourceLocation | None,
        compile_placeholder: Callable[[str, SourceLocation | None], CompiledExpr],
        lang: str = "en",
        *,
        deferred: bool = False,
    ) -> Template:
        """Split ``text`` into literals and placeholders; an unbalanced brace is an ExpressionError.

        ``lang`` is the language the values are written in (missing values, yes/no, list separators).
        ``deferred``: split and compile on first use (``parts``, ``render``), so errors are raised then."""
        if deferred:
            return cls(text, lambda: _split(text, location, compile_placeholder), lang)
        return cls(text, _split(text, location, compile_placeholder), lang)

    def render(self, env: Env) -> str:
        """The message for this record; placeholders that cannot be evaluated show as missing (未提供)."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            try:
                value = part(env)
            except Undetermined:
                value = None
            text = format_value(value, self.lang)
            if len(text) > CHARACTERS_SHOWN:
                text = text[:CHARACTERS_SHOWN] + _MORE_CHARACTERS[self.lang].format(len(text) - CHARACTERS_SHOWN)
            out.append(text)
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def format_value(value: Any, lang: str = "en") -> str:
    """How a value reads in a message: ISO dates, short numbers (thousands separated from 10,000), lists joined
    by commas (、), a sequence of named steps as ``a → b → c``, and missing or empty values said in words. A list
    longer than ``ITEMS_SHOWN`` shows that many items and says how many more there are."""
    lang = "zh" if lang == "zh" else "en"
    if value is None:
        return MISSING_TEXT[lang]
    if isinstance(value, str):
        return value or EMPTY_TEXT[lang]
    if isinstance(value, bool):
        return _YES_NO[lang][0 if value else 1]
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if not value:
            return EMPTY_TEXT[lang]
        shown = value[:ITEMS_SHOWN]
        more = _MORE_ITEMS[lang].format(len(value) - ITEMS_SHOWN) if len(value) > ITEMS_SHOWN else ""
        if all(isinstance(item, Mapping) and item.get("name") for item in shown):
            return " → ".join(str(item["name"]) for item in shown) + more
        return _SEPARATOR[lang].join(format_value(item, lang) for item in shown) + more
    if isinstance(value, Mapping):
        pairs = (f"{key}: {format_value(item, lang)}" for key, item in value.items())
        return "(" + _SEPARATOR[lang].join(pairs) + ")"
    return str(value)


def _split(
    text: str,
    location: SourceLocation | None,
    compile_placeholder: Callable[[str, SourceLocation | None], CompiledExpr],
) -> Parts:
    """``text`` as literals and compiled placeholders."""
    parts: list[str | CompiledExpr] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "}":
            message = "single `}` in a message; write `}}` for a brace"
            raise ExpressionError(message, _at(location, text, i))
        elif char == "{":
            end = _placeholder_end(text, i + 1)
            if end < 0:
                raise ExpressionError("`{` without a closing `}` in a message", _at(location, text, i))
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(compile_placeholder(text[i + 1 : end], _at(location, text, i + 1)))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _placeholder_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a placeholder, skipping braces inside string literals; -1 if none."""
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "}":
            return i
        i += 1
    return -1


def _at(location: SourceLocation | None, text: str, offset: int) -> SourceLocation | None:
    """Where ``text[offset]`` is, given where the template's first character is."""
    if location is None:
        return None
    before = text[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        column = location.column + offset if location.column else 0
        return SourceLocation(location.file, location.line, column)
    line = location.line + newlines if location.line else 0
    return SourceLocation(location.file, line, offset - before.rfind("\n"))
