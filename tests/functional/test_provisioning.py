"""Provisioning against the emulator: shapes as defined in infra/resources.toml, idempotent."""

from __future__ import annotations

import json

import pytest

from cv_analytics.provisioning import ProvisioningError, provision
from cv_analytics.resources import load_resources

SPEC = load_resources()


def _queue_attributes(stack, url: str) -> dict[str, str]:
    return stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_provision_queue_is_fifo_with_redrive_to_dlq(stack):
    """The main queue is FIFO, content-deduplicated, and redrives to the DLQ after 3 receives."""
    attributes = _queue_attributes(stack, stack.resources.queue_url)
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["MessageRetentionPeriod"] == "1209600"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.resources.dlq_arn
    assert int(redrive["maxReceiveCount"]) == 3


def test_provision_visibility_timeout_is_six_times_processor_timeout(stack):
    """The visibility timeout leaves room for six processor attempts, as AWS advises."""
    attributes = _queue_attributes(stack, stack.resources.queue_url)
    assert int(attributes["VisibilityTimeout"]) == 6 * SPEC.processor.timeout_seconds


def test_provision_dlq_is_fifo(stack):
    """The DLQ is FIFO too (a FIFO queue can only redrive to a FIFO queue)."""
    assert _queue_attributes(stack, stack.resources.dlq_url)["FifoQueue"] == "true"


def test_provision_tables_have_keys_index_and_ttl(stack):
    """Both tables are on-demand with the defined keys, the week index, and TTL enabled."""
    dynamodb = stack.client("dynamodb")
    analytics = dynamodb.describe_table(TableName=stack.names.analytics_table)["Table"]
    assert analytics["KeySchema"] == [{"AttributeName": "requestId", "KeyType": "HASH"}]
    assert analytics["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = analytics["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "week-index"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["week", "timestamp"]
    raw = dynamodb.describe_table(TableName=stack.names.query_events_table)["Table"]
    assert [k["AttributeName"] for k in raw["KeySchema"]] == ["requestId", "eventKey"]
    for table in (stack.names.analytics_table, stack.names.query_events_table):
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expiresAt"


def test_provision_reports_table_is_keyed_by_week_with_ttl(stack):
    """The send-record table is on-demand, keyed by the ISO week, with TTL enabled."""
    dynamodb = stack.client("dynamodb")
    reports = dynamodb.describe_table(TableName=stack.names.reports_table)["Table"]
    assert reports["KeySchema"] == [{"AttributeName": "week", "KeyType": "HASH"}]
    assert reports["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=stack.names.reports_table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expiresAt"
    assert stack.resources.reports_table == stack.names.reports_table


def test_provision_schedule_rule_is_monday_0700_utc(stack):
    """The report rule exists, enabled, with the production cron expression."""
    rule = stack.client("events").describe_rule(Name=stack.names.report_rule_name)
    assert rule["ScheduleExpression"] == "cron(0 7 ? * MON *)"
    assert rule["State"] == "ENABLED"


def test_provision_verifies_sender_identity(stack):
    """The sender address is an SES identity."""
    identities = stack.client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    assert stack.sender in identities


def test_provision_twice_changes_nothing(stack):
    """Running provisioning again returns the same resources and keeps their data."""
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="{}", MessageGroupId="g")
    again = provision(names=stack.names, spec=stack.spec, sender_email=stack.sender)
    assert again == stack.resources
    attributes = _queue_attributes(stack, stack.resources.queue_url)
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_provision_refuses_table_with_other_keys(stack):
    """A same-named table with different keys is reported, not silently reused."""
    stack.client("dynamodb").delete_table(TableName=stack.names.analytics_table)
    stack.client("dynamodb").create_table(
        TableName=stack.names.analytics_table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ProvisioningError, match="keys cannot change in place"):
        provision(names=stack.names, spec=stack.spec)
