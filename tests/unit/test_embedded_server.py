"""The embedded emulator's corrections to moto's SQS, on moto's own queue model (no server)."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pytest

from cv_analytics.embedded_server import lighten_queue_statistics, lighten_receives, serialize_message_deletes

# moto's queue model, whose internals the correction patches (reached untyped, as there).
models: Any = importlib.import_module("moto.sqs.models")


_RELEASED_DELETE = models.Queue.delete_message


def _message(name: str) -> Any:
    message = models.Message(name, f"body of {name}")
    message.receipt_handle = f"handle-{name}"
    return message


class _DiscardHook(set):
    """A queue's pending set that, the first time a delete discards from it (the delete has
    read the message list and not yet written it back), runs ``then`` in another thread
    and gives it half a second: it finishes at once unless the delete holds the queue's lock."""

    def __init__(self, items: Any, then: Any) -> None:
        super().__init__(items)
        self.other = threading.Thread(target=then)

    def discard(self, item: Any) -> None:
        if self.other.ident is None:
            self.other.start()
            self.other.join(0.5)
        super().discard(item)


@pytest.mark.parametrize("released", [False, True], ids=["kit", "moto as released"])
def test_serialize_message_deletes_send_during_two_deletes_keeps_message(
    monkeypatch: pytest.MonkeyPatch, released: bool
) -> None:
    """A message sent while two deletes run at once stays in the queue, and both deleted ones
    stay deleted; moto as released loses it (so the interleaving is the one that matters)."""
    monkeypatch.setattr(models.Queue, "delete_message", models.Queue.delete_message)  # undone after the test
    if released:
        assert not getattr(_RELEASED_DELETE, "_serialized", False), (
            "moto's delete was patched before this module"
        )
        monkeypatch.setattr(models.Queue, "delete_message", _RELEASED_DELETE)
    else:
        serialize_message_deletes()
    queue = models.Queue("stall-check", "us-east-1", "123456789012")
    first, middle, second, sent = (_message(name) for name in ("first", "middle", "second", "sent"))
    for message in (first, middle, second):
        queue.add_message(message)
    hook = _DiscardHook(
        queue.pending_messages,
        then=lambda: (queue.delete_message(second.receipt_handle), queue.add_message(sent)),
    )
    queue._pending_messages = hook

    queue.delete_message(first.receipt_handle)
    hook.other.join()

    kept = [message.id for message in queue._messages]
    assert kept == (["middle", "second"] if released else ["middle", "sent"])


def test_serialize_message_deletes_answers_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handle deleted twice succeeds twice; an unknown handle is refused; a message's older
    handles delete it too, and then count as deleted."""
    monkeypatch.setattr(models.Queue, "delete_message", models.Queue.delete_message)
    serialize_message_deletes()
    queue = models.Queue("answers", "us-east-1", "123456789012")
    kept, deleted = _message("kept"), _message("deleted")
    queue.add_message(kept)
    queue.add_message(deleted)
    deleted.mark_received()  # a second receipt handle; the first still deletes it
    old_handle = deleted.all_receipt_handles[0]

    queue.delete_message(old_handle)
    queue.delete_message(deleted.receipt_handle)
    with pytest.raises(models.ReceiptHandleIsInvalid):
        queue.delete_message("never-handed-out")

    assert [message.id for message in queue._messages] == ["kept"]
    assert deleted.receipt_handle in queue.deleted_messages and deleted not in queue.pending_messages


def test_lighten_queue_statistics_send_batch_walks_no_queue(monkeypatch: pytest.MonkeyPatch):
    """GIVEN a FIFO queue holding 200 messages WHEN a batch of ten is sent THEN the queue is
    never walked to count its messages (each walk cost time in proportion to the queue's
    depth), and afterwards GetQueueAttributes' counts are exact."""
    lighten_queue_statistics()
    backend = models.SQSBackend(region_name="us-east-1", account_id="123456789012")
    backend.create_queue("deep.fifo", FifoQueue="true", ContentBasedDeduplication="false")
    entries = lambda first: {  # noqa: E731
        str(n): {"Id": str(n), "MessageBody": f"m{n}", "MessageGroupId": f"g{n % 7}",
                 "MessageDeduplicationId": f"d{n}", "MessageAttributes": {}, "DelaySeconds": None}
        for n in range(first, first + 10)
    }  # fmt: skip
    for first in range(0, 200, 10):
        backend.send_message_batch("deep.fifo", entries(first))
    walked = []
    visible = models.Message.visible
    monkeypatch.setattr(models.Message, "visible", property(lambda m: walked.append(1) or visible.fget(m)))

    backend.send_message_batch("deep.fifo", entries(200))

    assert walked == []
    counts = backend.get_queue_attributes("deep.fifo", ["ApproximateNumberOfMessages"])
    assert counts == {"ApproximateNumberOfMessages": 210}


def _deep_queue(backend: Any, name: str, count: int) -> None:
    backend.create_queue(name, FifoQueue="true", ContentBasedDeduplication="false")
    for n in range(count):
        backend.send_message(name, f"m{n}", group_id=f"g{n}", deduplication_id=f"d{n}")


def test_lighten_receives_walks_only_as_far_as_the_batch(monkeypatch: pytest.MonkeyPatch):
    """GIVEN a FIFO queue of 300 messages WHEN ten are received THEN they are the ten oldest,
    and far fewer than 300 messages were asked whether they are visible."""
    lighten_receives()
    backend = models.SQSBackend(region_name="us-east-1", account_id="123456789012")
    _deep_queue(backend, "deep.fifo", 300)
    asked = []
    visible = models.Message.visible
    monkeypatch.setattr(models.Message, "visible", property(lambda m: asked.append(1) or visible.fget(m)))

    received = backend.receive_message("deep.fifo", 10, 0, 30)

    assert [message.body for message in received] == [f"m{n}" for n in range(10)]
    assert len(asked) < 50
    counts = backend.get_queue_attributes("deep.fifo", ["ApproximateNumberOfMessages"])
    assert counts == {"ApproximateNumberOfMessages": 290}  # outside a receive, counted in full


def test_lighten_receives_long_poll_still_waits_and_wakes():
    """GIVEN an empty queue WHEN a long poll runs THEN it waits rather than spinning, and a
    message sent meanwhile is returned."""
    lighten_receives()
    backend = models.SQSBackend(region_name="us-east-1", account_id="123456789012")
    _deep_queue(backend, "empty.fifo", 0)
    sender = threading.Timer(
        0.3, lambda: backend.send_message("empty.fifo", "late", group_id="g", deduplication_id="late")
    )
    sender.start()

    received = backend.receive_message("empty.fifo", 10, 5, 30)

    sender.join()
    assert [message.body for message in received] == ["late"]
    assert backend.receive_message("empty.fifo", 10, 1, 30) == []  # the wait ends empty-handed
