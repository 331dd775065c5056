"""The runner's last schedule firing, kept in a small JSON file beside its heartbeat.

EventBridge leaves a trace of each invocation; the runner, without one, would forget its
firings on restart, and `status` and the console could only show when the rule was due.
So each firing is written down: when it fired, the week the reporter reported on, and how
the invocation ended (the reporter's own status, such as ``sent`` or ``already-sent``, or
``failed`` when the invocation raised). The file sits beside ``RUNNER_HEARTBEAT_FILE``
(``<heartbeat>.last-firing.json``), so wherever the heartbeat goes, the record follows.

Written atomically (a temporary file in the same directory, then ``os.replace``), so a
reader never sees half a record; a missing or unreadable file reads as unknown.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAILED = "failed"
FIRING_SUFFIX = ".last-firing.json"


@dataclass(frozen=True, slots=True)
class ScheduleFiring:
    fired_at: datetime
    week: str | None
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {
            "firedAt": self.fired_at.astimezone(UTC).isoformat(),
            "week": self.week,
            "outcome": self.outcome,
        }

    @classmethod
    def from_json(cls, document: Any) -> ScheduleFiring:
        """The record a document holds; ValueError when it is not one."""
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        fired_at = datetime.fromisoformat(str(document["firedAt"]))
        week, outcome = document.get("week"), document["outcome"]
        if not isinstance(outcome, str) or not (week is None or isinstance(week, str)):
            raise ValueError("week and outcome must be strings")
        return cls(
            fired_at=fired_at if fired_at.tzinfo else fired_at.replace(tzinfo=UTC), week=week, outcome=outcome
        )


def firing_file_for(heartbeat_file: Path) -> Path:
    """Where the last firing is kept, given the heartbeat's file."""
    return heartbeat_file.with_name(heartbeat_file.name + FIRING_SUFFIX)


def firing_of(result: Any, *, fired_at: datetime) -> ScheduleFiring:
    """The record of an invocation that returned ``result`` (the reporter's outcome document)."""
    document = result if isinstance(result, dict) else {}
    week, status = document.get("week"), document.get("status")
    return ScheduleFiring(
        fired_at=fired_at,
        week=week if isinstance(week, str) else None,
        outcome=status if isinstance(status, str) else "unknown",
    )


def record_firing(path: Path, firing: ScheduleFiring) -> None:
    """Replace the record at ``path``. Never raises: a lost record only hides one firing."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(firing.to_json(), handle)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("cannot record the schedule firing in %s: %s", path, exc)


def read_firing(path: Path | None) -> ScheduleFiring | None:
    """The last firing recorded at ``path``; None when there is none or it cannot be read."""
    if path is None:
        return None
    try:
        return ScheduleFiring.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
