"""The embedded AWS: moto's server on loopback, for machines without Docker.

It speaks real HTTP, so boto3 runs its whole stack (signing, serialisation, retries)
exactly as against LocalStack or AWS. It runs in child processes: moto holds the GIL for
most of each request, and in the parent's interpreter it starved the API and the runner
(py-spy: 69% of the embedded stack's samples were moto's). For the pipeline DynamoDB gets a
child of its own (see ``EmbeddedAws``), so SQS and DynamoDB do not queue for one lock.
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
    """moto's server on loopback, in one child process or, with ``dynamodb_port``, two.

    With ``dynamodb_port`` DynamoDB runs in a child of its own on that port (0: any free one)
    and the other services on ``port``; boto3 is pointed at it with the standard per-service
    variable ``AWS_ENDPOINT_URL_DYNAMODB``. The pipeline's busiest calls (UpdateItem) then no
    longer wait for the interpreter lock of the process serving SQS, and both cores work.
    The main endpoint refuses DynamoDB requests with an error that names the right endpoint.
    ``plain_dynamodb`` leaves moto's DynamoDB as released, without the kit's UpdateItem
    speed-ups (see ``embedded_server``), for benchmark baselines.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        dynamodb_port: int | None = None,
        plain_dynamodb: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.dynamodb_port = dynamodb_port
        self.plain_dynamodb = plain_dynamodb
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def dynamodb_endpoint(self) -> str | None:
        """DynamoDB's own endpoint, when it runs in a process of its own."""
        return f"http://{self.host}:{self.dynamodb_port}" if self.dynamodb_port is not None else None

    @property
    def pid(self) -> int | None:
        """The (main) emulator's process id while it runs."""
        return self._processes[0].pid if self._processes else None

    @property
    def pids(self) -> list[int]:
        """Every emulator process's id while they run."""
        return [process.pid for process in self._processes]

    def start(self, *, ready_timeout: float = 30.0) -> str:
        ensure_emulator_installed()
        ensure_port_free(
            self.host,
            self.port,
            hint="is LocalStack running? Set AWS_ENDPOINT_URL to use it, or pick another --aws-port",
        )
        if self.dynamodb_port == 0:
            self.dynamodb_port = free_port(self.host)
        try:
            if self.dynamodb_port is None:
                self._spawn(self.port, "all")
            else:
                ensure_port_free(self.host, self.dynamodb_port, hint="DynamoDB's, next to --aws-port")
                self._spawn(self.dynamodb_port, "dynamodb")
                endpoint = f"http://{self.host}:{self.dynamodb_port}"
                self._spawn(self.port, "others", "--dynamodb-endpoint", endpoint)
            # Both load moto at once; then each must answer.
            for process, port in zip(self._processes, self._ports(), strict=True):
                url = f"http://{self.host}:{port}/moto-api/"
                wait_until_ready(url, timeout=ready_timeout, alive=process)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def _ports(self) -> list[int]:
        return [self.port] if self.dynamodb_port is None else [self.dynamodb_port, self.port]

    def _spawn(self, port: int, services: str, *extra: str) -> None:
        # The child's stdin is its lifeline: it exits when the pipe closes, which the kernel
        # does for us even when this process is SIGKILLed.
        command = [sys.executable, "-m", "cv_analytics.embedded_server", "--host", self.host]
        command += [
            "--port",
            str(port),
            "--services",
            services,
            *extra,
            *(["--plain-dynamodb"] if self.plain_dynamodb else []),
        ]
        self._processes.append(subprocess.Popen(command, stdin=subprocess.PIPE))

    def stop(self, *, timeout: float = 5.0) -> None:
        processes, self._processes = self._processes, []
        for process in processes:
            if process.stdin is not None:
                process.stdin.close()  # the child's cue to shut down cleanly
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)  # SIGKILL cannot be ignored; this is only the reaping

    def environment(self) -> dict[str, str]:
        """What points boto3 at the emulator, with throwaway credentials."""
        variables = {"AWS_ENDPOINT_URL": self.endpoint, **_EMULATOR_ENVIRONMENT}
        if self.dynamodb_endpoint is not None:
            variables["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_endpoint
        return variables

    def export_environment(self) -> None:
        """Point this process's boto3 at the emulator, with throwaway credentials."""
        os.environ.update(self.environment())
        if self.dynamodb_endpoint is None:
            # A DynamoDB endpoint left from another emulator would split the tables from the rest.
            os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
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


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, chosen by the kernel."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


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
