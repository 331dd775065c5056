"""What the operator views share: the outbox's and the heartbeat's paths.

Clients and queue URLs come from where every deployable gets them: ``cv_analytics.aws.clients``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cv_analytics.runner.heartbeat import HeartbeatSettings
from cv_analytics.settings import local_state_dir

_OUTBOX_FILE = "outbox.sqlite3"
_HEARTBEAT_FILE = "runner-heartbeat"


def default_outbox_path() -> Path | None:
    """The ingest outbox this machine uses: INGEST_OUTBOX_PATH, else `up`'s, if it exists."""
    configured = os.environ.get("INGEST_OUTBOX_PATH")
    if configured:
        return Path(configured)
    return _in_state_dir(_OUTBOX_FILE)


def default_heartbeat() -> HeartbeatSettings:
    """The runner's heartbeat: RUNNER_HEARTBEAT_FILE, else `up`'s, if it exists."""
    settings = HeartbeatSettings()
    if settings.heartbeat_file is not None:
        return settings
    return settings.model_copy(update={"heartbeat_file": _in_state_dir(_HEARTBEAT_FILE)})


def _in_state_dir(name: str) -> Path | None:
    candidate = local_state_dir() / name
    return candidate if candidate.exists() else None
