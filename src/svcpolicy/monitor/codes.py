"""How the monitor reads an event field it compares: a code as the record rules' ``code()`` reads it.

A case's key, a pattern's ``where``/``where_in`` and an extension's approval level compare field values; for a
field the event type declares a code (``Event.code_fields``: an operation kind, a scope, a product category, a
business type, an approval level, a channel) the value is compared in :func:`code_form` (case, full width and
padding ignored), so ``CLOSE_ACCOUNT`` meets ``close_account`` here exactly as in SVC-016. The form lives in the
expression layer, which the event model sits below, hence this module rather than a method of the event.
"""

from __future__ import annotations

from typing import Any

from svcpolicy.expr.functions import code_form
from svcpolicy.records.events import Event


def compared(event: Event, name: str) -> Any:
    """The field's value as the monitor compares it: a code field's text in code form, anything else as given."""
    value = event.field(name)
    if isinstance(value, str) and name in type(event).code_fields:
        return code_form(value)
    return value
