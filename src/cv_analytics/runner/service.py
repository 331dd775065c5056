"""Runs the event sources in background threads: SQS → processor, schedule → reporter."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cv_analytics.aws.clients import aws_client, main_queue_url
from cv_analytics.resources import load_resources
from cv_analytics.runner.firing import firing_file_for
from cv_analytics.runner.heartbeat import HeartbeatSettings, beat
from cv_analytics.runner.invokers import HttpInvoker, Invoker
from cv_analytics.runner.schedule import ScheduleSource
from cv_analytics.runner.sqs_source import SqsEventSource
from cv_analytics.settings import ResourceNames

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)


def http_invokers(*, processor_url: str, reporter_url: str) -> tuple[HttpInvoker, HttpInvoker]:
    """The processor and reporter containers, called through their emulator URLs."""
    spec = load_resources()
    return (
        HttpInvoker(name="processor", url=processor_url, timeout_seconds=spec.processor.timeout_seconds),
        HttpInvoker(name="reporter", url=reporter_url, timeout_seconds=spec.reporter.timeout_seconds),
    )


def wait_for_function(invoker: HttpInvoker, *, timeout: float) -> None:
    """Poll until a function container's emulator answers HTTP (without invoking it:
    an invocation of the reporter would send an email)."""
    deadline = time.monotonic() + timeout
    while not invoker.is_reachable():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{invoker.name} did not answer within {timeout:.0f}s")
        time.sleep(0.5)


class EventSources:
    """The runner: what Lambda's event source mapping and EventBridge do on AWS.

    The constructor only holds what it is given; ``from_settings`` builds the sources (and
    looks the queue up), and ``start`` starts polling.
    """

    def __init__(
        self,
        *,
        sqs_source: SqsEventSource,
        schedule_source: ScheduleSource | None = None,
        heartbeat_file: Path | None = None,
        pollers: int = 1,
    ) -> None:
        if pollers < 1:
            raise ValueError(f"pollers must be at least 1, not {pollers}")
        self.sqs_source = sqs_source
        self.schedule_source = schedule_source
        self._heartbeat = heartbeat_file
        self._pollers = pollers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_settings(
        cls,
        names: ResourceNames | None = None,
        *,
        processor: Invoker,
        reporter: Invoker,
        schedule: bool = True,
        wait_seconds: int = 2,
        heartbeat_file: Path | None = None,
        pollers: int = 1,
        sqs: SQSClient | None = None,
        events: EventBridgeClient | None = None,
    ) -> EventSources:
        """The runner for ``names``' queue and rule (the environment's by default)."""
        names = names or ResourceNames()
        heartbeat_file = heartbeat_file or HeartbeatSettings().heartbeat_file
        sqs = sqs or aws_client("sqs")
        sqs_source = SqsEventSource(
            sqs=sqs,
            queue_url=main_queue_url(sqs, names),
            invoker=processor,
            batch_size=load_resources().processor.batch_size,
            wait_seconds=wait_seconds,
        )
        schedule_source = (
            ScheduleSource(
                events=events or aws_client("events"),
                rule_name=names.report_rule_name,
                invoker=reporter,
                firing_file=firing_file_for(heartbeat_file) if heartbeat_file else None,
            )
            if schedule
            else None
        )
        return cls(
            sqs_source=sqs_source,
            schedule_source=schedule_source,
            heartbeat_file=heartbeat_file,
            pollers=pollers,
        )

    def start(self) -> None:
        # Like Lambda's pollers: several batches in flight, never two of one FIFO group.
        for index in range(self._pollers):
            self._spawn(f"sqs-event-source-{index}", self._poll)
        if self.schedule_source is not None:
            self._spawn("schedule", self.schedule_source.run)

    def _poll(self, stop: threading.Event) -> None:
        """SqsEventSource.run, plus a heartbeat after each poll that reached the queue."""
        while not stop.is_set():
            try:
                self.sqs_source.poll_once()
            except Exception as exc:  # the loop must survive an emulator restart
                log.warning("polling %s failed: %s", self.sqs_source.queue_url, exc)
                stop.wait(1.0)
                continue
            if self._heartbeat is not None:
                beat(self._heartbeat)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, *, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
