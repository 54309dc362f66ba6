"""One thread that owns a non-thread-safe resource (a durable-rules engine): every call runs there.

durable-rules' C calls hold the GIL and its state is not safe to share between threads; both the record
engine's adapter and the monitor's keep their engine behind one of these.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class OwnerThread:
    """Runs callables on one dedicated daemon thread and hands back their results or exceptions."""

    def __init__(self, name: str) -> None:
        self._requests: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self.ident = self._thread.ident

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            fn, future = request
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the owner thread (directly, when already on it) and return its result."""
        if threading.get_ident() == self.ident:
            return fn()
        future: Future[T] = Future()
        self._requests.put((fn, future))
        return future.result()

    def stop(self) -> None:
        """Let the thread finish its queue and end."""
        self._requests.put(None)
        self._thread.join()
