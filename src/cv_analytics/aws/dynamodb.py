"""DynamoDB adapters for raw events and correlated analytics records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cv_analytics.events import MAX_SESSION_ID_CHARS, QueryEvent, ResponseEvent
from cv_analytics.records import AnalyticsRecord, RecordUpdate, expires_at
from cv_analytics.resources import week_index
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# DynamoDB's documented item limit (it enforces a little more; moto 405,000 bytes).
MAX_ITEM_BYTES = 400_000
# Each event's write to its analytics record (its half, with the dating fields) must fit in
# half an item, so that any two fit together. The record's sessionId may come from the other
# half: that much is kept free.
_OTHER_HALF_DERIVED_BYTES = len("sessionId") + 4 * MAX_SESSION_ID_CHARS + 256
MAX_HALF_BYTES = MAX_ITEM_BYTES // 2 - _OTHER_HALF_DERIVED_BYTES
_MAX_NUMBER_BYTES = 21  # 38 significant digits at 2 a byte, plus 1


def to_attribute(value: Any) -> AttributeValueTypeDef:
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


def _dynamodb_client(client: DynamoDBClient | None) -> DynamoDBClient:
    """``client``, or a new one when none was injected (looked up now, so tests may swap it)."""
    from cv_analytics.aws.clients import aws_client

    return client if client is not None else aws_client("dynamodb")


class RawEventStore:
    """The ``query-events`` table: every event as received, kept for ``ttl_days``."""

    def __init__(self, *, client: DynamoDBClient | None = None, table_name: str, ttl_days: int) -> None:
        self._dynamodb = client
        self._table = table_name
        self._ttl_days = ttl_days

    @property
    def _client(self) -> DynamoDBClient:
        self._dynamodb = _dynamodb_client(self._dynamodb)
        return self._dynamodb

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
            "expiresAt": expires_at(event.timestamp // 1000, ttl_days=self._ttl_days),
        }
        return _storable_item(attributes, limit=MAX_ITEM_BYTES, what="the raw event item")


class AnalyticsStore:
    """The ``analytics`` table: one correlated record per requestId.

    It stores and fetches, nothing more: what an event writes into its record is decided in
    ``cv_analytics.records`` (``record_update``), and the caller runs that policy.
    """

    def __init__(self, *, client: DynamoDBClient | None = None, table_name: str) -> None:
        self._dynamodb = client
        self._table = table_name

    @property
    def _client(self) -> DynamoDBClient:
        self._dynamodb = _dynamodb_client(self._dynamodb)
        return self._dynamodb

    def check(self, update: RecordUpdate) -> int:
        """The size of what ``update`` writes; UnstorableItem unless it always fits.

        Each event's write must fit in half an item, so that the merged record fits
        whatever the other half holds.
        """
        attributes = {"requestId": update.request_id, **update.written()}
        item = _storable_item(attributes, limit=MAX_HALF_BYTES, what="the event's part of its record")
        return item_size(item)

    def write(self, update: RecordUpdate) -> None:
        """Apply ``update`` in one UpdateItem; UnstorableItem if DynamoDB refuses it as invalid."""
        self.merge(update)

    def merge(self, update: RecordUpdate) -> dict[str, Any]:
        """``write``, returning the record as it was just before (empty if there was none).

        The old image comes back with the same UpdateItem (ReturnValues=ALL_OLD), which
        consumes no read capacity.
        """
        with _refusal_is_permanent():
            response = self._client.update_item(
                TableName=self._table,
                Key={"requestId": to_attribute(update.request_id)},
                ReturnValues="ALL_OLD",
                **_update_expression(update),
            )
        return from_item(response.get("Attributes", {}))

    def records_for_week(self, week: IsoWeek) -> list[AnalyticsRecord]:
        """All records of ``week``, read through the week index (a Query, never a Scan)."""
        return [AnalyticsRecord.from_item(item) for item in self._query_week(str(week))]

    def _query_week(self, week: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=week_index(),
            KeyConditionExpression="#week = :week",
            ExpressionAttributeNames={"#week": "week"},
            ExpressionAttributeValues={":week": to_attribute(week)},
        )
        for page in pages:
            for item in page["Items"]:
                yield from_item(item)


def _update_expression(update: RecordUpdate) -> dict[str, Any]:
    """``update`` as DynamoDB's UpdateExpression, with every name and value a placeholder."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    assignments = []
    for number, (name, value) in enumerate(update.set.items()):
        names[f"#s{number}"], values[f":s{number}"] = name, to_attribute(value)
        assignments.append(f"#s{number} = :s{number}")
    for number, (name, value) in enumerate(update.set_if_absent.items()):
        names[f"#d{number}"], values[f":d{number}"] = name, to_attribute(value)
        assignments.append(f"#d{number} = if_not_exists(#d{number}, :d{number})")
    for number, name in enumerate(update.remove):
        names[f"#r{number}"] = name
    clauses = [f"SET {', '.join(assignments)}"] if assignments else []
    if update.remove:
        clauses.append("REMOVE " + ", ".join(f"#r{number}" for number in range(len(update.remove))))
    return {
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": names,
        **({"ExpressionAttributeValues": values} if values else {}),
    }
