"""The container tier: polling with a deadline, invoking a function's Runtime Interface
Emulator, telling which images a build needs, and which AWS emulator answers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.docker_daemon import require_docker_image
from tests.support.dockerfiles import parse_dockerfile

REPO = Path(__file__).resolve().parents[2]
LOCALSTACK_IMAGE = os.environ.get("LOCALSTACK_IMAGE", "localstack/localstack:4.14.0")
REGION = "us-east-1"
# The addresses docker-compose.yml defaults to; provisioning verifies the sender.
SENDER, RECIPIENT = "reports@example.com", "cv-owner@example.com"
RIE_PATH = "/2015-03-31/functions/function/invocations"
# LocalStack accepts any credentials; fixed ones keep a developer's real keys out of it.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# Read by the Dockerfiles' dependency stages only (docs/docker.md).
PIP_BUILD_ARGS = ("PIP_INDEX_URL", "PIP_CA_BUNDLE")


def pullable_reference(reference: str) -> str:
    """``name:tag@digest`` as ``name@digest`` (the digest decides), else unchanged."""
    name, at, digest = reference.partition("@")
    if not at:
        return reference
    repository, colon, tag = name.rpartition(":")
    return f"{repository if colon and '/' not in tag else name}@{digest}"


def build_args(dockerfile: Path) -> dict[str, str]:
    """The build args this environment sets for ``dockerfile``, as compose passes them: its
    base image variables (PYTHON_IMAGE, LAMBDA_BASE_IMAGE) and pip's proxy settings."""
    names = {*parse_dockerfile(dockerfile).global_args, *PIP_BUILD_ARGS}
    return {name: os.environ[name] for name in sorted(names) if os.environ.get(name)}


def require_base_images(dockerfile: Path) -> None:
    """Skip unless every registry image ``dockerfile`` builds FROM (with this environment's
    build args) is here or pullable."""
    for base in parse_dockerfile(dockerfile, build_args=build_args(dockerfile)).external_bases():
        require_docker_image(pullable_reference(base))


def wait_for(probe: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            if result := probe():
                return result
        except Exception as exc:
            last = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last!r})")


def invoke(url: str, payload: dict[str, Any], *, connect_timeout: float = 60.0) -> Any:
    """POST ``payload`` to a function's emulator and return the decoded answer.

    Only connection failures are retried (the emulator is still starting); once the
    request is in, its answer is final. An unhandled exception comes back as HTTP 200
    with an error document, returned as is for the test to judge.
    """
    deadline = time.monotonic() + connect_timeout
    while True:
        try:
            response = httpx.post(url, json=payload, timeout=httpx.Timeout(120.0, connect=5.0))
            break
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            if time.monotonic() >= deadline:
                pytest.fail(f"the function emulator at {url} never accepted the invocation: {exc!r}")
            time.sleep(0.5)
    assert response.status_code == 200, f"{url} answered HTTP {response.status_code}: {response.text}"
    return response.json()


def function_error(answer: Any) -> str | None:
    """The emulator's error document as text, or None when the function returned normally."""
    if isinstance(answer, dict) and {"errorType", "errorMessage"} <= answer.keys():
        return json.dumps(answer, indent=2)
    return None


# What the pipeline needs from the emulator; each must be up and answer a real call.
REQUIRED_AWS_SERVICES = {"sqs": "list_queues", "dynamodb": "list_tables", "ses": "list_identities"}
# Every emulator this run identified, for the terminal summary (tests/integration/conftest.py).
IDENTIFIED_EMULATORS: list[EmulatorIdentity] = []


@dataclass(frozen=True)
class EmulatorIdentity:
    url: str
    edition: str
    version: str

    def __str__(self) -> str:
        return f"{self.edition} {self.version} (at {self.url})"


def identify_aws_emulator(url: str) -> EmulatorIdentity:
    """What answers at ``url``: LocalStack's health document names the edition and version
    and lists the services; each service the pipeline uses must then answer a real API
    call. Anything else (a container that only prints "Ready.") fails the test."""
    try:
        health = httpx.get(f"{url}/_localstack/health", timeout=10).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        pytest.fail(f"{url} is not an AWS emulator: no LocalStack health document ({exc!r})")
    services = health.get("services") if isinstance(health, dict) else None
    state = {name: (services or {}).get(name) for name in REQUIRED_AWS_SERVICES}
    down = {name: status for name, status in state.items() if status not in ("running", "available")}
    if down or not health.get("edition") or not health.get("version"):
        pytest.fail(f"{url} does not look like a usable AWS emulator: services {state}, health {health}")
    for service, call in REQUIRED_AWS_SERVICES.items():
        _answer(url, service, call)
    identity = EmulatorIdentity(url, str(health["edition"]), str(health["version"]))
    IDENTIFIED_EMULATORS.append(identity)
    return identity


def _answer(url: str, service: str, call: str) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        getattr(client, call)()
    except (BotoCoreError, ClientError) as exc:
        pytest.fail(f"{url} lists {service} as up but {call} failed: {exc}")
