"""Sending to the FIFO queue: the SendMessageBatch limits, and which messages SQS refused."""

from __future__ import annotations

from typing import Any

from cv_analytics.aws.sqs import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
    EntryFailure,
    OutgoingMessage,
    QueueSender,
    fits_in_batch,
    message_problem,
)

KIB = 1024
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/cv-analytics-queue.fifo"


def _message(n: int, *, size: int = 200) -> OutgoingMessage:
    body = f'{{"n":{n},"pad":"'
    body += "x" * (size - len(body) - 2) + '"}'
    return OutgoingMessage(body=body, group_id="analytics", deduplication_id=f"req-{n}-query-{n}")


# --- fits_in_batch: the SendMessageBatch limits, applied by the ingest sender -----------------


def test_fits_in_batch_tenth_entry_fits():
    """A request holding nine messages takes a tenth."""
    assert fits_in_batch(entries=MAX_BATCH_ENTRIES - 1, size=9 * 200, message=_message(9))


def test_fits_in_batch_eleventh_entry_does_not_fit():
    """A request holding ten messages is full, however small they are."""
    assert not fits_in_batch(entries=MAX_BATCH_ENTRIES, size=10 * 200, message=_message(10))


def test_fits_in_batch_exactly_at_byte_limit_fits():
    """Two messages totalling exactly 256 KiB still fit in one request."""
    half = MAX_BATCH_BYTES // 2
    assert fits_in_batch(entries=1, size=half, message=_message(1, size=half))


def test_fits_in_batch_one_byte_over_limit_does_not_fit():
    """One byte over 256 KiB needs a second request."""
    half = MAX_BATCH_BYTES // 2
    assert not fits_in_batch(entries=1, size=half, message=_message(1, size=half + 1))


def test_fits_in_batch_empty_request_takes_an_oversized_message():
    """A message larger than the byte limit travels alone (SQS, not the batching, rejects it)."""
    assert fits_in_batch(entries=0, size=0, message=_message(1, size=MAX_BATCH_BYTES + KIB))


def test_outgoing_message_size_counts_utf8_bytes():
    """The byte limit is counted in UTF-8 bytes: '▲' weighs three."""
    message = OutgoingMessage(body="▲", group_id="analytics", deduplication_id="d")

    assert message.size == 3


def test_fits_in_batch_counts_multibyte_characters_as_bytes():
    """Two bodies of 50,000 '▲' (150,000 bytes each) cannot share one 256 KiB request."""
    first, second = (
        OutgoingMessage(body="▲" * 50_000, group_id="analytics", deduplication_id=f"d{n}") for n in range(2)
    )

    assert not fits_in_batch(entries=1, size=first.size, message=second)


# --- QueueSender.send_batch -------------------------------------------------------------------


class FakeSqs:
    def __init__(self, failed_ids: tuple[str, ...] = ()) -> None:
        self._failed_ids = failed_ids
        self.calls: list[dict[str, Any]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        failed = [
            {"Id": entry_id, "SenderFault": False, "Code": "InternalError", "Message": "retry"}
            for entry_id in self._failed_ids
        ]
        successful = [
            {"Id": entry["Id"], "MessageId": f"msg-{entry['Id']}", "SequenceNumber": "1"}
            for entry in kwargs["Entries"]
            if entry["Id"] not in self._failed_ids
        ]
        response: dict[str, Any] = {"Successful": successful}
        if failed:
            response["Failed"] = failed
        return response


def test_queue_sender_send_batch_entries():
    """One SendMessageBatch call carries each body with its group and deduplication ids."""
    client = FakeSqs()
    messages = [_message(0), _message(1)]

    QueueSender(client=client, queue_url=QUEUE_URL).send_batch(messages)

    assert client.calls == [
        {
            "QueueUrl": QUEUE_URL,
            "Entries": [
                {
                    "Id": str(n),
                    "MessageBody": messages[n].body,
                    "MessageGroupId": "analytics",
                    "MessageDeduplicationId": f"req-{n}-query-{n}",
                }
                for n in range(2)
            ],
        }
    ]


def test_queue_sender_send_batch_all_accepted():
    """When SQS accepts every entry, nothing is returned."""
    sender = QueueSender(client=FakeSqs(), queue_url=QUEUE_URL)

    assert sender.send_batch([_message(n) for n in range(3)]) == []


def test_queue_sender_send_batch_returns_failed_messages():
    """Entries SQS reports as Failed are mapped back to their messages by Id, in order."""
    messages = [_message(n) for n in range(5)]
    sender = QueueSender(client=FakeSqs(failed_ids=("1", "3")), queue_url=QUEUE_URL)

    assert sender.send_batch(messages) == [messages[1], messages[3]]


def test_outgoing_message_size_lone_surrogate_does_not_raise():
    """A body holding a lone surrogate has a size (it used to raise UnicodeEncodeError)."""
    message = OutgoingMessage(body='{"x":"\ud800"}', group_id="g", deduplication_id="d")

    assert message.size == 11


def test_message_problem_lone_surrogate_is_named():
    """A lone surrogate is a character SQS refuses, named with its offset."""
    message = OutgoingMessage(body='{"x":"\ud800"}', group_id="g", deduplication_id="d")

    assert message_problem(message) == "character U+D800 at offset 6 is not allowed by SQS"


def test_message_problem_non_character_is_named():
    """U+FFFF is outside the characters SQS accepts."""
    message = OutgoingMessage(body="\uffff", group_id="g", deduplication_id="d")

    assert "U+FFFF" in message_problem(message)


def test_message_problem_too_big_is_named():
    """A body over 256 KiB can never be sent."""
    assert "262145 bytes" in message_problem(_message(0, size=MAX_MESSAGE_BYTES + 1))


def test_message_problem_valid_message_is_none():
    """Ordinary text, multi-byte characters and tabs/newlines are fine."""
    message = OutgoingMessage(body='{"q":"C# ▲ 😀\\t\\n"}\n', group_id="g", deduplication_id="d")

    assert message_problem(message) is None


def test_queue_sender_send_batch_results_carry_code_and_fault():
    """Per-entry refusals come back with SQS's code and whether the sender is at fault."""
    messages = [_message(n) for n in range(3)]
    sender = QueueSender(client=FakeSqs(failed_ids=("2",)), queue_url=QUEUE_URL)

    assert sender.send_batch_results(messages) == [
        EntryFailure(message=messages[2], sender_fault=False, code="InternalError", reason="retry")
    ]
