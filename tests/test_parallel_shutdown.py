"""A check spread over worker processes (``jobs > 1``) that is stopped partway stops its workers at once.

Reading findings may stop early: a reviewer wants only the first, the code reading them fails, an input cannot be
read, the evaluation is simply dropped, or someone presses Ctrl-C. Each way, no worker process may be left
running (nor the durable engine's thread), and nothing may hang. Each scenario runs in a process of its own,
guarded by a timeout (a hang fails the test instead of stopping the suite), and reports the worker processes it
still has, read from /proc.
"""

from __future__ import annotations

import inspect
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="worker processes are listed from Linux's /proc")

SCENARIO_TIMEOUT = 60
"""Seconds a scenario may take before it counts as hung; each takes a few."""
RECORDS = 10_000
"""Records in the generated file (about 9 MB): cut in two parts, one for each worker."""
CLI_RECORDS = 30_000
"""Records in the file the command checks (about 28 MB): judged for a few seconds, time enough to press Ctrl-C."""
INTERRUPTED = "svcpolicy: interrupted; the run did not finish\n"


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (exited ones not yet waited for included), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = stat.read().rpartition(b")")[2].split()[1]  # after the name: state, parent
        except OSError:  # it ended meanwhile
            continue
        if int(parent) == pid:
            children.append(int(entry))
    return sorted(children)


def running(pid: int) -> bool:
    """Whether the process still runs (a process that has exited but was not waited for does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def write_records(path: Path, count: int) -> Path:
    """The example records repeated under fresh ids: many findings, in a file large enough to be cut in parts."""
    examples = [orjson.loads(line) for line in (REPO / "examples" / "records.jsonl").read_bytes().splitlines()]
    with path.open("wb") as out:
        for n in range(count):
            out.write(orjson.dumps({**examples[n % len(examples)], "id": f"SHUTDOWN-{n}"}) + b"\n")
    return path


@pytest.fixture(scope="module")
def records_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_records(tmp_path_factory.mktemp("shutdown") / "records.jsonl", RECORDS)


PRELUDE = f"""
import gc, os, sys
import svcpolicy

{inspect.getsource(children_of)}
policy = svcpolicy.load_policy()
records = sys.argv[1]
"""


def scenario(code: str, records: Path) -> list[str]:
    """Run ``code`` after :data:`PRELUDE` in a fresh Python; the lines it printed."""
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), str(records)],
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_closing_an_evaluation_after_its_first_finding_leaves_no_worker_process_running(records_file: Path) -> None:
    printed = scenario(
        """
        run = policy.iter_findings(records, jobs=2)
        first = next(run)
        print(len(children_of(os.getpid())))
        run.close()
        print(children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["2", "[]"]


def test_stopping_to_read_findings_early_inside_with_leaves_no_worker_process_running(records_file: Path) -> None:
    printed = scenario(
        """
        with policy.iter_findings(records, jobs=2) as run:
            for finding in run:
                break
        print(children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["[]"]


def test_an_error_in_the_code_reading_the_findings_stops_the_workers_before_it_reaches_the_caller(
    records_file: Path,
) -> None:
    printed = scenario(
        """
        try:
            with policy.iter_findings(records, jobs=2) as run:
                for finding in run:
                    raise ValueError("the reviewer's code failed")
        except ValueError:  # the traceback, which holds the evaluation, is still alive here
            print(children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["[]"]


def test_a_file_that_cannot_be_read_stops_the_workers_before_the_input_error_reaches_the_caller(
    records_file: Path,
) -> None:
    printed = scenario(
        """
        try:
            for finding in policy.iter_findings([records + ".missing", records], jobs=2):
                pass
        except svcpolicy.InputError as error:  # kept, with its traceback, as a log or a test report keeps it
            kept = error
        print(type(kept).__name__, children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["InputError []"]


def test_closing_an_evaluation_twice_is_harmless_and_keeps_what_it_had_counted(records_file: Path) -> None:
    printed = scenario(
        """
        run = policy.iter_findings(records, jobs=2)
        next(run)
        run.close()
        counted = run.counts.records
        run.close()
        print(counted > 0, run.counts.records == counted, next(run, None), children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["True True None []"]


def test_a_dropped_evaluation_stops_its_workers_without_waiting_for_the_garbage_collector(records_file: Path) -> None:
    printed = scenario(
        """
        gc.disable()  # what the cycle collector would do later is not counted on
        for finding in policy.iter_findings(records, jobs=2):
            break
        print(children_of(os.getpid()))
        gc.enable()
        gc.collect()
        print(children_of(os.getpid()))
        """,
        records_file,
    )
    assert printed == ["[]", "[]"]


def test_ctrl_c_stops_a_parallel_check_with_exit_130_one_message_and_no_worker_left(tmp_path: Path) -> None:
    records_file = write_records(tmp_path / "records.jsonl", CLI_RECORDS)
    svcpolicy = Path(sys.executable).with_name("svcpolicy")
    check = subprocess.Popen(
        [svcpolicy, "check", records_file, "--jobs", "2", "--format", "jsonl", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )
    try:
        assert check.stdout is not None
        readable, _, _ = select.select([check.stdout], [], [], SCENARIO_TIMEOUT)
        assert readable and check.stdout.readline(), "no finding written"
        workers = children_of(check.pid)
        assert len(workers) == 2
        os.killpg(check.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group, workers included
        _, stderr = check.communicate(timeout=SCENARIO_TIMEOUT)
    finally:
        if check.poll() is None:
            os.killpg(check.pid, signal.SIGKILL)
            check.wait()
    assert check.returncode == 130
    assert stderr.decode() == INTERRUPTED
    assert [pid for pid in workers if running(pid)] == []


def test_closing_an_evaluation_on_the_durable_engine_partway_stops_its_engine_thread() -> None:
    printed = scenario(
        """
        import threading

        def engine_threads():
            return [thread.name for thread in threading.enumerate() if thread.name == "svcpolicy-durable"]

        run = policy.iter_findings(records, engine="durable")
        next(run)
        print(engine_threads())
        run.close()
        print(engine_threads())
        """,
        REPO / "examples" / "records.jsonl",
    )
    assert printed == ["['svcpolicy-durable']", "[]"]


def test_a_program_that_leaves_a_durable_engine_evaluation_unfinished_still_exits() -> None:
    printed = scenario(
        """
        run = policy.iter_findings(records, engine="durable")  # held until the interpreter ends
        next(run)
        print("leaving")
        """,
        REPO / "examples" / "records.jsonl",
    )
    assert printed == ["leaving"]
