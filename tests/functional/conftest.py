"""Functional-tier fixtures: every in-process pipeline keeps its state in the test's own directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up`'s outbox and API key go under tmp_path, never into the working tree or another test."""
    monkeypatch.setenv("CV_ANALYTICS_STATE_DIR", str(tmp_path / "state"))
    for name in (
        "INGEST_OUTBOX_PATH",
        "INGEST_API_KEYS",
        "INGEST_API_KEYS_FILE",
        "INGEST_API_KEY",
        "INGEST_SENDER_CONCURRENCY",
        "RUNNER_HEARTBEAT_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
