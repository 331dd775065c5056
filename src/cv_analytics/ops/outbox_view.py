"""The ingest outbox, read without touching it: pending rows and dead letters.

The ingest service owns the SQLite file (``cv_ingest_api.outbox``); this opens it read-only
(``mode=ro``), so an operator view can never change what the sender will send. The schema is
the ingest's: tables ``outbox`` and ``dead_letters``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path


class OutboxUnreadable(Exception):
    """The outbox file is missing or is not an ingest outbox."""


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    path: str
    pending: int
    oldest_accepted_at: float | None
    dead: int

    def oldest_age_seconds(self, *, now: float | None = None) -> float | None:
        if self.oldest_accepted_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.oldest_accepted_at)


@dataclass(frozen=True, slots=True)
class OutboxDeadLetter:
    id: int
    body: str
    group_id: str
    accepted_at: float
    failed_at: float
    reason: str


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise OutboxUnreadable(f"no ingest outbox at {path}")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise OutboxUnreadable(f"cannot open the ingest outbox {path}: {exc}") from exc
    with closing(connection):
        try:
            yield connection
        except sqlite3.Error as exc:
            raise OutboxUnreadable(f"cannot read the ingest outbox {path}: {exc}") from exc


def summarise_outbox(path: Path) -> OutboxSummary:
    """How many events wait for SQS, since when, and how many SQS refused for good."""
    with _read_only(path) as db:
        pending, oldest = db.execute("SELECT COUNT(*), MIN(accepted_at) FROM outbox").fetchone()
        (dead,) = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
    return OutboxSummary(path=str(path), pending=pending, oldest_accepted_at=oldest, dead=dead)


def outbox_dead_letters(path: Path) -> list[OutboxDeadLetter]:
    """Every event SQS can never take (too big, characters it refuses), oldest first."""
    with _read_only(path) as db:
        rows = db.execute(
            "SELECT id, body, group_id, accepted_at, failed_at, reason FROM dead_letters ORDER BY id"
        ).fetchall()
    return [OutboxDeadLetter(*row) for row in rows]
