"""A provisioned stack (the ``stack`` fixture): send to and read its queues and tables, and
run the processor on them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from cv_analytics.runner.sqs_source import BatchOutcome, SqsEventSource

# Where every test stack lives (the emulators accept any region; one keeps names simple).
REGION = "us-east-1"


def send_raw(stack, body: str | dict[str, Any], *, group: str = "analytics") -> str:
    """Send a message straight to the main queue, as the production worker does."""
    text = body if isinstance(body, str) else json.dumps(body)
    response = stack.client("sqs").send_message(
        QueueUrl=stack.resources.queue_url,
        MessageBody=text,
        MessageGroupId=group,
        MessageDeduplicationId=uuid.uuid4().hex,
    )
    return response["MessageId"]


def processor_source(stack, *, invoker=None) -> SqsEventSource:
    # Imported here: the handlers are wiring, which the conftest importing REGION needs not load.
    from cv_analytics_cli.functions import in_process_invokers

    processor, _ = in_process_invokers()
    return SqsEventSource(
        sqs=stack.client("sqs"),
        queue_url=stack.resources.queue_url,
        invoker=invoker or processor,
        wait_seconds=1,
    )


def drain(source: SqsEventSource, *, expected: int, timeout: float = 30.0) -> list[BatchOutcome]:
    """Poll until ``expected`` messages have been handed to the function (or time runs out)."""
    outcomes: list[BatchOutcome] = []
    deadline = time.monotonic() + timeout
    while sum(o.received for o in outcomes) < expected:
        assert time.monotonic() < deadline, f"only {outcomes} after {timeout}s"
        outcome = source.poll_once()
        if outcome.received:
            outcomes.append(outcome)
    return outcomes


def queue_messages(stack, url: str, *, wait: int = 1) -> list[dict[str, Any]]:
    """Receive (without deleting) whatever is visible on ``url``."""
    response = stack.client("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return response.get("Messages", [])


def queue_depth(stack, url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def record_item(stack, request_id: str) -> dict[str, Any] | None:
    """The stored record with its status and latency, which are derived when read."""
    from cv_analytics.aws.dynamodb import from_item
    from cv_analytics.records import with_read_fields

    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.names.analytics_table, Key={"requestId": {"S": request_id}}, ConsistentRead=True
        )
        .get("Item")
    )
    return with_read_fields(from_item(item)) if item else None


def raw_items(stack, request_id: str) -> list[dict[str, Any]]:
    from cv_analytics.aws.dynamodb import from_item

    items = stack.client("dynamodb").query(
        TableName=stack.names.query_events_table,
        KeyConditionExpression="requestId = :r",
        ExpressionAttributeValues={":r": {"S": request_id}},
    )["Items"]
    return [from_item(item) for item in items]


def wait_for_messages(stack, count: int, *, timeout: float = 10.0) -> list[dict]:
    """Take messages off the queue (deleting them, so later ones in a FIFO group show)."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    sqs = stack.client("sqs")
    while len(seen) < count and time.monotonic() < deadline:
        for message in queue_messages(stack, stack.resources.queue_url, wait=1):
            seen[message["MessageId"]] = message
            sqs.delete_message(QueueUrl=stack.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return list(seen.values())
