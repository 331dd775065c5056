"""SQS adapters: batched sends to the FIFO queue, and parking poison messages in the DLQ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_BATCH_ENTRIES = 10
# SendMessageBatch caps the whole request's payload; stay under the classic 256 KiB.
MAX_BATCH_BYTES = 256 * 1024
_MAX_ATTRIBUTE_CHARS = 1024


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: str
    group_id: str
    deduplication_id: str

    @property
    def size(self) -> int:
        return len(self.body.encode("utf-8"))


def split_batches(messages: Sequence[OutgoingMessage]) -> list[list[OutgoingMessage]]:
    """Group messages into SendMessageBatch-sized chunks, by count and by bytes."""
    batches: list[list[OutgoingMessage]] = []
    current: list[OutgoingMessage] = []
    current_bytes = 0
    for message in messages:
        too_big = current_bytes + message.size > MAX_BATCH_BYTES
        if current and (len(current) == MAX_BATCH_ENTRIES or too_big):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(message)
        current_bytes += message.size
    if current:
        batches.append(current)
    return batches


class QueueSender:
    """Sends messages to one FIFO queue with SendMessageBatch."""

    def __init__(self, *, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
        """Send up to 10 messages in one call; return those SQS did not accept."""
        entries = [
            {
                "Id": str(index),
                "MessageBody": message.body,
                "MessageGroupId": message.group_id,
                "MessageDeduplicationId": message.deduplication_id,
            }
            for index, message in enumerate(messages)
        ]
        response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        return [messages[int(failure["Id"])] for failure in response.get("Failed", [])]

    def is_reachable(self) -> bool:
        self._client.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        return True


@dataclass(frozen=True, slots=True)
class DeadLetter:
    body: str
    reason: str
    source_message_id: str
    group_id: str
    # Why it can never succeed, for sorting the DLQ: not-json, invalid-event or unstorable.
    kind: str


class DeadLetterQueue:
    """Parks a message that can never succeed in the FIFO DLQ, with why attached."""

    def __init__(self, *, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, letter: DeadLetter) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=letter.body,
            MessageGroupId=letter.group_id,
            # The source message id is unique per message, and stable on redelivery.
            MessageDeduplicationId=letter.source_message_id,
            MessageAttributes={
                "errorReason": _string(letter.reason[:_MAX_ATTRIBUTE_CHARS]),
                "errorKind": _string(letter.kind),
                "sourceMessageId": _string(letter.source_message_id),
            },
        )


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
