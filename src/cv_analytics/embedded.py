"""The embedded AWS: moto's server on loopback, for machines without Docker.

It speaks real HTTP, so boto3 runs its whole stack (signing, serialisation, retries)
exactly as against LocalStack or AWS.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import httpx

# moto accepts any credentials; these only keep boto3 from looking for real ones.
_EMULATOR_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
DEFAULT_REGION = "us-east-1"


class EmbeddedAws:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 4566) -> None:
        self.host = host
        self.port = port
        self._server = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, *, ready_timeout: float = 30.0) -> str:
        from moto.server import ThreadedMotoServer  # heavy import, only when embedding

        ensure_port_free(
            self.host,
            self.port,
            hint="is LocalStack running? Set AWS_ENDPOINT_URL to use it, or pick another --aws-port",
        )
        # The emulator's per-request access log drowns everything else; keep its warnings.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        wait_until_ready(f"{self.endpoint}/moto-api/", timeout=ready_timeout)
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def export_environment(self) -> None:
        """Point this process's boto3 at the emulator, with throwaway credentials."""
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        for name, value in _EMULATOR_ENVIRONMENT.items():
            os.environ[name] = value
        os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)


class PortInUse(RuntimeError):
    pass


def ensure_port_free(host: str, port: int, *, hint: str) -> None:
    """Fail with a clear message, instead of a timeout later, when ``port`` is taken."""
    with socket.socket() as probe:
        # Only a live listener counts: a crashed run's connections linger in TIME_WAIT, and the
        # servers bind with SO_REUSEADDR too, so they would start fine.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"{host}:{port} is already in use ({hint})") from exc


def wait_until_ready(url: str, *, timeout: float, expect: int = 200) -> None:
    """Poll ``url`` until it answers ``expect``, or raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == expect:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s ({last})")
