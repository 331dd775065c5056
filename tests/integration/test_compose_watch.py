"""The compose dev loop: `docker compose watch` syncs an edited handler into the running
function container and restarts it, without rebuilding the image. Runs on a copy of the
project in a temporary directory, so the checkout itself is never edited."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.compose import PORT_VARIABLES, ComposeStack, compose_command, compose_environment
from tests.support.containers import REPO, RIE_PATH, require_base_images, wait_for
from tests.support.network import free_port

pytestmark = [pytest.mark.requires_docker, pytest.mark.timeout(900)]

# What the build context and compose need; never environments, history, state or secrets.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv*", ".env", "__pycache__", "*.egg-info", ".*_cache", "terraform", "tests"
)
# Appended to the copy's handler: a probe event answered by the edited code only.
_EDIT = """

_handler_before_edit = lambda_handler


def lambda_handler(event, context):  # appended by tests/integration/test_compose_watch.py
    if isinstance(event, dict) and event.get("watchProbe"):
        return {{"watchMarker": "{marker}"}}
    return _handler_before_edit(event, context)
"""


@pytest.fixture
def watched(docker: Any, tmp_path: Path) -> Iterator[tuple[ComposeStack, Path]]:
    """`compose watch processor` running on a copy of the project; stopped and removed after."""
    require_base_images(REPO / "services" / "processor" / "Dockerfile")
    copy = tmp_path / "project"
    shutil.copytree(REPO, copy, ignore=_NOT_COPIED)
    ports = {name: free_port() for name in PORT_VARIABLES}
    command = [
        *compose_command(),
        "--project-directory",
        str(copy),
        "-f",
        str(copy / "docker-compose.yml"),
        "-p",
        f"cv-analytics-watch-{uuid.uuid4().hex[:8]}",
    ]
    stack = ComposeStack(command, compose_environment(ports), ports)
    log = (tmp_path / "watch.log").open("w")
    watch = subprocess.Popen(
        [*command, "watch", "processor"], env=stack.env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: stack.health("processor") == "healthy", timeout=600, what="the processor to be healthy"
        )
        yield stack, copy
    except pytest.fail.Exception as exc:
        pytest.fail(f"{exc}\n{(tmp_path / 'watch.log').read_text()[-4000:]}\n{stack.diagnostics()}")
    finally:
        watch.terminate()
        try:
            watch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
        log.close()
        stack.run("down", "--volumes", "--remove-orphans", "--timeout", "10")


def _image_of(docker: Any, stack: ComposeStack, service: str) -> str:
    container = stack.run("ps", "--quiet", service).stdout.strip()
    return docker.containers.get(container).image.id


def _marker(url: str) -> str | None:
    answer = httpx.post(url, json={"watchProbe": True}, timeout=30).json()
    return answer.get("watchMarker") if isinstance(answer, dict) else None


def test_compose_watch_restarts_function_with_edited_handler(
    docker: Any, watched: tuple[ComposeStack, Path]
) -> None:
    """GIVEN `compose watch` WHEN the processor's handler file changes THEN the running
    container answers with the new code, from the same image (no rebuild)."""
    stack, copy = watched
    image = _image_of(docker, stack, "processor")
    marker = uuid.uuid4().hex
    handler = copy / "services" / "processor" / "cv_processor" / "handler.py"
    handler.write_text(handler.read_text() + _EDIT.format(marker=marker))
    url = f"http://127.0.0.1:{stack.ports['PROCESSOR_PORT']}{RIE_PATH}"
    seen = wait_for(lambda: _marker(url) == marker, timeout=180, what="the edited handler to answer")
    assert seen and _image_of(docker, stack, "processor") == image
