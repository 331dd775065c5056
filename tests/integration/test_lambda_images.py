"""The processor and reporter images, built from this checkout and invoked through their
Runtime Interface Emulators exactly as Lambda (or the kit's runner) invokes them, against
a real LocalStack provisioned by the kit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.containers import RECIPIENT, function_error, invoke, wait_for
from tests.support.events import load_event

pytestmark = [pytest.mark.requires_docker, pytest.mark.timeout(900)]

BATCH = load_event("sqs_batch_query_response")
REQUEST_ID = json.loads(BATCH["Records"][0]["body"])["requestId"]
BATCH_WEEK = "2025-W47"  # the stored batch was sent on 2025-11-19
SUBJECT = f"CV Analytics Weekly Report - Week {BATCH_WEEK}"


@pytest.fixture(scope="module")
def processed_batch(function_url: Callable[[str], str]) -> Any:
    """The processor image's answer to the stored query+response batch."""
    return invoke(function_url("processor"), BATCH)


def _record(request_id: str) -> dict[str, Any] | None:
    from cv_analytics.aws.clients import aws_client
    from cv_analytics.aws.dynamodb import from_item
    from cv_analytics.records import with_read_fields
    from cv_analytics.settings import ResourceNames

    item = (
        aws_client("dynamodb")
        .get_item(
            TableName=ResourceNames().analytics_table,
            Key={"requestId": {"S": request_id}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    # Status and latency are derived when reading; the stored item holds the halves.
    return with_read_fields(from_item(item)) if item else None


def _emails_with_subject(endpoint: str, subject: str) -> list[Any]:
    from cv_analytics.mailbox import fetch_emails

    return [email for email in fetch_emails(endpoint) if email.subject == subject]


def test_processor_image_acknowledges_the_whole_batch(processed_batch: Any) -> None:
    """GIVEN a real SQS FIFO batch WHEN the processor image handles it THEN no item fails."""
    assert function_error(processed_batch) is None, function_error(processed_batch)
    assert processed_batch == {"batchItemFailures": []}


def test_processor_image_writes_the_correlated_record(processed_batch: Any) -> None:
    """The batch's query and response become one answered record in the analytics table."""
    record = _record(REQUEST_ID)
    assert record is not None, f"no analytics record for {REQUEST_ID}"
    assert record["status"] == "answered"
    assert record["week"] == BATCH_WEEK
    assert record["matchType"] == "full" and record["matchScore"] == 91
    assert record["sourcesUsed"] == ["C#", ".NET", "Azure", "Microservices"]


@pytest.fixture(scope="module")
def requested_report(function_url: Callable[[str], str], processed_batch: Any) -> Any:
    """The reporter image's answer to {"week": ...} for the processed batch's week."""
    return invoke(function_url("reporter"), {"week": BATCH_WEEK})


def test_reporter_image_emails_the_requested_week(localstack: Any, requested_report: Any) -> None:
    """GIVEN a processed week WHEN the reporter image gets {"week": ...} THEN SES has its report."""
    answer = requested_report
    assert function_error(answer) is None, function_error(answer)
    assert answer["week"] == BATCH_WEEK and answer["totalQueries"] == 1
    emails = wait_for(
        lambda: _emails_with_subject(localstack.get_url(), SUBJECT),
        timeout=30,
        what=f"an email '{SUBJECT}'",
    )
    assert RECIPIENT in emails[-1].recipients
    assert "Azure" in emails[-1].text  # a skill the stored response used


def test_reporter_image_on_schedule_does_not_resend_last_week(
    function_url: Callable[[str], str], requested_report: Any
) -> None:
    """The EventBridge scheduled event of Monday 2025-11-24 07:00 is for week 2025-W47, which
    was mailed already (above): the image answers so and sends nothing again."""
    answer = invoke(function_url("reporter"), load_event("scheduled_event"))
    assert function_error(answer) is None, function_error(answer)
    assert (answer["week"], answer["status"]) == (BATCH_WEEK, "already-sent")
    assert requested_report["subject"] == SUBJECT
    assert answer["messageId"] == requested_report["messageId"]
