"""durable-rules at run time: its C module, rulesets created on one owner thread, and its failures as errors.

durable-rules 2.0.28 is not thread-safe, sometimes refuses a valid ruleset, and answers "not handled" for a
batch in which some fact matches no rule (the normal case here: a compliant record matches nothing). This module
is the one place that talks to the C extension, so those sharp edges are handled once, behind
:class:`DurableEngine`.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson

from svcpolicy.engines.durable.facts import dumps
from svcpolicy.engines.durable.owner_thread import OwnerThread
from svcpolicy.errors import SvcPolicyError

T = TypeVar("T")

_RULESET_NAMES = itertools.count()


class DurableUnavailable(SvcPolicyError):
    """durable-rules is not installed (or its C extension did not build)."""


class DurableRulesError(SvcPolicyError):
    """durable-rules rejected a ruleset or a call (its error code is in the message)."""


def engine_module() -> Any:
    """The durable-rules C extension, imported on first use."""
    try:
        return importlib.import_module("durable_rules_engine")  # the C extension of durable-rules (no stubs)
    except ImportError as exc:
        raise DurableUnavailable(
            "the durable engine needs durable-rules, which is not installed: pip install 'svcpolicy[durable]' "
            "(it compiles a C extension: a C compiler and Python headers are needed), or use --engine native"
        ) from exc


CREATE_ATTEMPTS = 8
"""durable-rules 2.0.28 sometimes refuses a valid ruleset (code 102) after many rulesets have come and gone in a
process, and accepts the same text on another try (measured; a fresh process always accepts it). A ruleset it
refuses every time is refused."""


def create_ruleset(module: Any, text: str) -> int:
    """A new ruleset's handle (call on the owner thread), retried as :data:`CREATE_ATTEMPTS` explains."""
    failure = ""
    for _ in range(CREATE_ATTEMPTS):
        try:
            handle: int = module.create_ruleset(f"svcpolicy{next(_RULESET_NAMES)}", text)
        except Exception as exc:  # durable_rules_engine.error
            failure = str(exc)
            continue
        return handle
    raise DurableRulesError(failure)


class DurableEngine:
    """One durable-rules ruleset, owned by one thread: every engine call runs there.

    durable-rules' C calls hold the GIL and its state is not safe to share between threads; to use more cores,
    run engines in several processes. ``run`` asserts a batch of facts, drains every action the batch
    triggered, retracts the batch, and returns ``(rule name, fact id)`` for each action.
    """

    def __init__(self, groups: Sequence[Mapping[str, Any]]) -> None:
        self._module = engine_module()
        self._owner = OwnerThread("svcpolicy-durable")
        self.owner = self._owner.ident
        self.closed = False
        self.handles: list[int] = []
        try:
            for group in groups:
                text = dumps(dict(group))
                self.handles.append(self.call(lambda: create_ruleset(self._module, text)))  # noqa: B023
        except BaseException:
            self.close()
            raise

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the owner thread and return its result (or raise its exception) to the caller."""
        return self._owner.call(fn)

    def run(self, facts_json: str) -> list[tuple[str, str]]:
        """Assert, drain, retract: the actions ``(rule, fact id)`` one batch of facts triggered."""
        return self.call(lambda: self._run(facts_json))

    def _run(self, facts_json: str) -> list[tuple[str, str]]:
        module = self._module
        fired: list[tuple[str, str]] = []
        for handle in self.handles:
            code, state = module.assert_facts(handle, facts_json)
            if code not in (0, 1):  # 1: some fact matched no rule, which is how a compliant record looks
                raise DurableRulesError(f"durable-rules refused a batch of facts (code {code})")
            result = module.start_action_for_state(handle, state)
            if result is not None:
                message: str | None = result[1]
                while message is not None:
                    for rule, frame in orjson.loads(message).items():
                        fired.append((rule, frame["m"]["id"]))
                    message = module.complete_and_start_action(handle, state)
            code, _ = module.retract_facts(handle, facts_json)
            if code not in (0, 1):
                raise DurableRulesError(f"durable-rules could not retract a batch of facts (code {code})")
        return fired

    def close(self) -> None:
        """Delete the rulesets (on the owner thread) and stop the thread."""
        if self.closed:
            return
        self.closed = True
        if sys.is_finalizing():  # an engine left open at exit: its daemon thread no longer runs, and would never answer
            return
        try:
            for handle in self.handles:
                self.call(lambda: self._module.delete_ruleset(handle))  # noqa: B023
        finally:
            self._owner.stop()

    def __enter__(self) -> DurableEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
