"""The processor on real SQS records from the emulator, fed by the kit's event-source runner."""

from __future__ import annotations

import json
import uuid

import pytest

from cv_analytics.resources import load_resources
from tests.functional.support import (
    drain,
    processor_source,
    query_event,
    queue_depth,
    queue_messages,
    raw_items,
    record_item,
    response_event,
    send_raw,
)

QUERY_AT = 1_763_980_000_000  # 2025-11-24 (a Monday) 10:26:40 UTC, ISO week 2025-W48


def test_processor_query_then_response_correlates(stack):
    """A query and its response become one answered record with every documented attribute."""
    rid = str(uuid.uuid4())
    send_raw(stack, query_event(rid, timestamp=QUERY_AT))
    send_raw(stack, response_event(rid, timestamp=QUERY_AT + 850, sources=["Python", "AWS"]))
    drain(processor_source(stack), expected=2)
    record = record_item(stack, rid)
    assert record["status"] == "answered"
    assert record["week"] == "2025-W48"
    assert record["timestamp"] == QUERY_AT
    assert record["latencyMs"] == 850
    assert record["matchType"] == "full" and record["matchScore"] == 95
    assert record["sourcesUsed"] == ["Python", "AWS"]
    assert record["query"] == "Do you have Python experience?"
    assert record["sessionId"] == "session-1"
    assert record["userAgent"] == "Mozilla/5.0" and record["referer"] == "https://cv.example.com/"
    assert record["vectorMatches"] == 3
    assert record["expiresAt"] == QUERY_AT // 1000 + 90 * 86_400


