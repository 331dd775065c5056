"""The SQS event source (cv_analytics.runner.sqs_source): the records Lambda builds from
ReceiveMessage, the batch failure report, and SqsEventSource's bookkeeping (no I/O when made,
the queue ARN asked once, deletions counted)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cv_analytics.runner.sqs_source import SourceCounts, SqsEventSource, failed_ids, sqs_record
from tests.support.events import load_event

QUEUE_URL = "http://sqs.local/123456789012/q.fifo"
QUEUE_ARN = "arn:aws:sqs:eu-west-2:123456789012:q.fifo"
# The queue of the recorded Lambda event (tests/events/sqs_batch_query_response.json).
LAMBDA_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:cv-analytics-queue.fifo"


class FakeSqs:
    """Answers ReceiveMessage with the given batches, then nothing; records every call."""

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)
        self.calls: list[str] = []

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        self.calls.append("GetQueueAttributes")
        return {"Attributes": {"QueueArn": QUEUE_ARN}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.calls.append("ReceiveMessage")
        return {"Messages": self.batches.pop(0)} if self.batches else {}

    def delete_message_batch(self, *, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        self.calls.append("DeleteMessageBatch")
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


class Succeeds:
    name = "processor"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, payload: dict[str, Any]) -> Any:
        self.events.append(payload)
        return {"batchItemFailures": []}


def _messages(*ids: str) -> list[dict[str, Any]]:
    return [{"MessageId": i, "ReceiptHandle": f"rh-{i}", "Body": "{}", "Attributes": {}} for i in ids]


def _source(sqs: FakeSqs, invoker: Any | None = None) -> SqsEventSource:
    return SqsEventSource(sqs=sqs, queue_url=QUEUE_URL, invoker=invoker or Succeeds(), wait_seconds=0)


def test_sqs_source_constructor_calls_nothing():
    """Making a source sends no request: the endpoint may not be up yet."""
    sqs = FakeSqs()
    _source(sqs)
    assert sqs.calls == []


def test_sqs_source_asks_queue_arn_once():
    """The queue ARN is asked at the first batch and reused for the next."""
    sqs = FakeSqs(_messages("a"), _messages("b"))
    source = _source(sqs)
    source.poll_once()
    source.poll_once()
    assert sqs.calls.count("GetQueueAttributes") == 1


def test_sqs_source_event_carries_arn_and_region():
    """Records name the queue ARN and its region, as Lambda's do."""
    invoker = Succeeds()
    _source(FakeSqs(_messages("a")), invoker).poll_once()
    [record] = invoker.events[0]["Records"]
    assert (record["eventSourceARN"], record["awsRegion"]) == (QUEUE_ARN, "eu-west-2")


def test_sqs_source_counts_deleted_messages():
    """``deleted`` counts every message processed and deleted."""
    source = _source(FakeSqs(_messages("a", "b"), _messages("c")))
    source.poll_once()
    source.poll_once()
    assert source.deleted == 3


class FailsOne:
    """Reports message "b" as a batch item failure."""

    name = "processor"

    def invoke(self, payload: dict[str, Any]) -> Any:
        ids = [record["messageId"] for record in payload["Records"]]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids if i == "b"]}


def test_sqs_source_counts_received_deleted_and_returned():
    """``counts`` tells what the function got, what was deleted and what went back to SQS."""
    source = _source(FakeSqs(_messages("a", "b"), _messages("c")), FailsOne())
    source.poll_once()
    source.poll_once()
    assert source.counts() == SourceCounts(received=3, deleted=2, returned=1)


def test_sqs_source_empty_poll_asks_nothing_else():
    """An empty receive neither asks the ARN nor deletes."""
    sqs = FakeSqs()
    _source(sqs).poll_once()
    assert sqs.calls == ["ReceiveMessage"]


