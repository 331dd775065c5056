"""The runner's last schedule firing (cv_analytics.runner.firing): written atomically beside
the heartbeat, read back, and read as unknown when missing or unreadable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cv_analytics.runner import firing as firing_module
from cv_analytics.runner.firing import (
    ScheduleFiring,
    firing_file_for,
    firing_of,
    read_firing,
    record_firing,
)

FIRED = ScheduleFiring(fired_at=datetime(2025, 11, 24, 7, tzinfo=UTC), week="2025-W47", outcome="sent")


def test_firing_file_for_sits_beside_heartbeat(tmp_path: Path):
    """The record is named after the heartbeat file, in its directory."""
    assert firing_file_for(tmp_path / "runner-heartbeat") == tmp_path / "runner-heartbeat.last-firing.json"


def test_record_firing_reads_back(tmp_path: Path):
    """What is recorded is what is read: time (UTC), week and outcome."""
    path = tmp_path / "firing.json"

    record_firing(path, FIRED)

    assert read_firing(path) == FIRED


def test_record_firing_replaces_previous(tmp_path: Path):
    """A second firing replaces the first, and no temporary file is left behind."""
    path = tmp_path / "firing.json"
    record_firing(path, FIRED)
    later = ScheduleFiring(fired_at=datetime(2025, 12, 1, 7, tzinfo=UTC), week="2025-W48", outcome="failed")

    record_firing(path, later)

    assert read_firing(path) == later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["firing.json"]


def test_record_firing_failed_write_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A write that fails before the rename leaves the old record whole (atomic replace)."""
    path = tmp_path / "firing.json"
    record_firing(path, FIRED)

    def broken_dump(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(firing_module.json, "dump", broken_dump)
    record_firing(path, ScheduleFiring(fired_at=FIRED.fired_at, week="2025-W48", outcome="sent"))

    assert read_firing(path) == FIRED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["firing.json"]


def test_record_firing_unwritable_directory_does_not_raise(tmp_path: Path):
    """A directory that does not exist loses the record but never stops the schedule."""
    path = tmp_path / "missing" / "firing.json"

    record_firing(path, FIRED)

    assert read_firing(path) is None


def test_read_firing_missing_file_is_unknown(tmp_path: Path):
    """No file yet (the schedule has not fired): unknown."""
    assert read_firing(tmp_path / "firing.json") is None


def test_read_firing_no_path_is_unknown():
    """No heartbeat configured, so no record: unknown."""
    assert read_firing(None) is None


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"week": "2025-W47", "outcome": "sent"}),
        json.dumps({"firedAt": "yesterday", "week": "2025-W47", "outcome": "sent"}),
        json.dumps({"firedAt": "2025-11-24T07:00:00+00:00", "week": 47, "outcome": "sent"}),
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_read_firing_corrupt_file_is_unknown(tmp_path: Path, content: str):
    """A file that is not a firing record reads as unknown rather than raising."""
    path = tmp_path / "firing.json"
    path.write_text(content, encoding="latin-1")

    assert read_firing(path) is None


def test_read_firing_naive_time_taken_as_utc(tmp_path: Path):
    """A time written without an offset is read as UTC."""
    path = tmp_path / "firing.json"
    path.write_text(json.dumps({"firedAt": "2025-11-24T07:00:00", "week": None, "outcome": "sent"}))

    firing = read_firing(path)

    assert firing is not None and firing.fired_at == FIRED.fired_at


def test_firing_of_reporter_outcome():
    """The reporter's outcome document gives the week and the status."""
    result = {"week": "2025-W47", "status": "already-sent", "subject": None}

    assert firing_of(result, fired_at=FIRED.fired_at) == ScheduleFiring(
        fired_at=FIRED.fired_at, week="2025-W47", outcome="already-sent"
    )


def test_firing_of_unexpected_result_is_unknown_outcome():
    """A result that is not the reporter's document is recorded with an unknown outcome."""
    assert firing_of(None, fired_at=FIRED.fired_at) == ScheduleFiring(
        fired_at=FIRED.fired_at, week=None, outcome="unknown"
    )


def test_record_firing_file_is_readable_json(tmp_path: Path):
    """The record is plain JSON an operator can read (firedAt, week, outcome)."""
    path = tmp_path / "firing.json"

    record_firing(path, FIRED)

    assert json.loads(path.read_text()) == {
        "firedAt": "2025-11-24T07:00:00+00:00",
        "week": "2025-W47",
        "outcome": "sent",
    }
