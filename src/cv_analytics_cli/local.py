"""The whole pipeline in one process: embedded AWS (or any endpoint), ingest API, runner."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from cv_analytics.aws.clients import aws_client
from cv_analytics.embedded import EmbeddedAws, ensure_port_free, wait_until_ready
from cv_analytics.provisioning import ProvisionedResources, provision
from cv_analytics.runner.invokers import Invoker
from cv_analytics.runner.service import EventSources
from cv_analytics.settings import local_state_dir
from cv_analytics_cli.functions import in_process_invokers

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

# Of INGEST_SHUTDOWN_TIMEOUT_SECONDS + 1 s, what uvicorn, the runner and the interpreter's exit
# take after the ingest sender has had its time (measured: 0.5-1.2 s on a busy 2-core machine).
_STOP_RESERVE_SECONDS = 1.0

# Runner threads polling the queue at once. EventSources can run several (FIFO order per
# group holds, tested), but against moto they bought 4% (one emulator core is the limit) and
# moto's backend is not safe for concurrent writers, so the local pipeline polls with one.
RUNNER_POLLERS = 1

# A runner idle this long with fewer events processed than sent: ask the queue itself.
_IDLE_CONFIRM_SECONDS = 2.0


# Used only when the kit starts its own emulator: mail never leaves it.
EMBEDDED_EMAIL_DEFAULTS = {
    "SENDER_EMAIL": "reports@cv-analytics.example.com",
    "RECIPIENT_EMAIL": "owner@cv-analytics.example.com",
}


@dataclass
class LocalPipeline:
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    aws_port: int = 4566
    # DynamoDB's own emulator process (see EmbeddedAws); None: the port after aws_port.
    dynamodb_port: int | None = None
    schedule: bool = True
    pollers: int = RUNNER_POLLERS
    state_dir: Path = field(default_factory=local_state_dir)
    embedded: EmbeddedAws | None = None
    resources: ProvisionedResources | None = None
    processor: Invoker | None = None
    reporter: Invoker | None = None
    started_in: float = 0.0
    _sources: EventSources | None = None
    _server: uvicorn.Server | None = None
    _app: FastAPI | None = None
    _sqs: SQSClient | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def aws_endpoint(self) -> str | None:
        return os.environ.get("AWS_ENDPOINT_URL")

    @property
    def dynamodb_endpoint(self) -> str | None:
        """DynamoDB's endpoint when it is not ``aws_endpoint`` (the embedded emulator's own)."""
        return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")

    def start(self) -> None:
        began = time.monotonic()
        if not os.environ.get("AWS_ENDPOINT_URL"):
            if self.embedded is None:
                dynamodb_port = self.dynamodb_port if self.dynamodb_port is not None else self.aws_port + 1
                self.embedded = EmbeddedAws(port=self.aws_port, dynamodb_port=dynamodb_port)
            self.embedded.start()
            self.embedded.export_environment()
            for name, value in EMBEDDED_EMAIL_DEFAULTS.items():
                os.environ.setdefault(name, value)
            # The ingest sender keeps its default concurrency: with moto in its own process and
            # its queue counting lightened, 1, 4 or 10 batches in flight drain 1,000 events end
            # to end alike (17-19 s here).
        self._wire()
        prepare_ingest_environment(self.state_dir)
        self._start_api()
        self.started_in = time.monotonic() - began

    def _wire(self) -> None:
        """The local pipeline's composition root: one client per service, shared by
        provisioning, the runner and the functions; then the runner starts."""
        sqs = self._sqs = aws_client("sqs")
        dynamodb = aws_client("dynamodb")
        self.resources = provision(
            sender_email=os.environ.get("SENDER_EMAIL"),
            sqs=sqs,
            dynamodb=dynamodb,
            events=aws_client("events"),
        )
        from cv_processor.processing import MessageProcessor
        from cv_reporter.reporting import WeeklyReporter

        # Wired on first use: the reporter's email settings are only needed once it runs.
        self.processor, self.reporter = in_process_invokers(
            processor=cache(lambda: MessageProcessor.from_settings(dynamodb=dynamodb, sqs=sqs)),
            reporter=cache(lambda: WeeklyReporter.from_settings(dynamodb=dynamodb)),
        )
        # The runner's proof of life, which `status` and the console show as its last poll.
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("RUNNER_HEARTBEAT_FILE", str((self.state_dir / "runner-heartbeat").resolve()))
        self._sources = EventSources.from_settings(
            processor=self.processor,
            reporter=self.reporter,
            schedule=self.schedule,
            pollers=self.pollers,
            sqs=sqs,
        )
        self._sources.start()

    @property
    def outbox_path(self) -> str:
        return os.environ["INGEST_OUTBOX_PATH"]

    @property
    def api_key(self) -> str:
        assert self._app is not None, "the API has not started"
        key: str = self._app.state.settings.known_keys()[0]
        return key

    def _shutdown_timeout(self) -> float:
        settings = getattr(self._app.state, "settings", None) if self._app is not None else None
        return settings.shutdown_timeout_seconds if settings is not None else 10.0

    def _start_api(self) -> None:
        from cv_analytics.ops.ingest_metrics import read_registry
        from cv_analytics_cli.console import ConsoleServices, create_console
        from cv_ingest_api.app import create_app
        from cv_ingest_api.settings import IngestSettings

        ensure_port_free(self.api_host, self.api_port, hint="pick another --api-port")
        settings = IngestSettings()
        # The timeout bounds all of `up`'s shutdown: keep some of it for stopping the rest.
        budget = settings.shutdown_timeout_seconds - _STOP_RESERVE_SECONDS
        self._app = create_app(settings.model_copy(update={"shutdown_timeout_seconds": max(0.5, budget)}))
        # Local only: the production ingest app never includes the console. It reads the
        # app's own metrics registry and the runner's counts in process.
        registry = self._app.state.metrics_registry
        services = ConsoleServices(
            outbox_path=Path(self.outbox_path),
            ingest_metrics=lambda: read_registry(registry),
            processor_counts=self._sources.sqs_source.counts if self._sources is not None else None,
        )
        self._app.mount("/console", create_console(services))
        config = uvicorn.Config(self._app, host=self.api_host, port=self.api_port, log_level="warning")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, name="ingest-api", daemon=True)
        thread.start()
        self._threads.append(thread)
        wait_until_ready(f"{self.api_url}/readyz", timeout=30)

    def wait_until_drained(self, *, timeout: float = 300.0) -> None:
        """Block until the API buffer and the queue are empty and nothing is in flight."""
        deadline = time.monotonic() + timeout
        confirmed_at = 0.0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pipeline still busy after {timeout:.0f}s")
            # Counters first, in process and free; the queue's statistics, which cost the
            # emulator a walk of the whole queue, only to confirm (at most once a second).
            if self._looks_drained() and time.monotonic() - confirmed_at >= 1.0:
                if self._queue_empty():
                    return
                confirmed_at = time.monotonic()
            time.sleep(0.05)

    def _looks_drained(self) -> bool:
        assert self._app is not None and self._sources is not None, "the pipeline has not started"
        sender, source = self._app.state.sender, self._sources.sqs_source
        if sender.outbox.pending:
            return False
        # Fewer processed than sent: still busy, unless the runner has been idle a while (SQS
        # dropped a duplicate, redrove a poison message, or the queue held events before).
        return source.deleted >= sender.state.sent or source.idle_for() > _IDLE_CONFIRM_SECONDS

    def _queue_empty(self) -> bool:
        assert self._sqs is not None and self.resources is not None, "the pipeline has not started"
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(value) == 0 for value in attributes.values())

    def stop(self) -> None:
        """Stop within the ingest shutdown timeout (+1 s), whatever SQS does; unsent events
        stay in the outbox."""
        deadline = time.monotonic() + self._shutdown_timeout() + _STOP_RESERVE_SECONDS
        if self._server is not None:
            self._server.should_exit = True
        if self._sources is not None:
            # Not waited for: its threads are daemons, so a poll SQS never answers cannot hold
            # the exit, and a batch cut short is simply received again.
            threading.Thread(target=self._sources.stop, kwargs={"timeout": 1}, daemon=True).start()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.embedded is not None:
            # Within what is left of the budget: its state is in memory and goes either way.
            self.embedded.stop(timeout=max(0.2, deadline - time.monotonic()))


def prepare_ingest_environment(state_dir: Path) -> None:
    """Outbox file and API key for the in-process API, unless the environment names them.

    The key is made once and kept in the state directory (mode 0600), so a restart, the
    demo and another shell all use the same one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("INGEST_OUTBOX_PATH", str((state_dir / "outbox.sqlite3").resolve()))
    if os.environ.get("INGEST_API_KEYS") or os.environ.get("INGEST_API_KEYS_FILE"):
        return
    key_file = state_dir / "api-key"
    if not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    os.environ["INGEST_API_KEYS"] = key_file.read_text(encoding="utf-8").strip()
