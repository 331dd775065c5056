"""Lambda entry point: wires the SQS FIFO batch to MessageProcessor."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from cv_analytics.aws.clients import aws_client, queue_url
from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore
from cv_analytics.aws.sqs import DeadLetterQueue
from cv_processor.processing import IncomingMessage, MessageProcessor
from cv_processor.settings import ProcessorSettings

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-processor"))
# A failed message fails only the rest of its own group: other groups keep flowing.
batch = SqsFifoPartialProcessor(skip_group_on_error=True)


@cache
def message_processor() -> MessageProcessor:
    settings = ProcessorSettings()
    dynamodb, sqs = aws_client("dynamodb"), aws_client("sqs")
    return MessageProcessor(
        raw_events=RawEventStore(
            client=dynamodb, table_name=settings.query_events_table, ttl_days=settings.raw_event_ttl_days
        ),
        records=AnalyticsStore(
            client=dynamodb, table_name=settings.analytics_table, ttl_days=settings.record_ttl_days
        ),
        dead_letters=DeadLetterQueue(
            client=sqs, queue_url=settings.dlq_url or queue_url(sqs, name=settings.dlq_name)
        ),
        redact_pii=settings.pii_redaction,
    )


def record_handler(record: SQSRecord) -> str:
    group_id = record.attributes.message_group_id or "analytics"
    message = IncomingMessage(message_id=record.message_id, body=record.body, group_id=group_id)
    return message_processor().process(message)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
