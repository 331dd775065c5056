"""DynamoDB adapters for raw events and correlated analytics records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cv_analytics.events import QueryEvent, ResponseEvent
from cv_analytics.records import (
    DERIVED_ATTRIBUTES,
    AnalyticsRecord,
    derive,
    half_of,
)
from cv_analytics.resources import WEEK_INDEX
from cv_analytics.weeks import IsoWeek

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_MERGE_ATTEMPTS = 8
_SECONDS_PER_DAY = 86_400


def to_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        value = Decimal(str(value))
    return _serializer.serialize(value)


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(element) for element in value]
    return value


class RawEventStore:
    """The ``query-events`` table: every event as received, kept for ``ttl_days``."""

    def __init__(self, *, client: Any, table_name: str, ttl_days: int) -> None:
        self._client = client
        self._table = table_name
        self._ttl_days = ttl_days

    def put(self, *, event: QueryEvent | ResponseEvent, body: str) -> None:
        # Keyed by the event's identity, so a redelivered message overwrites itself.
        item = {
            "requestId": event.requestId,
            "eventKey": f"{event.eventType}#{event.timestamp}",
            "eventType": event.eventType,
            "timestamp": event.timestamp,
            "body": body,
            "expiresAt": event.timestamp // 1000 + self._ttl_days * _SECONDS_PER_DAY,
        }
        self._client.put_item(TableName=self._table, Item={k: to_attribute(v) for k, v in item.items()})


class MergeConflict(RuntimeError):
    """The record kept changing under us; retrying the message later is safe."""


class AnalyticsStore:
    """The ``analytics`` table: one correlated record per requestId."""

    def __init__(self, *, client: Any, table_name: str, ttl_days: int) -> None:
        self._client = client
        self._table = table_name
        self._ttl_days = ttl_days

    def record(self, event: QueryEvent | ResponseEvent) -> dict[str, Any]:
        """Merge ``event`` into its record and return the record as stored."""
        image = self._write_half(event)
        for _ in range(_MERGE_ATTEMPTS):
            derived = derive(image, ttl_days=self._ttl_days)
            if all(image.get(name) == derived[name] for name in DERIVED_ATTRIBUTES):
                return image
            updated = self._write_derived(event.requestId, image=image, derived=derived)
            image = updated if updated is not None else self._read(event.requestId)
        raise MergeConflict(f"record {event.requestId} kept changing during the merge")

    def _write_half(self, event: QueryEvent | ResponseEvent) -> dict[str, Any]:
        set_values = {k: v for k, v in half_of(event).items() if v is not None}
        response = self._client.update_item(
            TableName=self._table,
            Key={"requestId": to_attribute(event.requestId)},
            **_set_expression(set_values),
            ReturnValues="ALL_NEW",
        )
        return from_item(response["Attributes"])

    def _write_derived(
        self, request_id: str, *, image: Mapping[str, Any], derived: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Write derived fields if both halves are still as seen; None if they changed."""
        removed = [name for name, value in derived.items() if value is None]
        present = {name: value for name, value in derived.items() if value is not None}
        expression = _set_expression(present, remove=removed)
        condition, names, values = _halves_unchanged(image)
        expression["ExpressionAttributeNames"].update(names)
        expression["ExpressionAttributeValues"].update(values)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"requestId": to_attribute(request_id)},
                ConditionExpression=condition,
                ReturnValues="ALL_NEW",
                **expression,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return from_item(response["Attributes"])

    def _read(self, request_id: str) -> dict[str, Any]:
        response = self._client.get_item(
            TableName=self._table,
            Key={"requestId": to_attribute(request_id)},
            ConsistentRead=True,
        )
        return from_item(response["Item"])

    def records_for_week(self, week: IsoWeek) -> list[AnalyticsRecord]:
        """All records of ``week``, read through the week index (a Query, never a Scan)."""
        return [AnalyticsRecord.from_item(item) for item in self._query_week(str(week))]

    def _query_week(self, week: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=WEEK_INDEX,
            KeyConditionExpression="#week = :week",
            ExpressionAttributeNames={"#week": "week"},
            ExpressionAttributeValues={":week": to_attribute(week)},
        )
        for page in pages:
            for item in page["Items"]:
                yield from_item(item)


def _set_expression(values: Mapping[str, Any], *, remove: list[str] | None = None) -> dict:
    names = {f"#{key}": key for key in [*values, *(remove or [])]}
    clauses = []
    if values:
        clauses.append("SET " + ", ".join(f"#{key} = :{key}" for key in values))
    if remove:
        clauses.append("REMOVE " + ", ".join(f"#{key}" for key in remove))
    return {
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":{key}": to_attribute(v) for key, v in values.items()},
    }


def _halves_unchanged(image: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that holds while neither half has appeared or changed since ``image``."""
    parts: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for attribute in ("queryTimestamp", "responseTimestamp"):
        names[f"#{attribute}_c"] = attribute
        if image.get(attribute) is None:
            parts.append(f"attribute_not_exists(#{attribute}_c)")
        else:
            parts.append(f"#{attribute}_c = :{attribute}_c")
            values[f":{attribute}_c"] = to_attribute(image[attribute])
    return " AND ".join(parts), names, values
