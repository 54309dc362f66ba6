"""Whether durable-rules loads a ruleset, asked of a child process that is killed if it does not answer in time.

durable-rules 2.0.28 can spin forever in ``create_ruleset`` (measured: a 459 KB ruleset of one generated rule,
672 rules, after the same rules in smaller rulesets were refused with error 113), and while it spins it holds
the GIL, so no thread of the process, no watchdog thread and no signal handler runs again. A watchdog therefore
has to live outside the process: rulesets are first created in a child process, one at a time, and one the child
does not answer for within :data:`PROBE_SECONDS` is refused (the child is killed; the next probe starts a fresh
one). Only rulesets the child loaded are then created in this process.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from typing import IO

import orjson

PROBE_SECONDS = 20.0
"""How long one ruleset may take to load in the child (measured: under 0.2 s for every ruleset the compiler
packs, 39 KB and 46 rules at most; a child busy elsewhere on a loaded machine gets ample margin)."""

_CHILD = """
import importlib, sys, orjson
module = importlib.import_module("durable_rules_engine")
for number, line in enumerate(sys.stdin.buffer):
    text = orjson.loads(line)
    failure = None
    for _ in range(ATTEMPTS):
        try:
            handle = module.create_ruleset(f"probe{number}", text)
        except Exception as exc:
            failure = str(exc)
            continue
        module.delete_ruleset(handle)
        failure = None
        break
    sys.stdout.buffer.write(orjson.dumps(failure) + b"\\n")
    sys.stdout.buffer.flush()
"""


class RulesetProbe:
    """A child process that creates (and deletes) rulesets on request, restarted after a timeout."""

    def __init__(self, attempts: int, seconds: float = PROBE_SECONDS) -> None:
        self.attempts = attempts
        self.seconds = seconds
        self._child: subprocess.Popen[bytes] | None = None
        self._parent = os.getpid()  # a forked process starts its own child rather than share this one's pipes
        self._lock = threading.Lock()

    def refusal(self, text: str) -> str | None:
        """Why durable-rules does not load the ruleset ``text`` (None: it does), within :attr:`seconds`."""
        with self._lock:
            requests, answers = self._running()
            try:
                requests.write(orjson.dumps(text) + b"\n")
                requests.flush()
                ready, _, _ = select.select([answers], [], [], self.seconds)
                line = answers.readline() if ready else b""
            except OSError as exc:
                self._stop()
                return f"the durable-rules probe failed ({exc})"
            if not line:
                self._stop()
                if not ready:
                    return f"durable-rules did not load it within {self.seconds:g} s"
                return "durable-rules crashed loading it"
            failure: str | None = orjson.loads(line)
            return failure

    def _running(self) -> tuple[IO[bytes], IO[bytes]]:
        """The child's request and answer pipes (started if need be)."""
        if self._parent != os.getpid():
            self._child, self._parent = None, os.getpid()
        if self._child is None or self._child.poll() is not None:
            code = _CHILD.replace("ATTEMPTS", str(self.attempts))
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed program
                [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        child = self._child
        if child.stdin is None or child.stdout is None:
            raise RuntimeError("the durable-rules probe was started without pipes")
        return child.stdin, child.stdout

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()

    def close(self) -> None:
        with self._lock:
            self._stop()
