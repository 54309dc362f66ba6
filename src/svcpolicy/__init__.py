"""svcpolicy: bank customer-service regulations as executable policy that cites its articles.

The public surface is what this module exports; everything else is private and may change.
"""

import importlib
from typing import TYPE_CHECKING, Any

from svcpolicy._version import __version__
from svcpolicy.errors import (
    CalendarNotCovered,
    ExpressionError,
    InputError,
    InputTypeError,
    LocatedError,
    PackError,
    PackErrors,
    SourceLocation,
    SvcPolicyError,
    UsageError,
)
from svcpolicy.extras import MissingDependency

if TYPE_CHECKING:
    from svcpolicy.calendar import HolidayCalendar
    from svcpolicy.monitor import Monitor
    from svcpolicy.pack.bundled import bundled_pack_path
    from svcpolicy.pack.schema import Rule
    from svcpolicy.policy import Evaluation, ExampleResult, Policy, load_policy
    from svcpolicy.records.model import Interaction, json_schema
    from svcpolicy.reporting.notebook import evaluate_frame
    from svcpolicy.results.decision import Decision
    from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, PackRef, RecordRef
    from svcpolicy.results.report import Counts, InputFailure, Report
    from svcpolicy.severity import Severity

_LAZY = {
    "HolidayCalendar": "svcpolicy.calendar",
    "Monitor": "svcpolicy.monitor",
    "bundled_pack_path": "svcpolicy.pack.bundled",
    "Rule": "svcpolicy.pack.schema",
    "Severity": "svcpolicy.severity",
    "Evaluation": "svcpolicy.policy",
    "ExampleResult": "svcpolicy.policy",
    "Policy": "svcpolicy.policy",
    "load_policy": "svcpolicy.policy",
    "Interaction": "svcpolicy.records.model",
    "json_schema": "svcpolicy.records.model",
    "evaluate_frame": "svcpolicy.reporting.notebook",
    "Decision": "svcpolicy.results.decision",
    "Citation": "svcpolicy.results.findings",
    "Finding": "svcpolicy.results.findings",
    "InvalidRecord": "svcpolicy.results.findings",
    "Outcome": "svcpolicy.results.findings",
    "PackRef": "svcpolicy.results.findings",
    "RecordRef": "svcpolicy.results.findings",
    "Counts": "svcpolicy.results.report",
    "InputFailure": "svcpolicy.results.report",
    "Report": "svcpolicy.results.report",
}
"""Public names imported on first use (PEP 562), so ``import svcpolicy`` and the command's start stay cheap: the
policy brings pydantic and the engine, the calendar python-holidays, the monitor durable-rules and SQLite, the
notebook part pandas. The exceptions and the version are small and imported at once."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'svcpolicy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "CalendarNotCovered",
    "Citation",
    "Counts",
    "Decision",
    "Evaluation",
    "ExampleResult",
    "ExpressionError",
    "Finding",
    "HolidayCalendar",
    "InputError",
    "InputFailure",
    "InputTypeError",
    "Interaction",
    "InvalidRecord",
    "LocatedError",
    "MissingDependency",
    "Monitor",
    "Outcome",
    "PackError",
    "PackErrors",
    "PackRef",
    "Policy",
    "RecordRef",
    "Report",
    "Rule",
    "Severity",
    "SourceLocation",
    "SvcPolicyError",
    "UsageError",
    "__version__",
    "bundled_pack_path",
    "evaluate_frame",
    "json_schema",
    "load_policy",
]
