"""SqsEventSource's bookkeeping: no I/O when made, the queue ARN asked once, deletions counted."""

from __future__ import annotations

from typing import Any

import pytest

from cv_analytics.runner.sqs_source import SqsEventSource

QUEUE_URL = "http://sqs.local/123456789012/q.fifo"
QUEUE_ARN = "arn:aws:sqs:eu-west-2:123456789012:q.fifo"


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


def test_sqs_source_empty_poll_asks_nothing_else():
    """An empty receive neither asks the ARN nor deletes."""
    sqs = FakeSqs()
    _source(sqs).poll_once()
    assert sqs.calls == ["ReceiveMessage"]


@pytest.mark.parametrize("pollers", [0, -1])
def test_event_sources_rejects_fewer_than_one_poller(pollers):
    """A runner needs at least one poller."""
    from cv_analytics.runner.service import EventSources

    with pytest.raises(ValueError, match="pollers"):
        EventSources(sqs_source=_source(FakeSqs()), pollers=pollers)
