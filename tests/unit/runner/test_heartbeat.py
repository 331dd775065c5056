"""The runner's health signal (cv_analytics.runner.heartbeat): the heartbeat file a container
health check reads."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cv_analytics.runner.heartbeat import HeartbeatSettings, beat, is_fresh


def test_heartbeat_is_fresh_right_after_a_beat(tmp_path: Path) -> None:
    """A heartbeat just written is fresh."""
    settings = HeartbeatSettings(heartbeat_file=tmp_path / "beat", max_age_seconds=30)
    beat(settings.heartbeat_file)
    assert is_fresh(settings=settings)


def test_heartbeat_is_stale_past_its_max_age(tmp_path: Path) -> None:
    """A heartbeat older than max_age_seconds means the runner stopped polling."""
    settings = HeartbeatSettings(heartbeat_file=tmp_path / "beat", max_age_seconds=30)
    beat(settings.heartbeat_file)
    old = time.time() - 31
    os.utime(settings.heartbeat_file, (old, old))
    assert not is_fresh(settings=settings)


def test_heartbeat_is_not_fresh_before_the_first_poll(tmp_path: Path) -> None:
    """No heartbeat file yet (the runner has not polled) is unhealthy."""
    assert not is_fresh(settings=HeartbeatSettings(heartbeat_file=tmp_path / "never-written"))


def test_heartbeat_is_not_fresh_without_a_configured_file() -> None:
    """With RUNNER_HEARTBEAT_FILE unset there is nothing to vouch for the runner."""
    assert not is_fresh(settings=HeartbeatSettings(heartbeat_file=None))


def test_heartbeat_settings_read_the_environment(tmp_path: Path, monkeypatch) -> None:
    """RUNNER_HEARTBEAT_FILE and RUNNER_HEARTBEAT_MAX_AGE_SECONDS configure the check."""
    monkeypatch.setenv("RUNNER_HEARTBEAT_FILE", str(tmp_path / "beat"))
    monkeypatch.setenv("RUNNER_HEARTBEAT_MAX_AGE_SECONDS", "12.5")
    settings = HeartbeatSettings()
    assert (settings.heartbeat_file, settings.max_age_seconds) == (tmp_path / "beat", 12.5)


def test_heartbeat_beat_survives_an_unwritable_path(tmp_path: Path, capsys) -> None:
    """A heartbeat that cannot be written is reported, not raised: polling goes on."""
    beat(tmp_path / "missing-directory" / "beat")
    assert "cannot touch the heartbeat file" in capsys.readouterr().err
