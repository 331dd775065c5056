"""boto3 client construction, in one place.

Endpoints and regions come only from boto3's own configuration (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, profiles), so the
same code talks to moto, LocalStack or AWS.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


def aws_client(service: str, *, config: Config | None = None) -> Any:
    """A new client for ``service`` with standard retries (throttling is retried here first).

    ``config`` overrides parts of that, e.g. retries for a call that must not be repeated.
    """
    merged = _CONFIG.merge(config) if config is not None else _CONFIG
    return boto3.session.Session().client(service, config=merged)


def queue_url(sqs: Any, *, name: str) -> str:
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]
