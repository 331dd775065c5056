"""The outbox and its sender, against a fake SQS: durability, ordering per group, poison messages."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import EndpointConnectionError

from cv_analytics.aws.sqs import EntryFailure, OutgoingMessage
from cv_ingest_api.outbox import Outbox, OutboxFull
from cv_ingest_api.sender import OutboxSender


def _message(n: int, *, group: str = "g", body: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(body=body or f'{{"n":{n}}}', group_id=group, deduplication_id=f"d-{group}-{n}")


class FakeQueue:
    """Records every batch; ``fail`` decides, per call, to raise or to refuse entries."""

    def __init__(self, *, fail=None) -> None:
        self.batches: list[list[OutgoingMessage]] = []
        self.fail = fail or (lambda batch: [])
        self.lock = threading.Lock()

    def send_batch_results(self, messages):
        with self.lock:
            self.batches.append(list(messages))
        return self.fail(list(messages))

    @property
    def sent(self) -> list[OutgoingMessage]:
        return [m for batch in self.batches for m in batch]


def _sender(tmp_path, queue: FakeQueue, *, concurrency: int = 4) -> OutboxSender:
    outbox = Outbox(path=tmp_path / "outbox.sqlite3", capacity=1000)
    return OutboxSender(
        outbox=outbox, sender_factory=lambda: queue, concurrency=concurrency, linger_seconds=0
    )


def _wait(condition, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_outbox_add_survives_reopening(tmp_path):
    """Rows added are there for the next process that opens the file, in order."""
    first = Outbox(path=tmp_path / "o.sqlite3", capacity=10)
    first.add([_message(1), _message(2)])
    first.close()
    again = Outbox(path=tmp_path / "o.sqlite3", capacity=10)
    assert again.pending == 2
    assert [row.message for row in again.oldest(limit=5)] == [_message(1), _message(2)]


def test_outbox_add_over_capacity_takes_nothing(tmp_path):
    """A request that does not fit entirely is refused whole."""
    outbox = Outbox(path=tmp_path / "o.sqlite3", capacity=3)
    outbox.add([_message(1), _message(2)])
    with pytest.raises(OutboxFull):
        outbox.add([_message(3), _message(4)])
    assert outbox.pending == 2


def test_sender_sends_and_empties_outbox(tmp_path):
    """Every row reaches the queue once, and leaves the outbox once acknowledged."""
    queue = FakeQueue()
    sender = _sender(tmp_path, queue)
    sender.outbox.add([_message(n, group=f"g{n}") for n in range(35)])
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    sender.stop(timeout=1)
    assert sorted(m.deduplication_id for m in queue.sent) == sorted(f"d-g{n}-{n}" for n in range(35))


def _sent_batch_sizes(tmp_path, messages: list[OutgoingMessage]) -> list[int]:
    """The batches one worker sends ``messages`` (all pending before it starts) in."""
    queue = FakeQueue()
    sender = _sender(tmp_path, queue, concurrency=1)
    sender.outbox.add(messages)
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    sender.stop(timeout=1)
    assert queue.sent == messages
    return [len(batch) for batch in queue.batches]


def test_sender_batches_at_most_ten_entries(tmp_path):
    """25 small messages go out as 10, 10 and 5, in outbox order."""
    messages = [_message(n, group=f"g{n}") for n in range(25)]
    assert _sent_batch_sizes(tmp_path, messages) == [10, 10, 5]


def test_sender_batches_large_messages_by_bytes(tmp_path):
    """Five ~100 KiB messages go out two at a time, keeping each request under 256 KiB."""
    messages = [_message(n, group=f"g{n}", body='{"pad":"' + "x" * 100 * 1024 + '"}') for n in range(5)]
    assert _sent_batch_sizes(tmp_path, messages) == [2, 2, 1]


def test_sender_keeps_group_order_and_one_batch_per_group_in_flight(tmp_path):
    """A group's rows go out in outbox order, and never in two batches at once."""
    in_flight: set[str] = set()
    overlaps: list[str] = []
    guard = threading.Lock()

    def slow(batch):
        groups = {m.group_id for m in batch}
        with guard:
            overlaps.extend(groups & in_flight)
            in_flight.update(groups)
        time.sleep(0.05)
        with guard:
            in_flight.difference_update(groups)
        return []

    queue = FakeQueue(fail=slow)
    sender = _sender(tmp_path, queue, concurrency=4)
    sender.outbox.add([_message(n, group="a" if n % 3 else "b") for n in range(60)])
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    sender.stop(timeout=1)
    assert overlaps == []
    for group in ("a", "b"):
        numbers = [int(m.deduplication_id.rsplit("-", 1)[1]) for m in queue.sent if m.group_id == group]
        assert numbers == sorted(numbers) and len(numbers) == (40 if group == "a" else 20)


