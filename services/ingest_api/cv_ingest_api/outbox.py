"""The ingest outbox: accepted events on disk until SQS has acknowledged them.

One SQLite file (stdlib ``sqlite3``) in WAL mode with ``synchronous=FULL``: a commit is
fsynced before it returns, so an event the API answered 202 for survives a SIGKILL or a
power cut. (``NORMAL`` would be faster in WAL mode but may lose the last commits on power
loss, which is exactly the promise a 202 makes.) Rows leave ``outbox`` only when SQS has
acknowledged them, or move to ``dead_letters`` with the reason SQS can never take them.

Every method is safe to call from any thread: one connection, one lock. The store only
stores and fetches; the sender decides what to send and when.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cv_analytics.aws.sqs import OutgoingMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    group_id TEXT NOT NULL,
    deduplication_id TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    group_id TEXT NOT NULL,
    deduplication_id TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: OutgoingMessage
    accepted_at: float


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    id: int
    body: str
    reason: str


class OutboxFull(Exception):
    """The outbox cannot take the whole request; nothing of it was stored."""


class Outbox:
    def __init__(self, *, path: Path, capacity: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.capacity = capacity
        self._lock = threading.Lock()
        # isolation_level=None: transactions are explicit, so each add is one atomic commit.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._pending = self._count("outbox")
        self._dead = self._count("dead_letters")
        # Events this process has taken in (for /metrics; the outbox file outlives it).
        self.accepted = 0

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def dead(self) -> int:
        return self._dead

    def add(self, messages: Sequence[OutgoingMessage]) -> None:
        """Store all of ``messages`` durably, or none (OutboxFull) when they do not fit."""
        now = time.time()
        rows = [(m.body, m.group_id, m.deduplication_id, now) for m in messages]
        with self._lock:
            if self._pending + len(rows) > self.capacity:
                raise OutboxFull(f"outbox holds {self._pending} of {self.capacity} events")
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO outbox (body, group_id, deduplication_id, accepted_at) VALUES (?, ?, ?, ?)",
                    rows,
                )
            self._pending += len(rows)
            self.accepted += len(rows)

    def oldest(self, *, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` pending rows, oldest first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT id, body, group_id, deduplication_id, accepted_at FROM outbox ORDER BY id LIMIT ?",
                (limit,),
            )
            return [
                OutboxRow(id=row[0], message=OutgoingMessage(*row[1:4]), accepted_at=row[4])
                for row in cursor.fetchall()
            ]

    def oldest_accepted_at(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT accepted_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return row[0] if row else None

    def mark_sent(self, ids: Iterable[int]) -> None:
        """SQS acknowledged these rows: they leave the outbox."""
        keys = [(row_id,) for row_id in ids]
        with self._lock:
            with self._transaction():
                removed = self._db.executemany("DELETE FROM outbox WHERE id = ?", keys).rowcount
            self._pending -= removed

    def move_to_dead_letters(self, rows: Sequence[OutboxRow], *, reason: str) -> None:
        """SQS can never take these rows: keep them, with why, out of the sender's way."""
        now = time.time()
        letters = [
            (r.id, r.message.body, r.message.group_id, r.message.deduplication_id, r.accepted_at, now, reason)
            for r in rows
        ]
        with self._lock:
            with self._transaction():
                removed = self._db.executemany(
                    "DELETE FROM outbox WHERE id = ?", [(r.id,) for r in rows]
                ).rowcount
                self._db.executemany(
                    "INSERT OR REPLACE INTO dead_letters (id, body, group_id, deduplication_id, "
                    "accepted_at, failed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    letters,
                )
            self._pending -= removed
            self._dead += len(letters)

    def dead_letters(self) -> list[DeadLetterRow]:
        with self._lock:
            cursor = self._db.execute("SELECT id, body, reason FROM dead_letters ORDER BY id")
            return [DeadLetterRow(*row) for row in cursor.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _count(self, table: str) -> int:
        with self._lock:
            count: int = self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return count


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind else "COMMIT")
