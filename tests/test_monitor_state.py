"""The monitor's state file: it belongs to one pack, one writer, and a bad file or a full disk is a clear error.

Also the bound on open cases: ``preceded-by``/``not-after`` cases close only by their closing events, so a
``case_horizon`` is what keeps them from growing with every customer the stream has seen.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

import svcpolicy
from conftest import REPO
from monitor_streams import ev, random_stream, tick
from svcpolicy.cli import main
from svcpolicy.monitor import Monitor, MonitorStateError
from svcpolicy.results.findings import Finding

BUNDLED = REPO / "rules" / "cn-bank-service"
SALE = "EVT-SALE-001-no-sale-after-decline"
AUTH = "EVT-AUTH-001-authorisation-before-operation"


def write_events(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def copied_pack(tmp_path: Path, *, version: str | None = None, rename: tuple[str, str] | None = None) -> Path:
    """The bundled pack, copied, with another version or a sequence rule renamed."""
    root = tmp_path / "pack"
    shutil.copytree(BUNDLED, root)
    if version is not None:
        manifest = root / "pack.yaml"
        text, replaced = re.subn(r"(?m)^version: .*$", f'version: "{version}"', manifest.read_text(encoding="utf-8"))
        assert replaced == 1
        manifest.write_text(text, encoding="utf-8")
    if rename is not None:
        sequences = root / "monitor" / "sequences.yaml"
        sequences.write_text(sequences.read_text(encoding="utf-8").replace(*rename), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return random_stream(7, complaints=30, customers=5)


def watch(*args: str) -> list[str]:
    return ["watch", "--engine", "python", *args]


# -- the pack a state belongs to ----------------------------------------------------------------------------


def test_a_state_is_refused_under_a_pack_that_renamed_a_sequence_rule(
    tmp_path: Path, events: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    stream = write_events(tmp_path / "events.jsonl", events)
    assert main(watch(str(stream), "--state", str(state))) == 1
    renamed = copied_pack(tmp_path, rename=(SALE, "EVT-SALE-009-renamed"))
    capsys.readouterr()
    before = state.read_bytes()
    assert main(watch(str(stream), "--state", str(state), "--pack", str(renamed))) == 2
    err = capsys.readouterr().err
    assert "belongs to another pack" in err and SALE in err and "EVT-SALE-009-renamed" in err
    assert "Traceback" not in err and state.read_bytes() == before


def test_a_state_is_refused_under_another_version_of_the_pack(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    state = tmp_path / "state.db"
    with Monitor(engine="python", state=state) as first:
        for event in events[:20]:
            first.feed(event)
        first.commit()
    other = svcpolicy.load_policy(copied_pack(tmp_path, version="2027.1"))
    written = re.escape(f"cn-bank-service {svcpolicy.load_policy().version}, this is cn-bank-service 2027.1")
    with pytest.raises(MonitorStateError, match=written):
        Monitor(other, engine="python", state=state)
    with Monitor(engine="python", state=state) as same:  # refused without harm: the right pack still resumes
        assert same.counts.events == 20


def test_a_snapshot_is_refused_by_a_monitor_of_another_pack(tmp_path: Path, events: list[dict[str, Any]]) -> None:
    with Monitor(engine="python") as first:
        for event in events[:20]:
            first.feed(event)
        snapshot = first.snapshot()
    other = svcpolicy.load_policy(copied_pack(tmp_path, rename=(AUTH, "EVT-AUTH-009-renamed")))
    with Monitor(other, engine="python") as second, pytest.raises(MonitorStateError, match="EVT-AUTH-009-renamed"):
        second.restore(snapshot)


# -- one writer ------------------------------------------------------------------------------------------------


def test_a_second_watch_on_the_same_state_file_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    code = "import sys; from svcpolicy.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", code, "watch", "--engine", "python", "--state", state]
    first = subprocess.Popen([*command, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert first.stdin is not None and first.stdout is not None
    operation = ev("o1", "operation.performed", "03-03 10:00", customer_id="C1", kind="t", affects_customer_rights=True)
    first.stdin.write(orjson.dumps(operation) + b"\n")
    first.stdin.flush()
    assert orjson.loads(first.stdout.readline())["seq"] == 1  # the first watch is running, its state open
    second = subprocess.run([*command, "-"], input=b"", capture_output=True, timeout=120, check=False)
    assert second.returncode == 2
    assert b"in use by process" in second.stderr and f"process {first.pid}".encode() in second.stderr
    first.stdin.close()
    assert first.wait(timeout=120) == 1
    with Monitor(engine="python", state=state) as after:  # only the first watch's event is in the state
        assert after.counts.events == 1


def test_a_monitor_that_closed_its_state_lets_the_next_one_in(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with Monitor(engine="python", state=state), pytest.raises(MonitorStateError, match="in use"):
        Monitor(engine="python", state=state)
    with Monitor(engine="python", state=state) as again:
        assert again.counts.events == 0


# -- files that are not a monitor state, and a full disk ------------------------------------------------------


def _foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, balance REAL)")
    db.execute("INSERT INTO accounts VALUES ('A', 1.5)")
    db.commit()
    db.close()


def _truncated(path: Path, events: list[dict[str, Any]]) -> None:
    with Monitor(engine="python", state=path) as monitor:
        for event in events:
            monitor.feed(event)
        monitor.commit()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("kind", ["text", "corrupt", "truncated", "foreign"])
def test_a_file_that_is_not_a_usable_monitor_state_is_a_clear_error_and_is_left_untouched(
    kind: str, tmp_path: Path, events: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    if kind == "text":
        state.write_text("not a database at all\n" * 100, encoding="utf-8")
    elif kind == "corrupt":
        _foreign(state)
        data = bytearray(state.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
        state.write_bytes(bytes(data))
    elif kind == "truncated":
        _truncated(state, events)
    else:
        _foreign(state)
    before = state.read_bytes()
    stream = write_events(tmp_path / "events.jsonl", events[:10])
    assert main(watch(str(stream), "--state", str(state))) == 2
    err = capsys.readouterr().err
    assert err.startswith("svcpolicy: ") and str(state) in err and "internal error" not in err
    assert state.read_bytes() == before


class _FullDisk:
    """A SQLite connection whose disk fills up on the ``fills_at``-th write of a commit."""

    def __init__(self, db: sqlite3.Connection, fills_at: int) -> None:
        self._db = db
        self._writes = 0
        self._fills_at = fills_at

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        self._writes += 1
        if self._writes >= self._fills_at:
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_full_disk_stops_watch_with_exit_2_and_a_rerun_resumes_from_the_last_commit(
    tmp_path: Path, events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disk is simulated: sqlite3.connect in the store gives a connection that raises SQLite's own
    'database or disk is full' after some commits."""
    stream = write_events(tmp_path / "events.jsonl", events)
    main(watch(str(stream)))
    expected = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    state = tmp_path / "state.db"
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: _FullDisk(connect(*a, **k), fills_at=6 * 20))
    assert main(watch(str(stream), "--state", str(state), "--commit-every", "3")) == 2
    first = capsys.readouterr()
    assert "database or disk is full" in first.err and "the last commit is kept" in first.err
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert main(watch(str(stream), "--state", str(state), "--commit-every", "3")) == 1
    rest = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    outputs = {item["seq"]: item for item in [orjson.loads(line) for line in first.out.splitlines()] + rest}
    assert [outputs[seq] for seq in sorted(outputs)] == expected
    assert 0 < len(first.out.splitlines()) < len(expected)


