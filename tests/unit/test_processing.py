"""MessageProcessor's policy with in-memory stores: what is written, in which order, and when not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cv_analytics.aws.dynamodb import UnstorableItem
from cv_analytics.aws.sqs import DeadLetter
from cv_analytics.events import QueryEvent, ResponseEvent
from cv_analytics.records import RecordUpdate, with_read_fields
from cv_processor.processing import IncomingMessage, MessageProcessor
from tests.support.events import load_event


class MemoryRawEvents:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def check(self, *, event: QueryEvent | ResponseEvent, body: str) -> int:
        return len(body)

    def put(self, *, event: QueryEvent | ResponseEvent, body: str) -> None:
        self.bodies.append(body)


class MemoryRecords:
    """Applies each update the way DynamoDB's UpdateItem does (RecordUpdate.applied_to)."""

    def __init__(self, *, limit: int = 10**9) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self._limit = limit

    def check(self, update: RecordUpdate) -> int:
        size = len(json.dumps(update.written()))
        if size > self._limit:
            raise UnstorableItem(f"the update would be {size} bytes")
        return size

    def write(self, update: RecordUpdate) -> None:
        self.writes += 1
        self.items[update.request_id] = update.applied_to(self.items.get(update.request_id, {}))


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def park(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


def _processor(records: MemoryRecords | None = None) -> tuple[MessageProcessor, MemoryRawEvents, Any, Any]:
    raw, dead = MemoryRawEvents(), MemoryDeadLetters()
    records = records or MemoryRecords()
    processor = MessageProcessor(raw_events=raw, records=records, dead_letters=dead, record_ttl_days=90)
    return processor, raw, records, dead


def _message(body: str, number: int = 1) -> IncomingMessage:
    return IncomingMessage(message_id=f"m-{number}", body=body, group_id="analytics")


QUERY, RESPONSE = json.dumps(load_event("query_event")), json.dumps(load_event("response_event"))
REQUEST_ID = load_event("query_event")["requestId"]


@pytest.mark.parametrize(
    "order", [(QUERY, RESPONSE), (RESPONSE, QUERY)], ids=["query-first", "response-first"]
)
def test_process_pair_writes_one_answered_record(order):
    """Both orders give one answered record, one raw event and one record write per message."""
    processor, raw, records, dead = _processor()

    outcomes = [processor.process(_message(body, n)) for n, body in enumerate(order)]

    assert outcomes == ["recorded", "recorded"]
    assert (len(raw.bodies), records.writes, dead.letters) == (2, 2, [])
    record = with_read_fields(records.items[REQUEST_ID])
    assert (record["status"], record["latencyMs"], record["week"]) == ("answered", 1873, "2025-W47")


def test_process_not_json_parked_without_writes():
    """Text that is not JSON is parked as not-json and nothing is written."""
    processor, raw, records, dead = _processor()

    assert processor.process(_message("{oops")) == "parked"

    assert (raw.bodies, records.items) == ([], {})
    assert [letter.kind for letter in dead.letters] == ["not-json"]


def test_process_unstorable_update_parked_before_raw_write():
    """An update the record store refuses at check time is parked; not even the raw event is written."""
    processor, raw, records, dead = _processor(MemoryRecords(limit=10))

    assert processor.process(_message(QUERY)) == "parked"

    assert (raw.bodies, records.writes) == ([], 0)
    assert [letter.kind for letter in dead.letters] == ["unstorable"]
