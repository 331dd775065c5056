"""Lambda entry point: wires the SQS FIFO batch to MessageProcessor.

Importing this module loads Powertools and nothing else. The processing code, its settings
and its DynamoDB client load with the first record (``message_processor``), and the DLQ's
client and URL only when a message has to be parked, which most invocations never do.

``lambda_handler`` may be called from several threads at once (the embedded runner polls
with more than one thread): each invocation gets its own batch processor, and everything
shared (MessageProcessor, the stores, boto3 clients) keeps no per-call state.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from cv_processor.metrics import CountedDeadLetters, MeasuredRecords, emits_metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from cv_analytics.aws.sqs import DeadLetter, DeadLetterQueue
    from cv_processor.processing import MessageProcessor
    from cv_processor.settings import ProcessorSettings

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-processor"))


@cache
def message_processor() -> MessageProcessor:
    # Two threads racing on the first call may each build one; one is kept, both work.
    from cv_analytics.aws.clients import aws_client
    from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore
    from cv_processor.processing import MessageProcessor
    from cv_processor.settings import ProcessorSettings

    settings = ProcessorSettings()
    dynamodb = aws_client("dynamodb")
    return MessageProcessor(
        raw_events=RawEventStore(
            client=dynamodb, table_name=settings.query_events_table, ttl_days=settings.raw_event_ttl_days
        ),
        records=MeasuredRecords(AnalyticsStore(client=dynamodb, table_name=settings.analytics_table)),
        dead_letters=CountedDeadLetters(DeadLetterQueueOnDemand(settings)),
        record_ttl_days=settings.record_ttl_days,
        redact_pii=settings.pii_redaction,
    )


class DeadLetterQueueOnDemand:
    """The DLQ, resolved when the first message is parked: an SQS client and, without
    DLQ_URL, a GetQueueUrl call that invocations parking nothing never pay for."""

    def __init__(self, settings: ProcessorSettings) -> None:
        self._settings = settings
        self._queue: DeadLetterQueue | None = None
        self._lock = threading.Lock()

    def park(self, letter: DeadLetter) -> None:
        self._resolved().park(letter)

    def _resolved(self) -> DeadLetterQueue:
        with self._lock:
            if self._queue is None:
                from cv_analytics.aws.clients import aws_client, queue_url
                from cv_analytics.aws.sqs import DeadLetterQueue

                sqs = aws_client("sqs")
                url = self._settings.dlq_url or queue_url(sqs, name=self._settings.dlq_name)
                self._queue = DeadLetterQueue(client=sqs, queue_url=url)
            return self._queue


def record_handler(record: SQSRecord) -> str:
    processor = message_processor()
    from cv_processor.processing import IncomingMessage  # loaded by message_processor()

    group_id = record.attributes.message_group_id or "analytics"
    message = IncomingMessage(message_id=record.message_id, body=record.body, group_id=group_id)
    return processor.process(message)


@logger.inject_lambda_context
@emits_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The batch processor holds the batch's records and outcomes: one per invocation, so
    # concurrent invocations cannot mix them. A failed message fails only the rest of its
    # own group: other groups keep flowing.
    batch = SqsFifoPartialProcessor(skip_group_on_error=True)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