# -- the bound on open cases --------------------------------------------------------------------------------


def _authorisations(days: int) -> list[dict[str, Any]]:
    """One new customer's authorisation every day (cases that stay open: nothing revokes them)."""
    start = dt.datetime(2026, 1, 5, 9)
    return [
        ev(f"g{d}", "authorization.granted", (start + dt.timedelta(days=d)).strftime("%m-%d %H:%M"),
           customer_id=f"C{d}", scope="transfer")
        for d in range(days)
    ]  # fmt: skip


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_without_a_case_horizon_every_authorisation_stays_open_and_with_one_only_the_recent_ones(engine: Any) -> None:
    grants = _authorisations(100)
    with Monitor(engine=engine) as unbounded, Monitor(engine=engine, case_horizon=dt.timedelta(days=10)) as bounded:
        for event in grants:
            unbounded.feed(event)
            bounded.feed(event)
        assert unbounded.open_cases == 100
        assert bounded.open_cases == 10


@pytest.mark.parametrize("engine", ["python", "durable"])
def test_an_authorisation_older_than_the_case_horizon_no_longer_counts_unless_renewed(engine: Any) -> None:
    def operation(event_id: str, when: str, customer: str) -> dict[str, Any]:
        return ev(event_id, "operation.performed", when, customer_id=customer, kind="transfer",
                  affects_customer_rights=True)  # fmt: skip

    stream = [
        ev("g1", "authorization.granted", "03-01 10:00", customer_id="OLD", scope="transfer"),
        ev("g2", "authorization.granted", "03-01 10:00", customer_id="RENEWED", scope="transfer"),
        ev("g3", "authorization.granted", "03-08 10:00", customer_id="RENEWED", scope="transfer"),
        operation("o1", "03-09 10:00", "OLD"),
        operation("o2", "03-12 10:00", "OLD"),
        operation("o3", "03-12 10:00", "RENEWED"),
        tick("03-13 00:00"),
    ]
    with Monitor(engine=engine, case_horizon=dt.timedelta(days=10)) as monitor:
        found = [a.item for e in stream for a in monitor.feed(e)]
    breaches = [f.record.id for f in found if isinstance(f, Finding) and f.rule == AUTH]
    assert breaches == ["OLD/transfer"]


def test_the_case_horizon_survives_a_restart(tmp_path: Path) -> None:
    grants = _authorisations(30)
    state = tmp_path / "state.db"
    with Monitor(engine="python", state=state, case_horizon=dt.timedelta(days=10)) as first:
        for event in grants[:15]:
            first.feed(event)
        first.commit()
    with Monitor(engine="python", state=state, case_horizon=dt.timedelta(days=10)) as second:
        for event in grants[15:]:
            second.feed(event)
        assert second.open_cases == 10
