"""The processor on real SQS records from the emulator, fed by the kit's event-source runner."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cv_analytics.aws.dynamodb import AnalyticsStore, from_item, to_attribute
from cv_analytics.events import parse_event
from cv_analytics.records import record_update, with_read_fields
from cv_analytics.resources import load_resources
from cv_analytics.runner.invokers import LocalLambdaContext
from cv_analytics.weeks import IsoWeek
from tests.support.events import load_event, query_event, response_event
from tests.support.stack import (
    drain,
    processor_source,
    queue_depth,
    queue_messages,
    raw_items,
    record_item,
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


def test_processor_failure_holds_only_its_own_group(stack):
    """A transient failure fails the rest of its FIFO group; other groups are processed and deleted."""
    import cv_processor.handler as handler

    stuck, stuck_later, free = (str(uuid.uuid4()) for _ in range(3))
    handler.use(_FlakyFor(handler.message_processor(), stuck))
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


# --- one write per event: every order, redelivery, concurrent writers, calls counted ----------

_ORDERS = sorted(set(itertools.permutations(["query", "query", "response", "response"])))


def _pair(rid: str, *, response_delay: int = 500) -> dict[str, Any]:
    """A query and its response as parsed events."""
    return {
        "query": parse_event(query_event(rid, timestamp=QUERY_AT)),
        "response": parse_event(response_event(rid, timestamp=QUERY_AT + response_delay)),
    }


def _store(stack) -> AnalyticsStore:
    return AnalyticsStore(client=stack.client("dynamodb"), table_name=stack.names.analytics_table)


def _stored(stack, rid: str) -> dict[str, Any]:
    item = stack.client("dynamodb").get_item(
        TableName=stack.names.analytics_table, Key={"requestId": {"S": rid}}, ConsistentRead=True
    )["Item"]
    return from_item(item)


def test_analytics_store_write_matches_in_memory_update_in_every_order(stack):
    """DynamoDB stores, after each write of each order, exactly what RecordUpdate.applied_to says."""
    store = _store(stack)
    for order in _ORDERS:
        rid = str(uuid.uuid4())
        events, expected = _pair(rid), {}
        for kind in order:
            update = record_update(events[kind], ttl_days=90)
            store.write(update)
            expected = update.applied_to(expected)
            assert _stored(stack, rid) == expected, order


def test_analytics_store_write_removes_status_stored_by_earlier_versions(stack):
    """A record holding the status and latency an earlier version stored loses them on its next write."""
    rid = str(uuid.uuid4())
    events = _pair(rid)
    legacy = record_update(events["query"], ttl_days=90).applied_to({}) | {"status": "awaiting_response"}
    stack.client("dynamodb").put_item(
        TableName=stack.names.analytics_table, Item={k: to_attribute(v) for k, v in legacy.items()}
    )
    _store(stack).write(record_update(events["response"], ttl_days=90))
    stored = _stored(stack, rid)
    assert "status" not in stored and "latencyMs" not in stored
    assert with_read_fields(stored)["status"] == "answered"


def test_analytics_store_late_query_moves_record_in_week_index(stack):
    """A response-only record found under its own week moves to the query's week when the query lands."""
    rid, sunday = str(uuid.uuid4()), QUERY_AT - 36 * 3_600_000  # Sunday 2025-11-23, in 2025-W47
    store = _store(stack)
    store.write(record_update(parse_event(response_event(rid, timestamp=QUERY_AT)), ttl_days=90))
    assert [r.request_id for r in store.records_for_week(IsoWeek(2025, 48))] == [rid]
    store.write(record_update(parse_event(query_event(rid, timestamp=sunday)), ttl_days=90))
    [record] = store.records_for_week(IsoWeek(2025, 47))
    assert (record.request_id, record.status, record.timestamp) == (rid, "answered", sunday)
    assert record.latency_ms == QUERY_AT - sunday
    assert store.records_for_week(IsoWeek(2025, 48)) == []


@pytest.fixture
def atomic_record_writes(monkeypatch):
    """Record writes take effect one at a time, in whatever order the threads reach them.

    DynamoDB applies the UpdateItems on one item atomically; moto does not (two that both
    find no item each create one, and the later replaces the earlier). Serialising the
    store's writes gives DynamoDB's guarantee, so the race left is the one the kit must
    survive: which write lands first.
    """
    lock, merge = threading.Lock(), AnalyticsStore.merge  # every record write goes through merge

    def atomic(self, update):
        with lock:
            return merge(self, update)

    monkeypatch.setattr(AnalyticsStore, "merge", atomic)


