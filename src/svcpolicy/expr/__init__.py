"""The condition language: parse pack expressions into nodes, check them, compile them to closures.

See docs/expressions.md for the language itself.
"""

from svcpolicy.expr.compiled import CompiledExpr
from svcpolicy.expr.compiler import Compiler
from svcpolicy.expr.env import CalendarLike, Env
from svcpolicy.expr.parser import parse, parse_for_each
from svcpolicy.expr.template import Template
from svcpolicy.expr.undetermined import Undetermined

__all__ = [
    "CalendarLike",
    "CompiledExpr",
    "Compiler",
    "Env",
    "Template",
    "Undetermined",
    "parse",
    "parse_for_each",
]
