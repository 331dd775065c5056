"""The runner's proof of life: a file it touches after each poll that reached the queue.

A container health check cannot see the runner's threads, only the file system, so the
check is the file's age (``python -m cv_analytics.runner.heartbeat`` exits 0 when fresh).
Import-light on purpose: the check runs every few seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HeartbeatSettings(BaseSettings):
    """Where the runner leaves its heartbeat, and how old it may get."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    heartbeat_file: Path | None = Field(default=None, validation_alias="RUNNER_HEARTBEAT_FILE")
    # A poll takes up to the long-poll wait (10 s) plus one invocation (processor: 30 s).
    max_age_seconds: float = Field(default=90.0, gt=0, validation_alias="RUNNER_HEARTBEAT_MAX_AGE_SECONDS")


def beat(path: Path) -> None:
    """Record a poll. Never raises: a missing heartbeat shows as unhealthy, polling goes on."""
    try:
        path.touch()
    except OSError as exc:
        print(f"cannot touch the heartbeat file {path}: {exc}", file=sys.stderr)


def is_fresh(*, settings: HeartbeatSettings | None = None, now: float | None = None) -> bool:
    """Whether the runner finished a poll within ``max_age_seconds``."""
    settings = settings or HeartbeatSettings()
    if settings.heartbeat_file is None:
        return False
    try:
        age = (time.time() if now is None else now) - settings.heartbeat_file.stat().st_mtime
    except OSError:
        return False
    return age <= settings.max_age_seconds


if __name__ == "__main__":
    sys.exit(0 if is_fresh() else 1)
