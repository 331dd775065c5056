"""Helpers for functional tests: talk to the stack's queues and run the processor on them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from cv_analytics.runner.sqs_source import BatchOutcome, SqsEventSource
from cv_analytics_cli.functions import in_process_invokers


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


def query_event(
    request_id: str,
    *,
    timestamp: int,
    query: str = "Do you have Python experience?",
    session: str | None = "session-1",
) -> dict[str, Any]:
    event = {
        "eventType": "query",
        "requestId": request_id,
        "timestamp": timestamp,
        "query": query,
        "metadata": {"userAgent": "Mozilla/5.0", "referer": "https://cv.example.com/"},
    }
    if session:
        event["sessionId"] = session
    return event


def response_event(
    request_id: str,
    *,
    timestamp: int,
    match_type: str = "full",
    score: int = 95,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": "response",
        "requestId": request_id,
        "timestamp": timestamp,
        "matchType": match_type,
        "matchScore": score,
        "reasoning": f'Excellent match: "Python" with {score / 100:.2f} similarity',
        "vectorMatches": 3,
        "sessionId": "session-1",
        "metadata": {"matchQuality": score / 100, "sourcesUsed": sources or ["Python"]},
    }
