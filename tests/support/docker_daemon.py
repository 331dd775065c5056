"""Skip, with the reason, what needs Docker when this machine cannot provide it; fail instead
where Docker is required (CI sets CV_ANALYTICS_REQUIRE_DOCKER=1, so a skip never hides there)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_DOCKER_VARIABLE = "CV_ANALYTICS_REQUIRE_DOCKER"


def docker_required() -> bool:
    return os.environ.get(REQUIRE_DOCKER_VARIABLE, "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``, or fail it when this run requires Docker."""
    if docker_required():
        pytest.fail(f"{reason} ({REQUIRE_DOCKER_VARIABLE} is set: container tests must run here)")
    pytest.skip(reason)


def docker_client():
    """A connected Docker client, or a skip explaining why there is none."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # no SDK, no socket, daemon down: all mean "cannot run here"
        unavailable(f"Docker daemon not reachable ({type(exc).__name__}: {exc})")
    return client


def require_docker_image(image: str) -> None:
    """Skip unless ``image`` is present locally or can be pulled now."""
    client = docker_client()
    try:
        client.images.get(image)
        return
    except Exception:
        pass
    try:
        client.images.pull(image)
    except Exception as exc:
        unavailable(f"image {image} is not available and cannot be pulled ({exc})")
