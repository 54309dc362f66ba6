"""A monitor that commits in batches and crashes between commits gives, once restarted, what one run gives.

The state is committed every ``batch`` input lines (as ``svcpolicy watch`` does reading a file); the process
"crashes" every ``crash_every`` lines, losing everything since its last commit, and a new monitor on the same
state file resumes after the last committed line and reads the rest again. Keeping the first output of each
``seq`` must give exactly the uninterrupted run's outputs: nothing lost, nothing added.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

import svcpolicy
from monitor_streams import random_stream
from svcpolicy.monitor import Monitor
from svcpolicy.monitor.cases import MonitorEngine

POLICY = svcpolicy.load_policy()
ALLOWANCE = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return [orjson.dumps(event) for event in random_stream(5, complaints=80, customers=8)]


def written(alerts: list[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(orjson.dumps(alert.to_dict())) for alert in alerts]


def one_run(lines: list[bytes], engine: MonitorEngine) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    with Monitor(POLICY, allowance=ALLOWANCE, engine=engine) as monitor:
        for line in lines:
            outputs += written(monitor.feed(line))
        outputs += written(monitor.flush())
    return outputs


def crashing_runs(
    lines: list[bytes], state: Path, batch: int, crash_every: int, engine: MonitorEngine
) -> tuple[list[dict[str, Any]], int]:
    """Every output printed across the runs, and how many runs it took (each commits before it crashes)."""
    assert batch < crash_every
    outputs: list[dict[str, Any]] = []
    runs = 0
    while True:
        runs += 1
        with Monitor(POLICY, allowance=ALLOWANCE, state=state, engine=engine) as monitor:
            start = monitor.input_position
            for number in range(start + 1, len(lines) + 1):
                outputs += written(monitor.feed(lines[number - 1]))
                if number % batch == 0:
                    monitor.input_position = number
                    monitor.commit()
                if number - start == crash_every:
                    break  # the process dies here: what it did since its last commit is gone
            else:
                outputs += written(monitor.flush())
                monitor.input_position = len(lines)
                monitor.commit()
                return outputs, runs


def first_of_each_seq(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: dict[int, dict[str, Any]] = {}
    for item in outputs:
        kept.setdefault(item["seq"], item)
    return [kept[seq] for seq in sorted(kept)]


@pytest.mark.parametrize(
    ("batch", "crash_every", "engine"),
    [(1, 37, "python"), (25, 37, "python"), (25, 37, "durable"), (40, 90, "python"), (100, 130, "python")],
)
def test_restarts_every_n_lines_with_commits_in_batches_give_the_findings_of_one_run(
    tmp_path: Path, lines: list[bytes], batch: int, crash_every: int, engine: MonitorEngine
) -> None:
    expected = one_run(lines, engine)
    outputs, runs = crashing_runs(lines, tmp_path / "state.db", batch, crash_every, engine)
    assert runs > 3, "the stream is long enough to crash several times"
    assert first_of_each_seq(outputs) == expected


def test_a_restart_resumes_from_the_last_commit_not_from_the_crash(tmp_path: Path, lines: list[bytes]) -> None:
    state = tmp_path / "state.db"
    with Monitor(POLICY, allowance=ALLOWANCE, state=state) as monitor:
        for number, line in enumerate(lines[:60], start=1):
            monitor.feed(line)
            if number == 50:
                monitor.input_position = number
                monitor.commit()
    with Monitor(POLICY, allowance=ALLOWANCE, state=state) as monitor:
        assert monitor.input_position == 50
        assert monitor.counts.events == 50