def test_processor_concurrent_query_and_response_always_converge(stack, atomic_record_writes):
    """A query and its response processed at the same moment from two threads give the right record."""
    import cv_processor.handler as handler
    from cv_processor.processing import IncomingMessage

    processor = handler.message_processor()
    for attempt in range(30):
        rid, start = str(uuid.uuid4()), threading.Barrier(2)
        events = {
            "query": query_event(rid, timestamp=QUERY_AT),
            "response": response_event(rid, timestamp=QUERY_AT + 500),
        }

        def deliver(event: dict[str, Any], start=start) -> str:
            start.wait(timeout=10)
            return processor.process(
                IncomingMessage(message_id=uuid.uuid4().hex, body=json.dumps(event), group_id="g")
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(deliver, events.values()))
        parsed = _pair(rid)
        expected = record_update(parsed["response"], ttl_days=90).applied_to(
            record_update(parsed["query"], ttl_days=90).applied_to({})
        )
        assert outcomes == ["recorded", "recorded"]
        assert record_item(stack, rid) == with_read_fields(expected), f"attempt {attempt}"


def test_processor_makes_two_dynamodb_calls_per_event(stack, monkeypatch):
    """Each event costs one PutItem (raw) and one UpdateItem (record), in any order, redelivered too."""
    import cv_analytics.aws.clients as clients

    calls: Counter[str] = Counter()
    build = clients.aws_client

    def counting_client(service: str, **options: Any) -> Any:
        client = build(service, **options)
        if service == "dynamodb":
            client.meta.events.register(
                "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
            )
        return client

    monkeypatch.setattr(clients, "aws_client", counting_client)
    rids = [str(uuid.uuid4()) for _ in range(4)]
    events = [query_event(rid, timestamp=QUERY_AT) for rid in rids[:2]] + [
        response_event(rid, timestamp=QUERY_AT + 300) for rid in rids
    ]
    events += [query_event(rid, timestamp=QUERY_AT) for rid in rids[2:]] + events[:2]  # late, redelivered
    for event in events:
        send_raw(stack, event)
    drain(processor_source(stack), expected=len(events))
    assert calls == Counter(PutItem=len(events), UpdateItem=len(events))
    assert sum(calls.values()) / len(events) <= 2
    assert all(record_item(stack, rid)["status"] == "answered" for rid in rids)


def _sqs_event(messages: list[tuple[str, str, str]]) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, from (messageId, body, MessageGroupId) triples."""
    [template, _] = load_event("sqs_batch_query_response")["Records"]
    records = [
        template
        | {"messageId": message_id, "body": body}
        | {
            "attributes": template["attributes"]
            | {"MessageGroupId": group, "MessageDeduplicationId": message_id}
        }
        for message_id, body, group in messages
    ]
    return {"Records": records}


def test_processor_handler_concurrent_invocations_report_their_own_failures(stack):
    """lambda_handler called from four threads at once records every message, fails each batch's own."""
    import cv_processor.handler as handler

    handler.use(_FlakyFor(handler.message_processor(), failing_request_id="fail-"))
    batches = []
    for batch in range(8):
        healthy, bad = [str(uuid.uuid4()) for _ in range(9)], f"fail-{uuid.uuid4()}"
        messages = [
            (f"m-{rid}", json.dumps(query_event(rid, timestamp=QUERY_AT)), f"ok-{batch}") for rid in healthy
        ]
        messages.append((f"m-{bad}", json.dumps(query_event(bad, timestamp=QUERY_AT)), f"bad-{batch}"))
        batches.append((healthy, bad, _sqs_event(messages)))

    def invoke(batch: tuple[list[str], str, dict[str, Any]]) -> dict[str, Any]:
        return handler.lambda_handler(
            batch[2], LocalLambdaContext(function_name="processor", timeout_seconds=30)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(invoke, batches))
    for (healthy, bad, _), result in zip(batches, results, strict=True):
        assert result == {"batchItemFailures": [{"itemIdentifier": f"m-{bad}"}]}
        assert all(record_item(stack, rid)["status"] == "awaiting_response" for rid in healthy)
