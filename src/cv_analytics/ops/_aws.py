"""What the operator views share: clients built on demand, the outbox's and heartbeat's paths.

Queue URLs resolve where every deployable resolves them: ``cv_analytics.aws.clients``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cv_analytics.runner.heartbeat import HeartbeatSettings
from cv_analytics.settings import local_state_dir

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

_OUTBOX_FILE = "outbox.sqlite3"
_HEARTBEAT_FILE = "runner-heartbeat"


def sqs_client(sqs: SQSClient | None) -> SQSClient:
    if sqs is not None:
        return sqs
    from cv_analytics.aws.clients import aws_client

    client: SQSClient = aws_client("sqs")
    return client


def dynamodb_client(dynamodb: DynamoDBClient | None) -> DynamoDBClient:
    if dynamodb is not None:
        return dynamodb
    from cv_analytics.aws.clients import aws_client

    client: DynamoDBClient = aws_client("dynamodb")
    return client


def events_client(events: EventBridgeClient | None) -> EventBridgeClient:
    if events is not None:
        return events
    from cv_analytics.aws.clients import aws_client

    client: EventBridgeClient = aws_client("events")
    return client


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
