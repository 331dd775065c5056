"""Shared fixtures: the AWS backend every functional test talks to, over real HTTP.

``CV_ANALYTICS_TEST_BACKEND`` selects it: ``moto`` (default; moto's server in a child
process) or ``localstack`` (a LocalStack container via testcontainers; the image comes
from ``LOCALSTACK_IMAGE``). The test bodies are the same for both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cv_analytics.aws.clients import aws_client
from cv_analytics.provisioning import ProvisionedResources, provision
from cv_analytics.resources import ResourceSpec, load_resources
from cv_analytics.settings import ResourceNames
from tests.support.network import free_port
from tests.support.stack import REGION

BACKEND = os.environ.get("CV_ANALYTICS_TEST_BACKEND", "moto")
LOCALSTACK_IMAGE = os.environ.get("LOCALSTACK_IMAGE", "localstack/localstack:4.14.0")
_DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _moto_endpoint() -> Iterator[str]:
    from cv_analytics.embedded import EmbeddedAws

    emulator = EmbeddedAws(port=free_port())
    yield emulator.start()
    emulator.stop()


def _localstack_endpoint() -> Iterator[str]:
    from tests.support.docker_daemon import require_docker_image

    require_docker_image(LOCALSTACK_IMAGE)
    try:
        from testcontainers.community.localstack import LocalStackContainer
    except ImportError:  # testcontainers releases before the community namespace
        from testcontainers.localstack import LocalStackContainer

    container = LocalStackContainer(image=LOCALSTACK_IMAGE, region_name=REGION)
    container.with_services("sqs", "dynamodb", "events", "ses")
    if token := os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        container.with_env("LOCALSTACK_AUTH_TOKEN", token)
    with container:
        yield container.get_url()


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """The emulator's URL, started once per session."""
    if BACKEND == "moto":
        yield from _moto_endpoint()
    elif BACKEND == "localstack":
        yield from _localstack_endpoint()
    else:
        raise pytest.UsageError(f"CV_ANALYTICS_TEST_BACKEND must be moto or localstack, not {BACKEND!r}")


@dataclass
class Stack:
    """One test's freshly provisioned resources, with names no other test uses."""

    endpoint: str
    names: ResourceNames
    resources: ProvisionedResources
    spec: ResourceSpec
    sender: str
    recipient: str

    def client(self, service: str) -> Any:
        return aws_client(service)


def _unique_names(prefix: str) -> dict[str, str]:
    return {
        "QUEUE_NAME": f"{prefix}-queue.fifo",
        "DLQ_NAME": f"{prefix}-dlq.fifo",
        "QUERY_EVENTS_TABLE": f"{prefix}-query-events",
        "ANALYTICS_TABLE": f"{prefix}-analytics",
        "REPORTS_TABLE": f"{prefix}-reports",
        "REPORT_RULE_NAME": f"{prefix}-weekly-report",
    }


@pytest.fixture
def stack_spec() -> ResourceSpec:
    """The resource shapes to provision; tests override this to shorten timeouts."""
    return load_resources()


@pytest.fixture
def stack(aws_endpoint: str, stack_spec: ResourceSpec, monkeypatch: pytest.MonkeyPatch) -> Stack:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    sender, recipient = f"reports@{prefix}.example.com", f"owner@{prefix}.example.com"
    environment = {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "SENDER_EMAIL": sender,
        "RECIPIENT_EMAIL": recipient,
        **_DUMMY_CREDENTIALS,
        **_unique_names(prefix),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _forget_cached_wiring()
    names = ResourceNames()
    resources = provision(names=names, spec=stack_spec, sender_email=sender)
    yield Stack(aws_endpoint, names, resources, stack_spec, sender, recipient)
    _forget_cached_wiring()


def _forget_cached_wiring() -> None:
    """Handlers wire themselves once per process, as on Lambda; tests change the env."""
    import cv_processor.handler
    import cv_reporter.handler

    cv_processor.handler.use(None)
    cv_reporter.handler.use(None)
