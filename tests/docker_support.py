"""Skip, with the reason, what needs Docker when this machine cannot provide it."""

from __future__ import annotations

import pytest


def docker_client():
    """A connected Docker client, or a skip explaining why there is none."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # no SDK, no socket, daemon down: all mean "cannot run here"
        pytest.skip(f"Docker daemon not reachable ({type(exc).__name__}: {exc})")
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
        pytest.skip(f"image {image} is not available and cannot be pulled ({exc})")
