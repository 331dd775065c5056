"""SQS adapters: batched sends to the FIFO queue, and parking poison messages in the DLQ."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

MAX_BATCH_ENTRIES = 10
# SendMessageBatch caps the whole request's payload; stay under the classic 256 KiB.
MAX_BATCH_BYTES = 256 * 1024
# One message may be as large as a whole batch (the classic limit; newer queues take 1 MiB).
MAX_MESSAGE_BYTES = MAX_BATCH_BYTES
_MAX_ATTRIBUTE_CHARS = 1024
# What SQS accepts in a message body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
_FORBIDDEN_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: str
    group_id: str
    deduplication_id: str

    @property
    def size(self) -> int:
        # surrogatepass: a lone surrogate must be measurable (and then refused), never an exception.
        return len(self.body.encode("utf-8", "surrogatepass"))


def message_problem(message: OutgoingMessage) -> str | None:
    """Why SQS can never accept ``message`` (too big, characters it refuses), or None."""
    if message.size > MAX_MESSAGE_BYTES:
        return f"message is {message.size} bytes; SQS takes at most {MAX_MESSAGE_BYTES}"
    if match := _FORBIDDEN_CHARACTERS.search(message.body):
        return f"character U+{ord(match.group()):04X} at offset {match.start()} is not allowed by SQS"
    return None


@dataclass(frozen=True, slots=True)
class EntryFailure:
    """One entry SendMessageBatch refused; ``sender_fault`` means resending cannot help."""

    message: OutgoingMessage
    sender_fault: bool
    code: str
    reason: str


def fits_in_batch(*, entries: int, size: int, message: OutgoingMessage) -> bool:
    """Whether ``message`` may join a SendMessageBatch request that already holds ``entries``
    messages of ``size`` bytes in all. An empty request takes any message: SQS, not the
    batching, refuses one that is too big."""
    return entries == 0 or (entries < MAX_BATCH_ENTRIES and size + message.size <= MAX_BATCH_BYTES)


def _sqs_client(client: SQSClient | None) -> SQSClient:
    """``client``, or a new one when none was injected."""
    from cv_analytics.aws.clients import aws_client

    return client if client is not None else aws_client("sqs")


class QueueSender:
    """Sends messages to one FIFO queue with SendMessageBatch."""

    def __init__(self, *, client: SQSClient | None = None, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    @property
    def _client(self) -> SQSClient:
        self._sqs = _sqs_client(self._sqs)
        return self._sqs

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
        """Send up to 10 messages in one call; return those SQS did not accept."""
        return [failure.message for failure in self.send_batch_results(messages)]

    def send_batch_results(self, messages: Sequence[OutgoingMessage]) -> list[EntryFailure]:
        """Send up to 10 messages in one call; return SQS's per-entry refusals, in entry order."""
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {
                "Id": str(index),
                "MessageBody": message.body,
                "MessageGroupId": message.group_id,
                "MessageDeduplicationId": message.deduplication_id,
            }
            for index, message in enumerate(messages)
        ]
        response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        failures = sorted(response.get("Failed", []), key=lambda failure: int(failure["Id"]))
        return [
            EntryFailure(
                message=messages[int(failure["Id"])],
                sender_fault=bool(failure.get("SenderFault")),
                code=failure.get("Code", ""),
                reason=failure.get("Message", ""),
            )
            for failure in failures
        ]

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

    def __init__(self, *, client: SQSClient | None = None, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    @property
    def _client(self) -> SQSClient:
        self._sqs = _sqs_client(self._sqs)
        return self._sqs

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


def _string(value: str) -> MessageAttributeValueTypeDef:
    return {"DataType": "String", "StringValue": value}
