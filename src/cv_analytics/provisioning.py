"""Create or update, idempotently, the pipeline's resources on whatever endpoint boto3 targets.

Lambda functions and event source mappings are deliberately not created: on emulators
the kit's event-source runner plays their part, and on AWS Terraform owns them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cv_analytics.aws.clients import aws_client
from cv_analytics.resources import IndexSpec, QueueSpec, ResourceSpec, TableSpec, load_resources
from cv_analytics.settings import ResourceNames

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        GlobalSecondaryIndexTypeDef,
        KeySchemaElementTypeDef,
        TableDescriptionTypeDef,
    )
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    QueueAttributes = dict[QueueAttributeNameType, str]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionedResources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    query_events_table: str
    analytics_table: str
    rule_arn: str
    sender_identity: str | None
    reports_table: str


class ProvisioningError(RuntimeError):
    """An existing resource has a shape that cannot be updated in place."""


def provision(
    *,
    names: ResourceNames | None = None,
    spec: ResourceSpec | None = None,
    sender_email: str | None = None,
    sqs: SQSClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    events: EventBridgeClient | None = None,
    ses: SESClient | None = None,
) -> ProvisionedResources:
    """Every resource of ``spec`` under ``names``; clients not passed are built here."""
    names = names or ResourceNames()
    spec = spec or load_resources()
    sqs = sqs or aws_client("sqs")
    dynamodb = dynamodb or aws_client("dynamodb")
    events = events or aws_client("events")
    dlq_url, dlq_arn = _ensure_queue(sqs, name=names.dlq_name, spec=spec.dead_letter_queue)
    queue_url, queue_arn = _ensure_queue(
        sqs, name=names.queue_name, spec=spec.queue, extra=_main_queue_attributes(spec, dlq_arn)
    )
    _allow_redrive_from(sqs, dlq_url=dlq_url, source_arn=queue_arn)
    _ensure_table(dynamodb, name=names.query_events_table, spec=spec.tables.query_events)
    _ensure_table(dynamodb, name=names.analytics_table, spec=spec.tables.analytics)
    _ensure_table(dynamodb, name=names.reports_table, spec=spec.tables.reports)
    rule_arn = _ensure_schedule(events, name=names.report_rule_name, expression=spec.schedule.expression)
    identity = None
    if sender_email:
        ses = ses or aws_client("ses")
        ses.verify_email_identity(EmailAddress=sender_email)
        identity = sender_email
    return ProvisionedResources(
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
        names.query_events_table,
        names.analytics_table,
        rule_arn,
        identity,
        names.reports_table,
    )


def _main_queue_attributes(spec: ResourceSpec, dlq_arn: str) -> QueueAttributes:
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.dead_letter_queue.max_receive_count}
    return {
        "VisibilityTimeout": str(spec.processor.visibility_timeout_seconds),
        "RedrivePolicy": json.dumps(redrive),
    }


def _ensure_queue(
    sqs: SQSClient, *, name: str, spec: QueueSpec, extra: QueueAttributes | None = None
) -> tuple[str, str]:
    attributes: QueueAttributes = {
        "ContentBasedDeduplication": str(spec.content_based_deduplication).lower(),
        "MessageRetentionPeriod": str(spec.message_retention_seconds),
        "ReceiveMessageWaitTimeSeconds": str(spec.receive_wait_time_seconds),
        **(extra or {}),
    }
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if "NonExistentQueue" not in exc.response["Error"]["Code"]:
            raise
        url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"]
        log.info("created queue %s", name)
    else:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        log.info("updated queue %s", name)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _allow_redrive_from(sqs: SQSClient, *, dlq_url: str, source_arn: str) -> None:
    policy = {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": json.dumps(policy)})


def _ensure_table(dynamodb: DynamoDBClient, *, name: str, spec: TableSpec) -> None:
    try:
        existing = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        dynamodb.create_table(TableName=name, **table_definition(spec))
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        log.info("created table %s", name)
    else:
        _check_keys(existing, spec)
        _add_missing_indexes(dynamodb, existing, spec)
    _enable_ttl(dynamodb, name=name, attribute=spec.ttl_attribute)


def table_definition(spec: TableSpec) -> dict[str, Any]:
    """CreateTable's arguments for ``spec`` (all but TableName)."""
    attributes = {spec.partition_key.name: spec.partition_key.type}
    if spec.sort_key:
        attributes[spec.sort_key.name] = spec.sort_key.type
    for gsi in spec.global_secondary_indexes:
        attributes[gsi.partition_key.name] = gsi.partition_key.type
        if gsi.sort_key:
            attributes[gsi.sort_key.name] = gsi.sort_key.type
    definition: dict[str, Any] = {
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(spec.partition_key.name, spec.sort_key.name if spec.sort_key else None),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
    }
    if spec.global_secondary_indexes:
        definition["GlobalSecondaryIndexes"] = [
            _index_definition(gsi) for gsi in spec.global_secondary_indexes
        ]
    return definition


def _key_schema(partition: str, sort: str | None) -> list[KeySchemaElementTypeDef]:
    schema: list[KeySchemaElementTypeDef] = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema


def _index_definition(gsi: IndexSpec) -> GlobalSecondaryIndexTypeDef:
    return {
        "IndexName": gsi.name,
        "KeySchema": _key_schema(gsi.partition_key.name, gsi.sort_key.name if gsi.sort_key else None),
        "Projection": {"ProjectionType": "ALL"},
    }


def _check_keys(existing: TableDescriptionTypeDef, spec: TableSpec) -> None:
    wanted = _key_schema(spec.partition_key.name, spec.sort_key.name if spec.sort_key else None)
    if existing.get("KeySchema") != wanted:
        raise ProvisioningError(
            f"table {existing.get('TableName')} has keys {existing.get('KeySchema')}, expected {wanted}; "
            "keys cannot change in place: delete the table or use another name"
        )


def _add_missing_indexes(
    dynamodb: DynamoDBClient, existing: TableDescriptionTypeDef, spec: TableSpec
) -> None:
    present = {gsi["IndexName"] for gsi in existing.get("GlobalSecondaryIndexes", [])}
    definition = table_definition(spec)
    for gsi in spec.global_secondary_indexes:
        if gsi.name in present:
            continue
        dynamodb.update_table(
            TableName=existing["TableName"],
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": _index_definition(gsi)}],
        )
        log.info("added index %s to %s", gsi.name, existing["TableName"])


def _enable_ttl(dynamodb: DynamoDBClient, *, name: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def _ensure_schedule(events: EventBridgeClient, *, name: str, expression: str) -> str:
    response = events.put_rule(
        Name=name,
        ScheduleExpression=expression,
        State="ENABLED",
        Description="Weekly CV chatbot analytics report",
    )
    return response["RuleArn"]
