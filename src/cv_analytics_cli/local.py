"""The whole pipeline in one process: embedded AWS (or any endpoint), ingest API, runner."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from cv_analytics.aws.clients import aws_client
from cv_analytics.embedded import EmbeddedAws, ensure_port_free, wait_until_ready
from cv_analytics.provisioning import ProvisionedResources, provision
from cv_analytics.runner.invokers import Invoker
from cv_analytics.runner.service import EventSources
from cv_analytics_cli.functions import in_process_invokers

log = logging.getLogger(__name__)

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
    schedule: bool = True
    embedded: EmbeddedAws | None = None
    resources: ProvisionedResources | None = None
    processor: Invoker | None = None
    reporter: Invoker | None = None
    started_in: float = 0.0
    _sources: EventSources | None = None
    _server: uvicorn.Server | None = None
    _app: Any = None
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def aws_endpoint(self) -> str | None:
        return os.environ.get("AWS_ENDPOINT_URL")

    def start(self) -> None:
        began = time.monotonic()
        if not os.environ.get("AWS_ENDPOINT_URL"):
            self.embedded = EmbeddedAws(port=self.aws_port)
            self.embedded.start()
            self.embedded.export_environment()
            for name, value in EMBEDDED_EMAIL_DEFAULTS.items():
                os.environ.setdefault(name, value)
        self.resources = provision(sender_email=os.environ.get("SENDER_EMAIL"))
        self.processor, self.reporter = in_process_invokers()
        self._sources = EventSources(processor=self.processor, reporter=self.reporter, schedule=self.schedule)
        self._sources.start()
        self._start_api()
        self.started_in = time.monotonic() - began

    def _start_api(self) -> None:
        from cv_ingest_api.app import create_app

        ensure_port_free(self.api_host, self.api_port, hint="pick another --api-port")
        self._app = create_app()
        config = uvicorn.Config(self._app, host=self.api_host, port=self.api_port, log_level="warning")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, name="ingest-api", daemon=True)
        thread.start()
        self._threads.append(thread)
        wait_until_ready(f"{self.api_url}/readyz", timeout=30)

    def wait_until_drained(self, *, timeout: float = 300.0) -> None:
        """Block until the API buffer and the queue are empty and nothing is in flight."""
        deadline = time.monotonic() + timeout
        quiet_checks = 0
        while quiet_checks < 2:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pipeline still busy after {timeout:.0f}s")
            quiet_checks = quiet_checks + 1 if self._idle() else 0
            # Each check costs the emulator a scan of the whole queue: look once a second.
            time.sleep(1.0)

    def _idle(self) -> bool:
        # The buffer is read in process: /readyz would also ask SQS, doubling the cost.
        pending = self._app.state.publisher.pending
        attributes = aws_client("sqs").get_queue_attributes(
            QueueUrl=self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return pending == 0 and all(int(value) == 0 for value in attributes.values())

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(15)
        if self._sources is not None:
            self._sources.stop()
        if self.embedded is not None:
            self.embedded.stop()
