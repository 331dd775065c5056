"""boto3 clients and queue URLs, in one place.

Endpoints and regions come only from boto3's own configuration (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, profiles), so the
same code talks to moto, LocalStack or AWS.

Adapters take their client by keyword and build one here only when none is passed, on
first use (never at import time, and never with I/O in a constructor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from cv_analytics.settings import ResourceNames

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)

Service = Literal["sqs", "dynamodb", "events", "ses"]


@overload
def aws_client(service: Literal["sqs"], *, config: Config | None = None) -> SQSClient: ...
@overload
def aws_client(service: Literal["dynamodb"], *, config: Config | None = None) -> DynamoDBClient: ...
@overload
def aws_client(service: Literal["events"], *, config: Config | None = None) -> EventBridgeClient: ...
@overload
def aws_client(service: Literal["ses"], *, config: Config | None = None) -> SESClient: ...
def aws_client(service: Service, *, config: Config | None = None) -> Any:
    """A new client for ``service`` with standard retries (throttling is retried here first).

    ``config`` overrides parts of that, e.g. retries for a call that must not be repeated.
    """
    merged = _CONFIG.merge(config) if config is not None else _CONFIG
    return boto3.session.Session().client(service, config=merged)


def main_queue_url(sqs: SQSClient, names: ResourceNames) -> str:
    """The pipeline queue's URL: ``QUEUE_URL`` when set (production), else GetQueueUrl."""
    return names.queue_url or _queue_url(sqs, name=names.queue_name)


def dead_letter_queue_url(sqs: SQSClient, names: ResourceNames) -> str:
    """The DLQ's URL: ``DLQ_URL`` when set (production), else GetQueueUrl."""
    return names.dlq_url or _queue_url(sqs, name=names.dlq_name)


def _queue_url(sqs: SQSClient, *, name: str) -> str:
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]
