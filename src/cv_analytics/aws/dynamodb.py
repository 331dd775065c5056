"""DynamoDB adapters for raw events and correlated analytics records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cv_analytics.events import MAX_SESSION_ID_CHARS, QueryEvent, ResponseEvent
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
# DynamoDB's documented item limit (it enforces a little more; moto 405,000 bytes).
MAX_ITEM_BYTES = 400_000
# Each analytics half, with the derived attributes, must fit in half an item, so that any two
# halves fit together. Derived attributes may come from the other half (its sessionId, the
# latency): that much is kept free.
_OTHER_HALF_DERIVED_BYTES = len("sessionId") + 4 * MAX_SESSION_ID_CHARS + 256
MAX_HALF_BYTES = MAX_ITEM_BYTES // 2 - _OTHER_HALF_DERIVED_BYTES
_MAX_NUMBER_BYTES = 21  # 38 significant digits at 2 a byte, plus 1


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


class UnstorableItem(ValueError):
    """DynamoDB can never store this item (too big, a value it refuses); retrying cannot help."""


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size as DynamoDB counts it (names plus values), numbers at their maximum."""
    return sum(_utf8(name) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    [(kind, content)] = value.items()
    if kind == "S":
        return _utf8(content)
    if kind == "N":
        return _MAX_NUMBER_BYTES
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + _utf8(key) + _value_size(element) for key, element in content.items())
    if kind == "SS":
        return sum(_utf8(element) for element in content)
    if kind == "NS":
        return _MAX_NUMBER_BYTES * len(content)
    return sum(len(element) for element in content) if kind == "BS" else len(content)


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _storable_item(attributes: Mapping[str, Any], *, limit: int, what: str) -> dict[str, Any]:
    """``attributes`` as a DynamoDB item, or UnstorableItem if it could never be written."""
    try:
        item = {name: to_attribute(value) for name, value in attributes.items()}
    except (TypeError, ArithmeticError) as exc:  # a number DynamoDB's Decimal context refuses
        raise UnstorableItem(f"{what} has a value DynamoDB cannot store: {exc!r}") from exc
    if (size := item_size(item)) > limit:
        raise UnstorableItem(f"{what} would be {size} bytes; the limit is {limit}")
    return item


@contextmanager
def _refusal_is_permanent() -> Iterator[None]:
    """DynamoDB answers ValidationException for a write that can never succeed: say so."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ValidationException":
            raise UnstorableItem(f"DynamoDB refused the write: {error.get('Message', exc)}") from exc
        raise


class RawEventStore:
    """The ``query-events`` table: every event as received, kept for ``ttl_days``."""

    def __init__(self, *, client: Any, table_name: str, ttl_days: int) -> None:
        self._client = client
        self._table = table_name
        self._ttl_days = ttl_days

    def check(self, *, event: QueryEvent | ResponseEvent, body: str) -> int:
        """The item size in bytes; UnstorableItem if ``put`` could never store this event."""
        return item_size(self._item(event=event, body=body))

    def put(self, *, event: QueryEvent | ResponseEvent, body: str) -> None:
        item = self._item(event=event, body=body)
        with _refusal_is_permanent():
            self._client.put_item(TableName=self._table, Item=item)

    def _item(self, *, event: QueryEvent | ResponseEvent, body: str) -> dict[str, Any]:
        # Keyed by the event's identity, so a redelivered message overwrites itself.
        attributes = {
            "requestId": event.requestId,
            "eventKey": f"{event.eventType}#{event.timestamp}",
            "eventType": event.eventType,
            "timestamp": event.timestamp,
            "body": body,
            "expiresAt": event.timestamp // 1000 + self._ttl_days * _SECONDS_PER_DAY,
        }
        return _storable_item(attributes, limit=MAX_ITEM_BYTES, what="the raw event item")


class MergeConflict(RuntimeError):
    """The record kept changing under us; retrying the message later is safe."""


class AnalyticsStore:
    """The ``analytics`` table: one correlated record per requestId."""

    def __init__(self, *, client: Any, table_name: str, ttl_days: int) -> None:
        self._client = client
        self._table = table_name
        self._ttl_days = ttl_days

    def check(self, event: QueryEvent | ResponseEvent) -> int:
        """The size of ``event``'s half of its record; UnstorableItem unless it always fits.

        Each half, with what derives from it, must fit in half an item, so that the
        merged record fits whatever the other half holds.
        """
        half = {name: value for name, value in half_of(event).items() if value is not None}
        try:
            derived = derive(half, ttl_days=self._ttl_days)
        except (ValueError, OverflowError) as exc:
            raise UnstorableItem(f"the record's week or expiry cannot be derived: {exc}") from exc
        attributes = {"requestId": event.requestId, **half}
        attributes |= {name: value for name, value in derived.items() if value is not None}
        item = _storable_item(
            attributes, limit=MAX_HALF_BYTES, what=f"the {event.eventType} half of the record"
        )
        return item_size(item)

    def record(self, event: QueryEvent | ResponseEvent) -> dict[str, Any]:
        """Merge ``event`` into its record and return the record as stored.

        Raises UnstorableItem when DynamoDB refuses a write as invalid.
        """
        with _refusal_is_permanent():
            return self._merge(event)

    def _merge(self, event: QueryEvent | ResponseEvent) -> dict[str, Any]:
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