def _received(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The ReceiveMessage message that Lambda turned into ``record``."""
    message = {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "MD5OfBody": record["md5OfBody"],
        "Body": record["body"],
        "Attributes": dict(record["attributes"]),
    }
    return {**message, **changes}


def _records(*ids: str) -> list[dict[str, Any]]:
    return [{"messageId": message_id} for message_id in ids]


def test_sqs_record_matches_lambda_event():
    """A received FIFO message becomes exactly the record Lambda delivers for it."""
    expected = load_event("sqs_batch_query_response")["Records"][0]

    record = sqs_record(_received(expected), queue_arn=LAMBDA_QUEUE_ARN, region="us-east-1")

    assert record == expected


def test_sqs_record_computes_md5_when_missing():
    """Without MD5OfBody the record carries the MD5 of the body, as SQS computes it."""
    expected = load_event("sqs_batch_query_response")["Records"][1]
    message = _received(expected)
    del message["MD5OfBody"]

    record = sqs_record(message, queue_arn=LAMBDA_QUEUE_ARN, region="us-east-1")

    assert record["md5OfBody"] == expected["md5OfBody"] == "1a427d147423e504d149f42b267d2690"


def test_sqs_record_message_attributes_camel_cased():
    """Message attributes are re-spelled the way Lambda spells them."""
    expected = load_event("sqs_batch_query_response")["Records"][0]
    message = _received(
        expected, MessageAttributes={"origin": {"StringValue": "worker", "DataType": "String"}}
    )

    record = sqs_record(message, queue_arn=LAMBDA_QUEUE_ARN, region="us-east-1")

    assert record["messageAttributes"] == {
        "origin": {
            "stringValue": "worker",
            "binaryValue": None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }


def test_sqs_record_without_attributes():
    """A message received without system attributes gets an empty attributes map."""
    expected = load_event("sqs_batch_query_response")["Records"][0]
    message = _received(expected)
    del message["Attributes"]

    assert sqs_record(message, queue_arn=LAMBDA_QUEUE_ARN, region="us-east-1")["attributes"] == {}


def test_failed_ids_empty_report():
    """An empty batchItemFailures list means every message succeeded."""
    assert failed_ids({"batchItemFailures": []}, _records("m1", "m2")) == set()


def test_failed_ids_some_failures():
    """Reported identifiers are exactly the failed messages."""
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}

    assert failed_ids(response, _records("m1", "m2", "m3")) == {"m2", "m3"}


def test_failed_ids_unknown_identifier_fails_batch():
    """An identifier that is not in the batch fails the whole batch, as Lambda does."""
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "elsewhere"}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_missing_identifier_fails_batch():
    """A failure entry without itemIdentifier (a bad key name) fails the whole batch."""
    response = {"batchItemFailures": [{"messageId": "m2"}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_empty_identifier_fails_batch():
    """An empty-string itemIdentifier fails the whole batch."""
    response = {"batchItemFailures": [{"itemIdentifier": ""}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_none_response():
    """A function that returns nothing succeeded for the whole batch."""
    assert failed_ids(None, _records("m1", "m2")) == set()


def test_failed_ids_dict_without_report():
    """A response without batchItemFailures reports no failures."""
    assert failed_ids({"statusCode": 200}, _records("m1")) == set()


@pytest.mark.parametrize("response", [["m1"], "m1", 0], ids=["list", "string", "number"])
def test_failed_ids_non_dict_response(response):
    """A response that is not an object is an unusable report, so the whole batch is retried."""
    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


class OverlapCountingSqs(FakeSqs):
    """Each ReceiveMessage and DeleteMessageBatch lingers; records the most at once of each."""

    def __init__(self, batches: int) -> None:
        super().__init__(*(_messages(f"m{n}") for n in range(batches)))
        self.most = {"ReceiveMessage": 0, "DeleteMessageBatch": 0}
        self._now = dict.fromkeys(self.most, 0)
        self._guard = threading.Lock()

    def _linger(self, name: str) -> None:
        with self._guard:
            self._now[name] += 1
            self.most[name] = max(self.most[name], self._now[name])
        time.sleep(0.005)
        with self._guard:
            self._now[name] -= 1

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self._linger("ReceiveMessage")
        with self._guard:
            return super().receive_message(**kwargs)

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self._linger("DeleteMessageBatch")
        with self._guard:
            return super().delete_message_batch(**kwargs)


class SlowInvoker(Succeeds):
    """Takes a while per batch and records the most batches it had at once."""

    def __init__(self) -> None:
        super().__init__()
        self.most, self._now, self._guard = 0, 0, threading.Lock()

    def invoke(self, payload: dict[str, Any]) -> Any:
        with self._guard:
            self._now += 1
            self.most = max(self.most, self._now)
        time.sleep(0.05)
        with self._guard:
            self._now -= 1
        return super().invoke(payload)


def _poll_from_threads(source: SqsEventSource, *, threads: int, polls: int) -> None:
    """``threads`` threads calling ``source.poll_once`` ``polls`` times each, all finished."""
    started = [
        threading.Thread(target=lambda: [source.poll_once() for _ in range(polls)]) for _ in range(threads)
    ]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(30)


def test_sqs_source_pollers_take_turns_at_the_queue_but_process_side_by_side():
    """GIVEN four threads polling one source WHEN they drain 24 batches THEN no two
    ReceiveMessage or DeleteMessageBatch calls overlap (moto mishandles overlapping ones),
    while batches are still processed at the same time."""
    sqs, invoker = OverlapCountingSqs(batches=24), SlowInvoker()
    source = _source(sqs, invoker)
    _poll_from_threads(source, threads=4, polls=8)

    assert source.deleted == 24
    assert sqs.most == {"ReceiveMessage": 1, "DeleteMessageBatch": 1}
    assert invoker.most > 1


class WaitRecordingSqs(FakeSqs):
    """Records each ReceiveMessage's WaitTimeSeconds and how many batches were being processed."""

    def __init__(self, invoker: SlowInvoker, batches: int) -> None:
        super().__init__(*(_messages(f"m{n}") for n in range(batches)))
        self.invoker = invoker
        self.waits: list[tuple[int, int]] = []

    def receive_message(self, *, WaitTimeSeconds: int, **kwargs: Any) -> dict[str, Any]:
        self.waits.append((WaitTimeSeconds, self.invoker._now))
        return super().receive_message(**kwargs)


def test_sqs_source_long_polls_only_with_no_batch_in_flight():
    """GIVEN three threads polling with 2 s long polls WHEN batches are being processed THEN
    the receives made meanwhile do not wait (a moto long poll would miss the busy groups'
    next messages for its whole wait); a receive with nothing in flight long-polls."""
    invoker = SlowInvoker()
    sqs = WaitRecordingSqs(invoker, batches=12)
    source = SqsEventSource(sqs=sqs, queue_url=QUEUE_URL, invoker=invoker, wait_seconds=2)
    _poll_from_threads(source, threads=3, polls=5)

    assert source.deleted == 12
    assert sqs.waits[0] == (2, 0)
    during_batches = [wait for wait, processing in sqs.waits if processing]
    assert during_batches, "no receive was made while a batch was processed"
    assert set(during_batches) == {0}
