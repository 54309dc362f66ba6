"""Aggregate groups beyond a memory budget, kept on disk and merged when the input ends.

An aggregate run holds at most its budget of groups in memory; past it, it writes every group it holds here as a
partial state and starts afresh. A group seen again later gets a new partial state, so one group may have several,
written in stream order. ``merged`` folds each group's partial states in that order (with the run's own fold, as
``--jobs`` merges workers' groups) and gives the groups back in order of first appearance: the findings are those of
one pass in memory.

The store is a private temporary SQLite database (the stdlib's; deleted when closed), so both the grouping of
partial states and the final ordering are SQLite's external sorts: memory stays flat however many groups there are.
Partial states are grouped by the hash of their key (equal keys, ``1`` and ``1.0`` included, hash alike) and then
compared, so keys need no canonical byte form.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Key = tuple[Any, ...]
State = list[Any]


class SpilledGroups:
    """Partial group states of one aggregate run on disk; see the module docstring."""

    def __init__(self) -> None:
        import sqlite3  # only a run that spills needs it: a short check does not pay for the import

        self._db = sqlite3.connect("")  # "": a private temporary file, deleted on close
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE parts (hash INTEGER NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL);
            CREATE TABLE groups (seq INTEGER PRIMARY KEY, hash INTEGER NOT NULL, state BLOB NOT NULL);
            """
        )
        self._next_seq = 0
        self._unmerged = False
        self.spills = 0

    def spill(self, groups: Iterable[tuple[Key, State]]) -> None:
        """Write partial states, in order of first appearance since the last spill."""
        start = self._next_seq
        rows = [
            (hash(key), start + i, pickle.dumps((key, state), pickle.HIGHEST_PROTOCOL))
            for i, (key, state) in enumerate(groups)
        ]
        self._db.executemany("INSERT INTO parts VALUES (?, ?, ?)", rows)
        self._next_seq += len(rows)
        self._unmerged = True
        self.spills += 1

    def merged(self, fold: Callable[[State, State], None]) -> Iterator[tuple[Key, State]]:
        """Every group, its partial states folded in stream order, in order of first appearance."""
        if self._unmerged:
            self._merge(fold)
        for (blob,) in self._db.execute("SELECT state FROM groups ORDER BY seq"):
            key, state = pickle.loads(blob)  # noqa: S301 - written by this process just now
            yield key, state

    def _merge(self, fold: Callable[[State, State], None]) -> None:
        """Fold the partial states of each key (earlier ones first) into the ``groups`` table, keyed by the first
        appearance; groups merged by an earlier call take part again, so spilling may go on after a merge."""
        rows = self._db.execute(
            "SELECT hash, seq, state FROM (SELECT hash, seq, state FROM parts UNION ALL "
            "SELECT hash, seq, state FROM groups) ORDER BY hash, seq"
        )
        merged: list[tuple[int, int, bytes]] = []
        self._db.execute("CREATE TEMP TABLE folded (seq INTEGER PRIMARY KEY, hash INTEGER NOT NULL, state BLOB)")
        bucket_hash: int | None = None
        bucket: list[tuple[int, Key, State]] = []  # (first seq, key, folded state) of one hash value
        for hashed, seq, blob in rows:
            if hashed != bucket_hash:
                merged.extend(_rows(bucket_hash, bucket))
                bucket_hash, bucket = hashed, []
                if len(merged) >= _BATCH:
                    self._db.executemany("INSERT INTO folded VALUES (?, ?, ?)", merged)
                    merged.clear()
            key, state = pickle.loads(blob)  # noqa: S301 - written by this process
            for _, seen, folded in bucket:
                if seen == key:
                    fold(folded, state)
                    break
            else:
                bucket.append((seq, key, state))
        merged.extend(_rows(bucket_hash, bucket))
        self._db.executemany("INSERT INTO folded VALUES (?, ?, ?)", merged)
        self._db.executescript(
            "DELETE FROM parts; DELETE FROM groups; INSERT INTO groups SELECT * FROM folded; DROP TABLE folded;"
        )
        self._unmerged = False

    def close(self) -> None:
        self._db.close()


_BATCH = 10_000


def _rows(hashed: int | None, bucket: list[tuple[int, Key, State]]) -> Iterator[tuple[int, int, bytes]]:
    for seq, key, state in bucket:
        yield seq, hashed or 0, pickle.dumps((key, state), pickle.HIGHEST_PROTOCOL)
