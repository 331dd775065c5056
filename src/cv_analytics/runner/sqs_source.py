"""An SQS event source that behaves like Lambda's event source mapping.

It long-polls the queue, hands each batch (up to 10) to the function as a faithful SQS
event, and deletes only the messages the function reports as done. Failed messages
are left alone: they reappear after the visibility timeout, their receive count grows,
and SQS redrives them to the DLQ after maxReceiveCount, as on AWS.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cv_analytics.runner.invokers import InvocationError, Invoker

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

log = logging.getLogger(__name__)

_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)


@dataclass(frozen=True)
class BatchOutcome:
    received: int
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """Messages since the source was made: handed to the function, deleted once it was done
    with them (stored or parked: the function decides, the source cannot tell), and handed
    back to SQS for another try (the function failed, or listed them in batchItemFailures)."""

    received: int
    deleted: int
    returned: int


def sqs_record(message: MessageTypeDef, *, queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event record for one ReceiveMessage message."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in _SYSTEM_ATTRIBUTES if k in attributes},
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda spells these keys camelCase, ReceiveMessage PascalCase.
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in attributes.items()
    }


def failed_ids(response: Any, records: Sequence[dict[str, Any]]) -> set[str]:
    """Message ids the function reported as failed (all of them if the report is unusable)."""
    every = {record["messageId"] for record in records}
    if response is None:
        return set()
    if not isinstance(response, dict):
        return every
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    reported = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    # Lambda fails the whole batch when an identifier is missing, empty or unknown.
    return every & reported if reported <= every else every


class SqsEventSource:
    """Safe to poll from several threads at once: SQS hands out no message of a FIFO group
    while another of that group is in flight, so each group is still processed in order.

    The threads take turns at ReceiveMessage, and at DeleteMessageBatch, while their batches
    are processed side by side. moto, the embedded emulator and the base of common LocalStack
    stand-ins, does neither call under a lock: two overlapping receives can hand one message
    to both, or a group's next message to one while the other still holds its previous one,
    and two overlapping deletes can put a deleted message back. Four pollers on plain moto
    broke a group's order or processed a message twice in 10 of 40 runs; one at a time at
    the queue, none did.

    Only a thread with no batch of this source in flight long-polls. moto decides at the
    start of a long poll which groups are busy and does not look again until the wait ends,
    so a long poll made while batches are in flight misses their groups' next messages for
    the whole wait, and blocks every other thread's turn meanwhile. With a batch in flight
    a thread asks without waiting and, if nothing came, waits for a batch to finish (or
    for the long-poll time) before asking again.
    """

    def __init__(
        self,
        *,
        sqs: SQSClient,
        queue_url: str,
        invoker: Invoker,
        batch_size: int = 10,
        wait_seconds: int = 2,
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._invoker = invoker
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._queue_arn: str | None = None
        self._lock = threading.Condition()  # guards the counts; notified when a batch is done
        self._receiving = threading.Lock()
        self._deleting = threading.Lock()
        self._in_flight = 0
        self._finished = 0
        self._deleted = 0
        self._received = 0
        self._returned = 0
        self._last_received = time.monotonic()

    @property
    def deleted(self) -> int:
        """Messages processed and deleted since this source was made."""
        return self._deleted

    def counts(self) -> SourceCounts:
        with self._lock:
            return SourceCounts(received=self._received, deleted=self._deleted, returned=self._returned)

    def idle_for(self) -> float:
        """Seconds since a poll last received anything."""
        return time.monotonic() - self._last_received

    def queue_arn(self) -> str:
        # Asked once, at the first batch: not in the constructor, so making a source never
        # blocks on (or fails with) the endpoint, and a racing second ask is harmless.
        if self._queue_arn is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = attributes["Attributes"]["QueueArn"]
        return self._queue_arn

    def poll_once(self) -> BatchOutcome:
        messages = self._receive()
        if not messages:
            return BatchOutcome(0, 0, 0)
        try:
            self._last_received = time.monotonic()
            arn = self.queue_arn()
            records = [sqs_record(m, queue_arn=arn, region=arn.split(":")[3]) for m in messages]
            failed = self._invoke(records)
            done = [r for r in records if r["messageId"] not in failed]
            with self._lock:
                self._received += len(records)
                self._returned += len(records) - len(done)
            self._delete(done)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._finished += 1
                self._lock.notify_all()
        return BatchOutcome(len(records), len(done), len(failed))

    def _receive(self) -> list[MessageTypeDef]:
        with self._receiving:
            with self._lock:
                busy, finished = self._in_flight > 0, self._finished
            messages = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self._batch_size,
                WaitTimeSeconds=0 if busy else self._wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if messages:
                with self._lock:
                    self._in_flight += 1
        if not messages and busy:
            with self._lock:
                self._lock.wait_for(lambda: self._finished != finished, timeout=self._wait)
        return messages

    def _invoke(self, records: list[dict[str, Any]]) -> set[str]:
        try:
            response = self._invoker.invoke({"Records": records})
        except InvocationError as exc:
            log.error(
                "%s failed on a batch of %d; it will be retried: %s", self._invoker.name, len(records), exc
            )
            return {record["messageId"] for record in records}
        return failed_ids(response, records)

    def _delete(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)
        ]
        with self._deleting:
            response = self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        for failure in response.get("Failed", []):
            log.warning("could not delete a processed message (it may be processed again): %s", failure)
        with self._lock:
            self._deleted += len(response.get("Successful", []))

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; a failing endpoint is retried, never fatal."""
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the loop must survive an emulator restart
                log.warning("polling %s failed: %s", self.queue_url, exc)
                stop.wait(1.0)
