"""The real-time monitor: sequence rules over an event stream, with durable state.

:class:`Monitor` (``monitor``) orders the stream, drops duplicates and numbers its outputs; ``cases`` is the
state machine of the sequence rules; ``alerts`` is what a consumer reads; ``store`` keeps the state in SQLite;
``durable_sequences`` runs the ``preceded-by``/``not-after`` checks in durable-rules.
"""

from svcpolicy.monitor.alerts import Alert, DueSoon, LateEvent, MonitorCounts
from svcpolicy.monitor.cases import MonitorEngine
from svcpolicy.monitor.monitor import Monitor
from svcpolicy.monitor.store import MonitorStateError

__all__ = ["Alert", "DueSoon", "LateEvent", "Monitor", "MonitorCounts", "MonitorEngine", "MonitorStateError"]