def test_processor_response_before_query_converges(stack):
    """A response that arrives first yields the same record as the usual order."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    send_raw(stack, query_event(first, timestamp=QUERY_AT))
    send_raw(stack, response_event(first, timestamp=QUERY_AT + 500))
    send_raw(stack, response_event(second, timestamp=QUERY_AT + 500))
    send_raw(stack, query_event(second, timestamp=QUERY_AT))
    drain(processor_source(stack), expected=4)
    normal, reversed_ = record_item(stack, first), record_item(stack, second)
    normal.pop("requestId"), reversed_.pop("requestId")
    assert reversed_ == normal
    assert normal["status"] == "answered"


def test_processor_response_without_query_awaits_query(stack):
    """A lone response is kept, marked awaiting_query, and dated by its own timestamp."""
    rid = str(uuid.uuid4())
    send_raw(stack, response_event(rid, timestamp=QUERY_AT))
    drain(processor_source(stack), expected=1)
    record = record_item(stack, rid)
    assert record["status"] == "awaiting_query"
    assert record["week"] == "2025-W48"
    assert "latencyMs" not in record


def test_processor_redelivery_changes_nothing(stack):
    """The same events delivered again leave the record and raw events exactly as they were."""
    rid = str(uuid.uuid4())
    events = [query_event(rid, timestamp=QUERY_AT), response_event(rid, timestamp=QUERY_AT + 700)]
    for event in events:
        send_raw(stack, event)
    drain(processor_source(stack), expected=2)
    before, raw_before = record_item(stack, rid), raw_items(stack, rid)
    for event in reversed(events):
        send_raw(stack, event)
    drain(processor_source(stack), expected=2)
    assert record_item(stack, rid) == before
    assert raw_items(stack, rid) == raw_before


def test_processor_stores_raw_events_with_ttl(stack):
    """Every event is kept verbatim in query-events with a 7-day expiry."""
    rid = str(uuid.uuid4())
    body = json.dumps(query_event(rid, timestamp=QUERY_AT) | {"futureField": {"kept": True}})
    send_raw(stack, body)
    drain(processor_source(stack), expected=1)
    [raw] = raw_items(stack, rid)
    assert raw["body"] == body
    assert raw["eventKey"] == f"query#{QUERY_AT}"
    assert raw["expiresAt"] == QUERY_AT // 1000 + 7 * 86_400


@pytest.mark.parametrize(
    ("body", "reason_fragment", "kind"),
    [
        ("this is not json", "not JSON", "not-json"),
        (
            json.dumps({"eventType": "query", "requestId": "r-1", "timestamp": "yesterday", "query": "hi"}),
            "timestamp",
            "invalid-event",
        ),
    ],
    ids=["not-json", "invalid-field"],
)
def test_processor_poison_message_parks_in_dlq_without_blocking_group(stack, body, reason_fragment, kind):
    """A message that can never succeed goes to the DLQ with its reason and kind; its group flows on."""
    rid = str(uuid.uuid4())
    send_raw(stack, body)
    send_raw(stack, query_event(rid, timestamp=QUERY_AT))
    outcomes = drain(processor_source(stack), expected=2)
    assert sum(o.failed for o in outcomes) == 0
    assert record_item(stack, rid)["status"] == "awaiting_response"
    assert queue_depth(stack, stack.resources.queue_url) == 0
    [parked] = queue_messages(stack, stack.resources.dlq_url)
    assert parked["Body"] == body
    assert reason_fragment in parked["MessageAttributes"]["errorReason"]["StringValue"]
    assert parked["MessageAttributes"]["errorKind"]["StringValue"] == kind
    assert parked["Attributes"]["MessageGroupId"] == "analytics"


FAST_RETRY = load_resources().model_copy(
    update={
        "processor": load_resources().processor.model_copy(
            update={"timeout_seconds": 1, "visibility_timeout_factor": 1}
        )
    }
)


@pytest.mark.parametrize("stack_spec", [FAST_RETRY], ids=["visibility-1s"])
def test_processor_transient_failure_retries_then_redrives(stack, monkeypatch):
    """A failure that might pass is reported, retried by SQS, and redriven after 3 receives."""
    monkeypatch.setenv("ANALYTICS_TABLE", "table-that-is-not-there")
    rid = str(uuid.uuid4())
    send_raw(stack, query_event(rid, timestamp=QUERY_AT))
    source = processor_source(stack)
    outcomes = drain(source, expected=3, timeout=30)
    assert [o.failed for o in outcomes] == [1, 1, 1]
    redriven = _wait_for_dlq(stack)
    assert json.loads(redriven["Body"])["requestId"] == rid
    assert int(redriven["Attributes"]["ApproximateReceiveCount"]) >= 3
    assert queue_depth(stack, stack.resources.queue_url) == 0


def _wait_for_dlq(stack, *, timeout: float = 15.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # SQS moves a message to the DLQ when a receive would exceed maxReceiveCount.
        queue_messages(stack, stack.resources.queue_url, wait=1)
        if parked := queue_messages(stack, stack.resources.dlq_url, wait=0):
            return parked[0]
    raise AssertionError("message never reached the DLQ")


class _FlakyFor:
    """Wraps the real processor, failing transiently for one requestId."""

    def __init__(self, real, failing_request_id: str) -> None:
        self.real, self.failing = real, failing_request_id

    def process(self, message):
        if self.failing in message.body:
            raise ConnectionError("DynamoDB endpoint unreachable")
        return self.real.process(message)


def test_processor_failure_holds_only_its_own_group(stack, monkeypatch):
    """A transient failure fails the rest of its FIFO group; other groups are processed and deleted."""
    import cv_processor.handler as handler

    stuck, stuck_later, free = (str(uuid.uuid4()) for _ in range(3))
    flaky = _FlakyFor(handler.message_processor(), stuck)
    monkeypatch.setattr(handler, "message_processor", lambda: flaky)
    send_raw(stack, query_event(stuck, timestamp=QUERY_AT), group="group-a")
    send_raw(stack, query_event(stuck_later, timestamp=QUERY_AT), group="group-a")
    send_raw(stack, query_event(free, timestamp=QUERY_AT), group="group-b")
    outcomes = drain(processor_source(stack), expected=3)
    assert sum(o.failed for o in outcomes) == 2
    assert record_item(stack, free)["status"] == "awaiting_response"
    assert record_item(stack, stuck) is None and record_item(stack, stuck_later) is None
    assert queue_depth(stack, stack.resources.queue_url) == 2


# --- permanent is permanent: parked at once, with a reason, leaving no row ---------------------


def _parked_once(stack, body: str) -> dict:
    """Process ``body`` and a healthy event behind it in the same group; return the DLQ entry."""
    healthy = str(uuid.uuid4())
    send_raw(stack, body)
    send_raw(stack, query_event(healthy, timestamp=QUERY_AT))
    outcomes = drain(processor_source(stack), expected=2)
    assert sum(o.failed for o in outcomes) == 0
    assert record_item(stack, healthy)["status"] == "awaiting_response"
    assert queue_depth(stack, stack.resources.queue_url) == 0
    [parked] = queue_messages(stack, stack.resources.dlq_url)
    assert parked["Body"] == body
    assert parked["Attributes"]["ApproximateReceiveCount"] == "1"
    return parked


def _attribute(parked: dict, name: str) -> str:
    return parked["MessageAttributes"][name]["StringValue"]


@pytest.mark.parametrize(
    ("timestamp_json", "error_fragment"),
    [("1e30", "valid integer"), (str(2**63), "at most one day after the current time")],
    ids=["1e30", "2**63"],
)
def test_processor_timestamp_out_of_range_parked_without_row(stack, timestamp_json, error_fragment):
    """A timestamp of 1e30 or 2**63 is parked at once as invalid-event, naming timestamp; no row."""
    rid = str(uuid.uuid4())
    body = f'{{"eventType":"query","requestId":"{rid}","timestamp":{timestamp_json},"query":"hi"}}'

    parked = _parked_once(stack, body)

    assert _attribute(parked, "errorKind") == "invalid-event"
    assert "query.timestamp: " in _attribute(parked, "errorReason")
    assert error_fragment in _attribute(parked, "errorReason")
    assert record_item(stack, rid) is None and raw_items(stack, rid) == []


def test_processor_non_finite_extra_field_parked_without_row(stack):
    """A worker message with NaN in an unknown field gets the API's limits: parked, no row."""
    rid = str(uuid.uuid4())
    body = json.dumps(query_event(rid, timestamp=QUERY_AT))[:-1] + ', "score": NaN}'

    parked = _parked_once(stack, body)

    assert _attribute(parked, "errorKind") == "invalid-event"
    assert "query.score: Input should be a finite number" in _attribute(parked, "errorReason")
    assert record_item(stack, rid) is None and raw_items(stack, rid) == []


