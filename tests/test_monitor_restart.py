"""``svcpolicy watch`` killed with SIGKILL and restarted on the rest of the stream reports what one run reports.

Real subprocesses, a real ``kill -9``. Outputs are written before the state is committed, so a line may be
printed again after a restart, always with the same ``seq``: keeping the first line of each ``seq`` gives exactly
the uninterrupted run's output.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

import svcpolicy
from monitor_streams import random_stream
from svcpolicy.monitor import Monitor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
ALLOWANCE = dt.timedelta(hours=1)


def watch(*args: str) -> subprocess.Popen[bytes]:
    """``svcpolicy watch``, its customer ids shown: its output is compared with the library's, which keeps them."""
    code = "import sys; from svcpolicy.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "watch", "--allowance", "1h", "--show-customer-ids", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def reader(stream: IO[bytes]) -> queue.Queue[bytes | None]:
    lines: queue.Queue[bytes | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def lines_of(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) + b"\n" for e in events]


def first_of_each_seq(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: dict[int, dict[str, Any]] = {}
    for item in outputs:
        kept.setdefault(item["seq"], item)
    return [kept[seq] for seq in sorted(kept)]


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    return random_stream(21, complaints=120, customers=10)


@pytest.fixture(scope="module")
def expected(stream: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The uninterrupted run's outputs, and for each input line how many outputs were out after it."""
    outputs: list[dict[str, Any]] = []
    after_line: list[int] = []
    with Monitor(svcpolicy.load_policy(), allowance=ALLOWANCE) as monitor:
        for event in stream:
            outputs += [orjson.loads(orjson.dumps(a.to_dict())) for a in monitor.feed(event)]
            after_line.append(len(outputs))
        outputs += [orjson.loads(orjson.dumps(a.to_dict())) for a in monitor.flush()]
    return outputs, after_line


def test_kill_9_mid_stream_then_resending_the_rest_on_stdin_loses_and_adds_nothing(
    tmp_path: Path, stream: list[dict[str, Any]], expected: tuple[list[dict[str, Any]], list[int]]
) -> None:
    outputs, after_line = expected
    state = str(tmp_path / "state.db")
    lines = lines_of(stream)
    half = len(lines) // 2
    wanted = after_line[half - 1]
    assert 0 < wanted < len(outputs)
    # the last input line whose outputs we wait for: everything before it is committed once we see them
    last = next(
        i for i in range(half - 1, -1, -1) if after_line[i] == wanted and (i == 0 or after_line[i - 1] < wanted)
    )

    first = watch("-", "--state", state)
    assert first.stdin is not None and first.stdout is not None
    out = reader(first.stdout)
    first.stdin.write(b"".join(lines[:half]))
    first.stdin.flush()
    seen: list[dict[str, Any]] = []
    while len(seen) < wanted:
        line = out.get(timeout=60)
        assert line is not None, first.stderr.read() if first.stderr else ""
        seen.append(orjson.loads(line))
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    while (line := out.get(timeout=30)) is not None:  # anything it printed before dying
        seen.append(orjson.loads(line))

    second = watch("-", "--state", state)
    rest, err = second.communicate(b"".join(lines[last:]), timeout=120)
    assert second.returncode in (0, 1), err.decode()
    seen += [orjson.loads(line) for line in rest.splitlines()]
    assert first_of_each_seq(seen) == outputs
    assert b"duplicates" in err


def test_kill_9_while_reading_a_file_then_rerunning_the_same_command_resumes(
    tmp_path: Path, stream: list[dict[str, Any]], expected: tuple[list[dict[str, Any]], list[int]]
) -> None:
    outputs, after_line = expected
    lines = lines_of(stream)
    half = len(lines) // 2
    # The first run reads the file through a named pipe that holds only its first half and stays open, so the
    # process is certainly in the middle of the file when it is killed; the rerun finds the whole file there.
    events = tmp_path / "events.jsonl"
    os.mkfifo(events)
    state = str(tmp_path / "state.db")
    first = watch(str(events), "--state", state, "--commit-every", "5")
    assert first.stdout is not None
    out = reader(first.stdout)
    writer = open(events, "wb")  # noqa: SIM115 - held open past the kill on purpose
    writer.write(b"".join(lines[:half]))
    writer.flush()
    seen: list[dict[str, Any]] = []
    while len(seen) < after_line[half // 2]:
        line = out.get(timeout=60)
        assert line is not None, first.stderr.read() if first.stderr else ""
        seen.append(orjson.loads(line))
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    writer.close()
    while (line := out.get(timeout=30)) is not None:
        seen.append(orjson.loads(line))
    assert 0 < len(first_of_each_seq(seen)) < len(outputs), "killed mid-file, with outputs still to come"

    events.unlink()
    events.write_bytes(b"".join(lines))
    second = watch(str(events), "--state", state, "--commit-every", "5")
    rest, err = second.communicate(timeout=120)
    assert second.returncode in (0, 1), err.decode()
    seen += [orjson.loads(line) for line in rest.splitlines()]
    assert first_of_each_seq(seen) == outputs
