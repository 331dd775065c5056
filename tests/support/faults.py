"""The fault-injection tier: the proxy in front of an endpoint, real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx

from cv_analytics.testing.fault_proxy import FaultProxy
from tests.support.events import QUERY_AT


def proxy_for(endpoint: str) -> FaultProxy:
    parts = urlsplit(endpoint)
    return FaultProxy(upstream=(parts.hostname, parts.port))


def direct_client(stack, service: str) -> Any:
    """A client that bypasses the proxy, to look at the emulator itself."""
    return boto3.session.Session().client(service, endpoint_url=stack.endpoint, region_name="us-east-1")


def events(count: int, *, tag: str = "") -> list[dict[str, Any]]:
    prefix = tag or uuid.uuid4().hex[:8]
    return [
        {
            "eventType": "query",
            "requestId": f"{prefix}-{n}",
            "timestamp": QUERY_AT + n,
            "query": f"question {n}?",
        }
        for n in range(count)
    ]


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (after {timeout:.0f}s)")
        time.sleep(every)
    return result


class Service:
    """A real child process (``cv-analytics up`` or the image's ``uvicorn``) with its log."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path, api_url: str) -> None:
        self.api_url = api_url
        self.log = log
        with log.open("ab") as sink:
            self.process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)

    def ready(self, *, timeout: float = 60.0) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                return httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=timeout, what="the service never answered", every=0.2)

    def signal_and_wait(self, signum: int, *, timeout: float = 60.0) -> float:
        """Send ``signum``; returns the seconds until the process exited."""
        began = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout)
        return time.monotonic() - began

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def child_environment(_stack, *, endpoint: str, state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "CV_ANALYTICS_STATE_DIR": str(state_dir),
            "PYTHONUNBUFFERED": "1",
            # moto answers concurrent SendMessageBatch calls one at a time, each slower than the
            # last; one call in flight is the fastest way through it.
            "INGEST_SENDER_CONCURRENCY": "1",
            **extra,
        }
    )
    return env


def up_command(api_port: int) -> list[str]:
    return [sys.executable, "-m", "cv_analytics_cli", "up", "--api-port", str(api_port)]


def uvicorn_command(api_port: int) -> list[str]:
    # Exactly the image's CMD, on another port.
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "cv_ingest_api.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(api_port),
    ]
