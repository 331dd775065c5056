"""The embedded AWS: moto's server on loopback, for machines without Docker.

It speaks real HTTP, so boto3 runs its whole stack (signing, serialisation, retries)
exactly as against LocalStack or AWS. It runs in a child process: moto holds the GIL for
most of each request, and in the parent's interpreter it starved the API and the runner
(py-spy: 69% of the embedded stack's samples were moto's). A child uses the second core.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
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
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The emulator's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self, *, ready_timeout: float = 30.0) -> str:
        ensure_emulator_installed()
        ensure_port_free(
            self.host,
            self.port,
            hint="is LocalStack running? Set AWS_ENDPOINT_URL to use it, or pick another --aws-port",
        )
        # The child's stdin is its lifeline: it exits when the pipe closes, which the kernel
        # does for us even when this process is SIGKILLed.
        command = [sys.executable, "-m", "cv_analytics.embedded_server", "--host", self.host]
        self._process = subprocess.Popen([*command, "--port", str(self.port)], stdin=subprocess.PIPE)
        try:
            wait_until_ready(f"{self.endpoint}/moto-api/", timeout=ready_timeout, alive=self._process)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def stop(self, *, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's cue to shut down cleanly
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)  # SIGKILL cannot be ignored; this is only the reaping

    def export_environment(self) -> None:
        """Point this process's boto3 at the emulator, with throwaway credentials."""
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        for name, value in _EMULATOR_ENVIRONMENT.items():
            os.environ[name] = value
        os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)


class PortInUse(RuntimeError):
    pass


class EmulatorMissing(RuntimeError):
    pass


def ensure_emulator_installed(module: str = "moto") -> None:
    """Fail with what to install, instead of a dead child process, when moto is absent: it
    comes with the `local` extra, which the images (run against LocalStack or AWS) leave out."""
    if importlib.util.find_spec(module) is None:
        raise EmulatorMissing(
            f"the embedded AWS emulator needs {module}, which is not installed: "
            "pip install 'cv-analytics[local]', or set AWS_ENDPOINT_URL to LocalStack or AWS"
        )


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


def wait_until_ready(
    url: str, *, timeout: float, expect: int = 200, alive: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers ``expect``, or raise TimeoutError at the deadline
    (RuntimeError at once if the ``alive`` process that should answer has exited)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with status {alive.returncode}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == expect:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s ({last})")
