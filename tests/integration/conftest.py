"""Fixtures for the container tier: images built from this checkout, LocalStack on a network.

Every test here needs a Docker daemon and some images. Each fixture checks what its test
needs first and skips with the reason when this machine cannot provide it (no daemon, an
image that is neither present nor pullable, a LocalStack image that wants a token), so a
skip never passes for a success. Past those checks, anything that goes wrong fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.containers import (
    DUMMY_CREDENTIALS,
    IDENTIFIED_EMULATORS,
    LOCALSTACK_IMAGE,
    RECIPIENT,
    REGION,
    REPO,
    RIE_PATH,
    SENDER,
    build_args,
    identify_aws_emulator,
    require_base_images,
)
from tests.support.docker_daemon import docker_client, require_docker_image, unavailable

LOCALSTACK_SERVICES = ("sqs", "dynamodb", "events", "ses")


@pytest.fixture(scope="session")
def docker() -> Any:
    """A connected Docker client; skips the test when there is no daemon."""
    return docker_client()


@pytest.fixture(scope="session")
def build_image(docker: Any) -> Callable[[str], str]:
    """Build ``services/<name>/Dockerfile`` (context: the repository root) once per session."""
    built: dict[str, str] = {}

    def build(name: str) -> str:
        if name in built:
            return built[name]
        from docker.errors import BuildError

        dockerfile = REPO / "services" / name / "Dockerfile"
        require_base_images(dockerfile)
        tag = f"cv-analytics/{name}:integration-test"
        try:
            docker.images.build(
                path=str(REPO),
                dockerfile=str(dockerfile.relative_to(REPO)),
                buildargs=build_args(dockerfile),
                tag=tag,
                rm=True,
                forcerm=True,
            )
        except BuildError as exc:
            log = "".join(str(chunk.get("stream") or chunk.get("error") or "") for chunk in exc.build_log)
            pytest.fail(f"{dockerfile.relative_to(REPO)} does not build:\n{log[-4000:]}")
        built[name] = tag
        return tag

    return build


@pytest.fixture(scope="module")
def network(docker: Any) -> Iterator[Any]:
    from testcontainers.core.network import Network

    with Network() as shared:
        yield shared


def _localstack_container_class() -> Any:
    try:
        from testcontainers.community.localstack import LocalStackContainer
    except ImportError:  # testcontainers releases before the community namespace
        from testcontainers.localstack import LocalStackContainer
    return LocalStackContainer


def _require_ryuk() -> None:
    """testcontainers starts its reaper container first, unless told not to."""
    from testcontainers.core.config import testcontainers_config

    if not testcontainers_config.ryuk_disabled:
        require_docker_image(testcontainers_config.ryuk_image)


def _logs(container: Any) -> str:
    try:
        stdout, stderr = container.get_logs()
        return (stdout + stderr).decode(errors="replace")
    except Exception:
        return ""


@pytest.fixture(scope="module")
def localstack(network: Any) -> Iterator[Any]:
    """LocalStack on the shared network, reachable there as ``localstack:4566``."""
    require_docker_image(LOCALSTACK_IMAGE)
    _require_ryuk()
    container = (
        _localstack_container_class()(image=LOCALSTACK_IMAGE, region_name=REGION)
        .with_services(*LOCALSTACK_SERVICES)
        .with_network(network)
        .with_network_aliases("localstack")
    )
    if token := os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        container.with_env("LOCALSTACK_AUTH_TOKEN", token)
    try:
        container.start()
    except Exception:
        logs = _logs(container).lower()
        container.stop()
        if "auth" in logs and "token" in logs and not os.environ.get("LOCALSTACK_AUTH_TOKEN"):
            unavailable(
                f"{LOCALSTACK_IMAGE} refuses to start without LOCALSTACK_AUTH_TOKEN, which is not set"
            )
        raise
    try:
        identify_aws_emulator(container.get_url())
    except BaseException:
        container.stop()
        raise
    yield container
    container.stop()


@pytest.fixture(scope="module")
def provisioned(localstack: Any) -> Iterator[Any]:
    """The pipeline's resources on LocalStack, created by the kit's own provisioning; this
    process's boto3 points at LocalStack for the rest of the module."""
    from cv_analytics.provisioning import provision

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", localstack.get_url())
        env.setenv("AWS_DEFAULT_REGION", REGION)
        for name, value in DUMMY_CREDENTIALS.items():
            env.setenv(name, value)
        for name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "QUEUE_NAME",
            "DLQ_NAME",
            "QUERY_EVENTS_TABLE",
            "ANALYTICS_TABLE",
            "REPORT_RULE_NAME",
        ):
            env.delenv(name, raising=False)  # the images run with the default names; so do we
        yield provision(sender_email=SENDER)


@pytest.fixture(scope="module")
def function_url(
    build_image: Callable[[str], str], network: Any, provisioned: Any
) -> Iterator[Callable[[str], str]]:
    """Start a function's image on the shared network; returns its emulator's invoke URL."""
    from testcontainers.core.container import DockerContainer

    started: dict[str, tuple[Any, str]] = {}

    def start(function: str) -> str:
        if function not in started:
            container = (
                DockerContainer(build_image(function))
                .with_network(network)
                .with_network_aliases(function)
                .with_exposed_ports(8080)
                .with_envs(
                    AWS_ENDPOINT_URL="http://localstack:4566",
                    AWS_DEFAULT_REGION=REGION,
                    AWS_REGION=REGION,
                    SENDER_EMAIL=SENDER,
                    RECIPIENT_EMAIL=RECIPIENT,
                    AWS_LAMBDA_FUNCTION_NAME=f"cv-analytics-{function}",
                    **DUMMY_CREDENTIALS,
                )
            )
            container.start()
            host, port = container.get_container_host_ip(), container.get_exposed_port(8080)
            started[function] = (container, f"http://{host}:{port}{RIE_PATH}")
        return started[function][1]

    yield start
    for container, _ in started.values():
        container.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which AWS emulator the container tier ran on: LocalStack, or a stand-in."""
    if IDENTIFIED_EMULATORS:
        terminalreporter.section("AWS emulator")
        for identity in dict.fromkeys(map(str, IDENTIFIED_EMULATORS)):
            terminalreporter.write_line(f"container tier ran on: {identity}")
