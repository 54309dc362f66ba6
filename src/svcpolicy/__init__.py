"""svcpolicy: bank customer-service regulations as executable policy that cites its articles.

The public surface is what this module exports; everything else is private and may change.
"""

import importlib
from typing import TYPE_CHECKING, Any

from svcpolicy._version import __version__
from svcpolicy.calendar import HolidayCalendar
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
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.schema import Rule, Severity
from svcpolicy.policy import Evaluation, ExampleResult, Policy, load_policy
from svcpolicy.records.model import Interaction, json_schema
from svcpolicy.results.decision import Decision
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, PackRef, RecordRef
from svcpolicy.results.report import Counts, InputFailure, Report

if TYPE_CHECKING:
    from svcpolicy.monitor import Monitor
    from svcpolicy.reporting.notebook import evaluate_frame

_LAZY = {"Monitor": "svcpolicy.monitor", "evaluate_frame": "svcpolicy.reporting.notebook"}
"""Imported on first use: the monitor brings durable-rules and SQLite, the notebook part the reporting room."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'svcpolicy' has no attribute {name!r}")


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
