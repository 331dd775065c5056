"""What the console reads and does, behind one object the routes share.

Every figure comes from the code the rest of the kit uses: ``cv_analytics.ops`` for health,
the feed and the DLQ, ``WeekReader`` and the reporter's rendering for the weekly report, and
``cv_analytics.mailbox`` for the emails the emulator captured. The boto3 clients are built
once, on first use, and shared: the page refreshes every few seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from cv_analytics import ops
from cv_analytics.aggregation import WeeklySummary
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.week_reader import WeekReader
from cv_analytics.mailbox import CapturedEmail, CapturedMessage, fetch_messages
from cv_analytics.ops.ingest_metrics import IngestMetrics
from cv_analytics.runner.sqs_source import SourceCounts
from cv_analytics.settings import ResourceNames
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

# The mailbox download waits for the emulator to build its whole document; a page should
# not hang on it for the two minutes the `mail` command allows.
MAIL_READ_TIMEOUT_SECONDS = 20.0
REDRIVE_PATIENCE_SECONDS = 3.0


class MailNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class MailHeadline:
    number: int
    """Position in the mailbox, 0 = oldest, as `cv-analytics mail --show N` numbers it."""
    subject: str
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PipelineMetrics:
    """The counters of the processes serving the console (None: not known here)."""

    ingest: IngestMetrics | None
    processor: SourceCounts | None


@dataclass
class ConsoleServices:
    """The console's view of one pipeline: its AWS resources, outbox and mailbox, and the
    counters of the ingest app and the runner when they run in this process (``up``)."""

    names: ResourceNames = field(default_factory=ResourceNames)
    outbox_path: Path | None = None
    mail_endpoint: str | None = field(default_factory=lambda: os.environ.get("AWS_ENDPOINT_URL"))
    sqs: SQSClient | None = None
    dynamodb: DynamoDBClient | None = None
    events: EventBridgeClient | None = None
    # The ingest app's own figures (``ops.ingest_metrics.read_registry`` of its registry).
    ingest_metrics: Callable[[], IngestMetrics | None] | None = None
    # The runner's SQS source: what it handed the processor since it started.
    processor_counts: Callable[[], SourceCounts] | None = None
    _lock: Lock = field(default_factory=Lock, repr=False)

    def health(self) -> ops.PipelineHealth:
        return ops.pipeline_health(
            sqs=self._sqs(),
            dynamodb=self._dynamodb(),
            events=self._events(),
            names=self.names,
            outbox_path=self.outbox_path,
        )

    def metrics(self) -> PipelineMetrics:
        return PipelineMetrics(
            ingest=self.ingest_metrics() if self.ingest_metrics is not None else None,
            processor=self.processor_counts() if self.processor_counts is not None else None,
        )

    def feed(self, *, limit: int = 20) -> list[ops.FeedEntry]:
        return ops.latest_records(limit=limit, dynamodb=self._dynamodb(), names=self.names)

    def week_summary(self, week: IsoWeek) -> WeeklySummary:
        reader = WeekReader(client=self._dynamodb(), table_name=self.names.analytics_table)
        return reader.summarise(week)

    def parked(self) -> ops.ParkedListing:
        return ops.list_parked(sqs=self._sqs(), names=self.names, outbox_path=self.outbox_path)

    def show_parked(self, message_id: str) -> ops.ParkedMessage:
        return ops.show_parked(message_id, sqs=self._sqs(), names=self.names, outbox_path=self.outbox_path)

    def redrive(self, message_id: str) -> ops.RedriveReport:
        """Redrive one parked message; retried briefly while it is not to be seen.

        The health panel peeks at the DLQ every few seconds (in this page or another tab), and
        a message another reader holds for that instant is invisible to the redrive.
        """
        deadline = time.monotonic() + REDRIVE_PATIENCE_SECONDS
        while True:
            try:
                return ops.redrive(message_id=message_id, sqs=self._sqs(), names=self.names)
            except ops.ParkedMessageNotFound:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.5)

    def mail_headlines(self) -> list[MailHeadline]:
        """Every captured email, newest first."""
        headlines = [
            MailHeadline(number, *message.headline()) for number, message in enumerate(self._messages())
        ]
        return headlines[::-1]

    def mail(self, number: int) -> CapturedEmail:
        messages = self._messages()
        if not 0 <= number < len(messages):
            raise MailNotFound(f"no email number {number}: the mailbox holds {len(messages)}")
        return messages[number].parse()

    def _messages(self) -> list[CapturedMessage]:
        if self.mail_endpoint is None:
            raise MailNotFound("no emulator endpoint (AWS_ENDPOINT_URL): emails go to real SES")
        return fetch_messages(self.mail_endpoint, read_timeout=MAIL_READ_TIMEOUT_SECONDS)

    def _sqs(self) -> SQSClient:
        with self._lock:
            if self.sqs is None:
                self.sqs = aws_client("sqs")
            return self.sqs

    def _dynamodb(self) -> DynamoDBClient:
        with self._lock:
            if self.dynamodb is None:
                self.dynamodb = aws_client("dynamodb")
            return self.dynamodb

    def _events(self) -> EventBridgeClient:
        with self._lock:
            if self.events is None:
                self.events = aws_client("events")
            return self.events


def this_week(now: datetime | None = None) -> IsoWeek:
    return IsoWeek.of(now or datetime.now(UTC))
