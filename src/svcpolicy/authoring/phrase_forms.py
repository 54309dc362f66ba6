"""Phrases that can never match: a phrase list searched for in ``normalize(text)`` must be in normal form too.

``contains_unnegated(normalize(s), params.guaranteed_return_phrases, …)`` compares normalised statements with the
phrases as written. A phrase written ``Guaranteed Return``, ``保 本`` or with a full-width letter is never found
in a normalised text, so the rule silently stops catching it: lint reports such a phrase instead of the engine
rewriting the pack's lists behind the author's back (a list is also read where no text is normalised).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from svcpolicy.expr import nodes as n
from svcpolicy.expr.text_form import normal_form

PHRASE_FUNCTIONS = frozenset({"contains_any", "contains_unnegated"})
"""The functions whose arguments after the first are phrases searched for in the first."""


def normalized_phrase_arguments(node: n.Node) -> Iterator[n.Node]:
    """The phrase arguments of every phrase search in ``node`` whose text is ``normalize(...)``."""
    for part in n.walk(node):
        if (
            isinstance(part, n.Call)
            and part.function in PHRASE_FUNCTIONS
            and isinstance(part.args[0], n.Call)
            and part.args[0].function == "normalize"
        ):
            yield from part.args[1:]


def literal_phrases(argument: n.Node) -> Any:
    """A phrase argument written in the expression (a phrase or a list of them); None for any other."""
    if isinstance(argument, n.Const):
        return argument.value
    if isinstance(argument, n.ListLit):
        return [item.value for item in argument.items if isinstance(item, n.Const)]
    return None


def phrases_off_form(value: Any) -> list[str]:
    """The phrases of a phrase argument's value (one phrase or a list) that differ from their normal form."""
    phrases = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return [p for p in phrases if isinstance(p, str) and normal_form(p) != p]


def describe(phrases: list[str]) -> str:
    """The phrases and the form each should be written in, for a lint message."""
    return ", ".join(f"{p!r} (normal form {normal_form(p)!r})" for p in phrases)
