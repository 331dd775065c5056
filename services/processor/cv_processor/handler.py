"""Lambda entry point: wires the SQS FIFO batch to MessageProcessor.

Importing this module loads Powertools and nothing else. The processing code, its settings
and its DynamoDB client load with the first record (``message_processor``), and the DLQ's
client and URL only when a message has to be parked, which most invocations never do.

The module holds one processor, built from the environment on first use, as on Lambda.
``use`` is its injection point: ``use(processor)`` runs the handler with that one, and
``use(None)`` drops it so the next record wires one from the environment again (tests
change the environment between cases). ``handler_for`` gives a handler that runs the
caller's own wiring instead, which is how the local pipeline runs it in process.

``lambda_handler`` may be called from several threads at once (the embedded runner polls
with more than one thread): each invocation gets its own batch processor, and everything
shared (MessageProcessor, the stores, boto3 clients) keeps no per-call state.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

from cv_processor.metrics import emits_metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from cv_processor.processing import MessageProcessor

LambdaHandler = Callable[[dict[str, Any], Any], "PartialItemFailureResponse"]

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-processor"))

_processor: MessageProcessor | None = None


def message_processor() -> MessageProcessor:
    """The processor ``lambda_handler`` runs: the one given to ``use``, else one wired from
    the environment on first use (two threads racing here may each build one; both work)."""
    global _processor
    if _processor is None:
        from cv_processor.processing import MessageProcessor

        _processor = MessageProcessor.from_settings()
    return _processor


def use(processor: MessageProcessor | None) -> None:
    """Run ``lambda_handler`` with ``processor``; None rewires from the environment on next use."""
    global _processor
    _processor = processor


def _process_batch(
    event: dict[str, Any], context: Any, processor: Callable[[], MessageProcessor]
) -> PartialItemFailureResponse:
    # The batch processor holds the batch's records and outcomes: one per invocation, so
    # concurrent invocations cannot mix them. A failed message fails only the rest of its
    # own group: other groups keep flowing.
    batch = SqsFifoPartialProcessor(skip_group_on_error=True)

    def record_handler(record: SQSRecord) -> str:
        handling = processor()
        from cv_processor.processing import IncomingMessage  # loaded with the processor

        group_id = record.attributes.message_group_id or "analytics"
        return handling.process(
            IncomingMessage(message_id=record.message_id, body=record.body, group_id=group_id)
        )

    return process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )


@logger.inject_lambda_context
@emits_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    # Looked up on each record, so ``use`` (and a test's stand-in) takes effect at once.
    return _process_batch(event, context, lambda: message_processor())


def handler_for(processor: Callable[[], MessageProcessor]) -> LambdaHandler:
    """A Lambda handler that runs ``processor()`` (the caller's wiring) instead of the module's."""

    @logger.inject_lambda_context
    @emits_metrics
    def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return _process_batch(event, context, processor)

    return handler
