"""The ``preceded-by`` and ``not-after`` sequence rules as one durable-rules ruleset, owned by one thread.

Each open case (an authorisation granted, a product declined) is a durable-rules *fact* ``{t: "open", r: rule,
k: key}``, asserted when the case opens and retracted when it closes. A checked event (an operation, a sale)
is asserted as a fact ``{t: "ev", r: rule, k: key}``, the actions it fires are drained, and it is retracted:
the rule ``open(r, k) and ev(r, k)`` fires exactly when the event's key has an open case. ``preceded-by`` is
breached when nothing fired, ``not-after`` when something did.

What stays in Python, and why: the ``within`` deadlines. durable-rules has no holiday calendar and its timers
run on wall time, while the monitor must judge by event time (replays give the live findings) with the PRC
calendar's 调休 days; so deadlines are computed by ``HolidayCalendar.calendar_deadline`` in svcpolicy.monitor.cases.

Pitfalls handled (docs: shared durable-rules notes): facts are used, not events (an event is consumed by the
first rule); ids are unique per fact (``o:`` + rule + key for cases, ``e:`` + a counter for checks); no record
data is passed as ``sid``; every call runs on the owner thread.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterable
from typing import Any, TypeVar

import orjson

from svcpolicy.engines.durable.owner_thread import OwnerThread
from svcpolicy.errors import SvcPolicyError

T = TypeVar("T")
_NAMES = itertools.count(1)
MAX_ATTEMPTS = 16


def durable_available() -> bool:
    """Whether durable-rules (the ``svcpolicy[durable]`` extra, a C extension) can be imported."""
    try:
        importlib.import_module("durable_rules_engine")
    except ImportError:
        return False
    return True


class MonitorEngineError(SvcPolicyError):
    """durable-rules refused a ruleset or a call (its code is in the message)."""


def ruleset(rule_ids: Iterable[str]) -> dict[str, Any]:
    """The durable-rules JSON ruleset: one rule per sequence, matching an open case and an event of one key."""
    return {
        rule_id: {
            "all": [
                {"c": {"$and": [{"t": "open"}, {"r": rule_id}]}},
                {"e": {"$and": [{"t": "ev"}, {"r": rule_id}, {"k": {"c": "k"}}]}},
            ]
        }
        for rule_id in rule_ids
    }


class DurableSequences:
    """Open cases as facts; ``matches`` asks whether an event's key has one. Close it when done."""

    def __init__(self, rule_ids: Iterable[str]) -> None:
        self._module: Any = importlib.import_module("durable_rules_engine")  # a C extension without type stubs
        self._owner = OwnerThread("svcpolicy-monitor-durable")
        self._call = self._owner.call
        self._events = itertools.count(1)
        self.closed = False
        self.collisions = 0  # ids durable-rules took for already observed (hash collisions), retried
        self._salted: dict[tuple[str, str], str] = {}
        self.rule_ids = list(rule_ids)
        definition = orjson.dumps(ruleset(self.rule_ids)).decode()
        name = f"svcpolicy_monitor{next(_NAMES)}"
        self._handle: int | None = (
            self._call(lambda: self._module.create_ruleset(name, definition)) if self.rule_ids else None
        )

    @staticmethod
    def _open_fact(fact_id: str, rule_id: str, key: str) -> str:
        return orjson.dumps({"id": fact_id, "t": "open", "r": rule_id, "k": key}).decode()

    def open(self, rule_id: str, key: str) -> None:
        """Assert the case's fact. The caller opens a case only once, so "already observed" (code 2) means
        durable-rules' id hash collided with another stored fact's: the fact is asserted again under a salted id,
        remembered for :meth:`close`."""
        self._call(lambda: self._open(rule_id, key))

    def open_all(self, cases: Iterable[tuple[str, str]]) -> None:
        """:meth:`open` for many cases in one call on the owner thread: a restart reopens every case at once, and
        a thread hand-over per case would cost more than the asserts."""
        pairs = list(cases)

        def open_each() -> None:
            for rule_id, key in pairs:
                self._open(rule_id, key)

        self._call(open_each)

    def _open(self, rule_id: str, key: str) -> None:
        """:meth:`open`, on the owner thread."""
        for attempt in range(MAX_ATTEMPTS):
            fact_id = f"o:{rule_id}:{key}" + (f"#{attempt}" if attempt else "")
            fact = self._open_fact(fact_id, rule_id, key)
            code = self._module.assert_fact(self._handle, fact)[0]
            if code in (0, 1):  # 1: matched no rule yet
                if attempt:
                    self._salted[(rule_id, key)] = fact_id
                return
            if code != 2:
                break
            self.collisions += 1
        raise MonitorEngineError(f"durable-rules refused an open case (code {code})")

    def close(self, rule_id: str, key: str) -> None:
        fact_id = self._salted.pop((rule_id, key), f"o:{rule_id}:{key}")
        fact = self._open_fact(fact_id, rule_id, key)
        handle = self._handle
        self._call(lambda: self._module.retract_fact(handle, fact))

    def matches(self, rule_id: str, key: str) -> bool:
        """Whether an open case of ``rule_id`` has ``key``: assert the event, drain, retract."""
        return self._call(lambda: self._match(rule_id, key))

    def _match(self, rule_id: str, key: str) -> bool:
        module, handle = self._module, self._handle
        for _ in range(MAX_ATTEMPTS):
            fact = orjson.dumps({"id": f"e:{next(self._events)}", "t": "ev", "r": rule_id, "k": key}).decode()
            code, state = module.assert_fact(handle, fact)
            if code != 2:  # 2: the id's hash collided with a stored fact's; try another id
                break
            self.collisions += 1
        if code not in (0, 1):
            raise MonitorEngineError(f"durable-rules refused an event fact (code {code})")
        fired = False
        result = module.start_action_for_state(handle, state)
        if result is not None:
            message: str | None = result[1]
            while message is not None:
                fired = fired or bool(orjson.loads(message))
                message = module.complete_and_start_action(handle, state)
        module.retract_fact(handle, fact)
        return fired

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._handle is not None:
                handle = self._handle
                self._call(lambda: self._module.delete_ruleset(handle))
        finally:
            self._owner.stop()
