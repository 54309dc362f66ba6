"""The monitor's state on disk: SQLite in WAL mode, written one transaction per commit, one writer at a time.

Only what changed since the last commit is written (cases, remembered ids and buffered events are rows of their
own), so a commit costs what the last batch of events touched, not the size of the state; a killed process
loses at most the events since its last commit, which a restarted monitor then reads again.

The file is the monitor's alone: a sidecar ``PATH.lock`` holds an exclusive ``flock`` while a store is open (the
kernel releases it when the process dies, even by ``kill -9``), so a second monitor on the same file is refused,
never interleaved. A file that is not a monitor state (corrupt, truncated, another application's database) or
a disk that fills up is a :class:`MonitorStateError`: nothing is written to such a file, and a failed commit
leaves the last good one in place.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from svcpolicy.errors import SvcPolicyError

APPLICATION_ID = 0x53564D53  # "SVMS": marks a SQLite file as a svcpolicy monitor state
TABLES = {"meta", "cases", "seen", "pending"}


class MonitorStateError(SvcPolicyError):
    """The state file cannot be used (in use, not a monitor state, unreadable, disk full); says which and why."""


class StateStore:
    """The monitor's state in SQLite (WAL): safe against a killed process; one writer, held by a file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _lock(path)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            _unlock(self._lock)
            raise MonitorStateError(f"cannot open the monitor state {path}: {exc}") from exc
        try:
            self._check_or_create()
        except BaseException:
            self.close()
            raise

    def _check_or_create(self) -> None:
        with self._errors("read"):
            application_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and (application_id != APPLICATION_ID or tables != TABLES):
                raise MonitorStateError(
                    f"{self.path} is not a svcpolicy monitor state (it holds the tables {', '.join(sorted(tables))}); "
                    "it was left untouched: give --state a new file"
                )
            if tables:
                problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise MonitorStateError(f"the monitor state {self.path} is damaged: {'; '.join(problems[:3])}")
        with self._errors("create"):
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if not tables:
                self.db.executescript(
                    f"""
                    BEGIN;
                    PRAGMA application_id = {APPLICATION_ID};
                    CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
                    CREATE TABLE cases (id TEXT PRIMARY KEY, body TEXT NOT NULL);
                    CREATE TABLE seen (id TEXT PRIMARY KEY, at REAL NOT NULL);
                    CREATE TABLE pending (id TEXT PRIMARY KEY, at REAL NOT NULL, body TEXT NOT NULL);
                    COMMIT;
                    """
                )

    def _errors(self, doing: str) -> _StateErrors:
        return _StateErrors(self.path, doing)

    def load(self) -> dict[str, Any] | None:
        """The committed snapshot, or None for a new file."""
        with self._errors("read"):
            row = self.db.execute("SELECT v FROM meta WHERE k = 'state'").fetchone()
            if row is None:
                return None
            snapshot: dict[str, Any] = json.loads(row[0])
            snapshot["cases"] = _DecodedOnRead(dict(self.db.execute("SELECT id, body FROM cases")))
            snapshot["seen"] = dict(self.db.execute("SELECT id, at FROM seen"))
            snapshot["pending"] = {
                eid: [at, body] for eid, at, body in self.db.execute("SELECT id, at, body FROM pending")
            }
            return snapshot

    def clear(self) -> None:
        """Forget the stored rows: a restore writes the whole state again on the next commit."""
        with self._errors("clear"):
            self._transaction(lambda db: [db.execute(f"DELETE FROM {t}") for t in sorted(TABLES)])  # noqa: S608

    def save(
        self,
        *,
        meta: dict[str, Any],
        cases: dict[str, dict[str, Any] | None],
        seen_new: dict[str, float],
        seen_gone: set[str],
        pending_new: dict[str, tuple[float, str]],
        pending_gone: set[str],
    ) -> None:
        """Write one commit: ``meta`` whole, and the rows added (``None`` for a case: removed) or gone."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('state', ?)", (json.dumps(meta),))
            db.executemany(
                "INSERT OR REPLACE INTO cases VALUES (?, ?)",
                [(cid, orjson.dumps(body).decode()) for cid, body in cases.items() if body is not None],
            )
            db.executemany("DELETE FROM cases WHERE id = ?", [(cid,) for cid, body in cases.items() if body is None])
            db.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?)", list(seen_new.items()))
            db.executemany("DELETE FROM seen WHERE id = ?", [(k,) for k in seen_gone])
            db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", [(k, at, b) for k, (at, b) in pending_new.items()]
            )
            db.executemany("DELETE FROM pending WHERE id = ?", [(k,) for k in pending_gone])

        with self._errors("commit to"):
            self._transaction(write)

    def _transaction(self, write: Callable[[sqlite3.Connection], object]) -> None:
        db = self.db
        db.execute("BEGIN")
        try:
            write(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        try:
            if hasattr(self, "db"):
                self.db.close()
        finally:
            _unlock(self._lock)


class _DecodedOnRead(Mapping[str, Any]):
    """Stored JSON texts by id, each decoded when read: restoring a few hundred thousand cases holds their compact
    texts and one decoded body at a time, not every body decoded at once."""

    __slots__ = ("_texts",)

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts

    def __getitem__(self, key: str) -> Any:
        return orjson.loads(self._texts[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


class _StateErrors:
    """Turns SQLite's errors into a :class:`MonitorStateError` naming the file and what was being done."""

    def __init__(self, path: Path, doing: str) -> None:
        self.path = path
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, sqlite3.Error):
            hint = ""
            if "full" in str(exc):
                hint = " (the last commit is kept; free some space and run again to resume from it)"
            elif isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                hint = " (the file is corrupt, truncated or not a SQLite database; it was left untouched)"
            raise MonitorStateError(f"cannot {self.doing} the monitor state {self.path}: {exc}{hint}") from exc
        if isinstance(exc, ValueError | KeyError | TypeError | RecursionError):  # RecursionError: JSON nested deep
            raise MonitorStateError(f"cannot {self.doing} the monitor state {self.path}: bad content ({exc})") from exc


def _lock(path: Path) -> IO[str]:
    """Hold ``PATH.lock`` exclusively, or refuse: another process is writing this state."""
    lock_path = Path(f"{path}.lock")
    try:
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
    except OSError as exc:
        raise MonitorStateError(f"cannot lock the monitor state {path}: {exc}") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise MonitorStateError(
            f"the monitor state {path} is in use by {holder}: one monitor per state file (stop it, or give "
            "another --state)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}\n")
    handle.flush()
    return handle


def _unlock(handle: IO[str]) -> None:
    if not handle.closed:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