def test_sender_dead_letters_what_sqs_can_never_take_and_sends_the_rest(tmp_path):
    """Too big, U+FFFF, and an entry SQS blames on the sender: dead-lettered with reasons; others sent."""
    too_big = _message(1, body="x" * (256 * 1024 + 1))
    bad_character = _message(2, body='{"x":"\uffff"}')
    refused = _message(3, body='{"refuse":true}')

    def refuse(batch):
        return [
            EntryFailure(message=m, sender_fault=True, code="InvalidParameterValue", reason="nope")
            for m in batch
            if m == refused
        ]

    queue = FakeQueue(fail=refuse)
    sender = _sender(tmp_path, queue)
    sender.outbox.add([_message(0), too_big, bad_character, refused, _message(4)])
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    sender.stop(timeout=1)
    reasons = {
        letter.id: letter.reason
        for letter in Outbox(path=tmp_path / "outbox.sqlite3", capacity=1).dead_letters()
    }
    assert len(reasons) == 3 and sender.outbox.dead == 3
    assert "262145 bytes" in reasons[2] and "U+FFFF" in reasons[3] and "InvalidParameterValue" in reasons[4]
    assert {m.deduplication_id for m in queue.sent} >= {"d-g-0", "d-g-4"}


def test_sender_survives_unexpected_errors_and_keeps_sending(tmp_path):
    """An exception nobody expected is logged, the rows stay, and a later attempt sends them."""
    calls = []

    def explode_once(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return []

    sender = _sender(tmp_path, FakeQueue(fail=explode_once))
    sender.outbox.add([_message(0)])
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    assert sender.running
    sender.stop(timeout=1)
    assert len(calls) == 2


def test_sender_retries_transport_errors_and_refused_entries(tmp_path):
    """A failed call and an entry refused as SQS's own fault are both sent again."""
    attempts = []

    def flaky(batch):
        attempts.append(batch)
        if len(attempts) == 1:
            raise EndpointConnectionError(endpoint_url="http://sqs")
        if len(attempts) == 2:
            return [EntryFailure(message=batch[0], sender_fault=False, code="InternalError", reason="retry")]
        return []

    sender = _sender(tmp_path, FakeQueue(fail=flaky))
    sender.outbox.add([_message(0)])
    sender.start()
    _wait(lambda: sender.outbox.pending == 0)
    sender.stop(timeout=1)
    assert len(attempts) == 3 and sender.outbox.dead == 0 and sender.state.last_send_ok


def test_sender_stop_returns_by_deadline_while_a_call_hangs(tmp_path):
    """A call that never returns cannot hold stop() past its timeout; the row stays in the outbox."""
    sender = _sender(tmp_path, FakeQueue(fail=lambda batch: threading.Event().wait(60) or []))
    sender.outbox.add([_message(0)])
    sender.start()
    began = time.monotonic()
    left = sender.stop(timeout=0.5)
    assert time.monotonic() - began < 1.5
    assert left == 1