def _padded_body(rid: str, *, size: int) -> str:
    """A valid worker event whose JSON text is padded with whitespace to ``size`` bytes."""
    compact = json.dumps(query_event(rid, timestamp=QUERY_AT))
    return compact[:-1] + " " * (size - len(compact)) + "}"


def test_processor_item_too_big_parked_without_row(stack):
    """A body that would make a raw item over 400 KB is parked at once as unstorable; no row."""
    rid = str(uuid.uuid4())

    parked = _parked_once(stack, _padded_body(rid, size=420_000))

    assert _attribute(parked, "errorKind") == "unstorable"
    assert "the limit is 400000" in _attribute(parked, "errorReason")
    assert record_item(stack, rid) is None and raw_items(stack, rid) == []


def test_processor_dynamodb_validation_exception_parked(stack, monkeypatch):
    """A write DynamoDB refuses with ValidationException is parked as unstorable with its message."""
    import cv_analytics.aws.dynamodb as dynamodb

    monkeypatch.setattr(dynamodb, "MAX_ITEM_BYTES", 10_000_000)  # let the write reach DynamoDB
    rid = str(uuid.uuid4())

    parked = _parked_once(stack, _padded_body(rid, size=420_000))

    assert _attribute(parked, "errorKind") == "unstorable"
    assert "DynamoDB refused the write: Item size has exceeded" in _attribute(parked, "errorReason")
    assert record_item(stack, rid) is None and raw_items(stack, rid) == []


# --- PII redaction ----------------------------------------------------------------------------

_PII_QUERY = "Can I email jane.doe@example.com or call +44 20 7946 0958 about Python 3.11?"
_REDACTED_QUERY = "Can I email [email] or call [phone] about Python 3.11?"


def test_processor_redacts_query_in_both_tables(stack):
    """A worker message with an email and a phone number is stored redacted in both tables."""
    rid = str(uuid.uuid4())
    event = query_event(rid, timestamp=QUERY_AT, query=_PII_QUERY) | {"futureField": [1, 2.5, None]}
    send_raw(stack, json.dumps(event))
    drain(processor_source(stack), expected=1)
    assert record_item(stack, rid)["query"] == _REDACTED_QUERY
    [raw] = raw_items(stack, rid)
    assert "jane.doe" not in raw["body"] and "7946" not in raw["body"]
    assert json.loads(raw["body"]) == event | {"query": _REDACTED_QUERY}


def test_processor_redacts_reasoning(stack):
    """An email quoted in a response's reasoning is redacted in the record and the raw body."""
    rid = str(uuid.uuid4())
    event = response_event(rid, timestamp=QUERY_AT) | {"reasoning": "Asked to mail bob@example.org"}
    send_raw(stack, json.dumps(event))
    drain(processor_source(stack), expected=1)
    assert record_item(stack, rid)["reasoning"] == "Asked to mail [email]"
    [raw] = raw_items(stack, rid)
    assert json.loads(raw["body"])["reasoning"] == "Asked to mail [email]"


def test_processor_redaction_off_keeps_text(stack, monkeypatch):
    """With PII_REDACTION=off the query and the raw body are stored verbatim."""
    monkeypatch.setenv("PII_REDACTION", "off")
    rid = str(uuid.uuid4())
    body = json.dumps(query_event(rid, timestamp=QUERY_AT, query=_PII_QUERY))
    send_raw(stack, body)
    drain(processor_source(stack), expected=1)
    assert record_item(stack, rid)["query"] == _PII_QUERY
    assert raw_items(stack, rid)[0]["body"] == body
