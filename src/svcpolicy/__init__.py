"""svcpolicy: bank customer-service regulations as executable policy that cites its articles.

The public surface is what this module exports; everything else is private and may change.
"""

from svcpolicy._version import __version__
from svcpolicy.calendar import HolidayCalendar
from svcpolicy.errors import (
    CalendarNotCovered,
    ExpressionError,
    InputError,
    LocatedError,
    PackError,
    PackErrors,
    SourceLocation,
    SvcPolicyError,
)
from svcpolicy.extras import MissingDependency
from svcpolicy.monitor.monitor import Monitor
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.schema import Rule, Severity
from svcpolicy.policy import Evaluation, ExampleResult, Policy, load_policy
from svcpolicy.records.model import Interaction, json_schema
from svcpolicy.reporting.notebook import evaluate_frame  # pandas is imported only when it is called
from svcpolicy.results.findings import Citation, Finding, InvalidRecord, Outcome, PackRef, RecordRef
from svcpolicy.results.report import Counts, InputFailure, Report

__all__ = [
    "CalendarNotCovered",
    "Citation",
    "Counts",
    "Evaluation",
    "ExampleResult",
    "ExpressionError",
    "Finding",
    "HolidayCalendar",
    "InputError",
    "InputFailure",
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
    "__version__",
    "bundled_pack_path",
    "evaluate_frame",
    "json_schema",
    "load_policy",
]
