"""The embedded emulator's corrections to moto's SQS, on moto's own queue model (no server)."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import pytest

from cv_analytics.embedded_server import serialize_message_deletes

# moto's queue model, whose internals the correction patches (reached untyped, as there).
models: Any = importlib.import_module("moto.sqs.models")


def _message(name: str) -> Any:
    message = models.Message(name, f"body of {name}")
    message.receipt_handle = f"handle-{name}"
    return message


def _delete_and_send_while_deleting(queue: Any, *, during: Any, delete: Any, send: Any) -> threading.Thread:
    """When the delete under way reaches ``during``, another thread deletes ``delete`` and
    sends ``send`` (as a second poller and the ingest sender do); returns that thread."""
    other = threading.Thread(
        target=lambda: (queue.delete_message(delete.receipt_handle), queue.add_message(send))
    )
    original = during.had_receipt_handle

    def interleaved(receipt_handle: str) -> bool:
        if not other.is_alive() and other.ident is None:
            other.start()
            other.join(0.5)  # it finishes at once unless the delete under way holds the queue's lock
        return bool(original(receipt_handle))

    during.had_receipt_handle = interleaved
    return other


def test_serialize_message_deletes_send_during_two_deletes_keeps_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message sent while two deletes run at once stays in the queue, and both deleted ones stay deleted."""
    monkeypatch.setattr(models.Queue, "delete_message", models.Queue.delete_message)  # undone after the test
    serialize_message_deletes()
    queue = models.Queue("stall-check", "us-east-1", "123456789012")
    first, middle, second, sent = (_message(name) for name in ("first", "middle", "second", "sent"))
    for message in (first, middle, second):
        queue.add_message(message)
    other = _delete_and_send_while_deleting(queue, during=middle, delete=second, send=sent)

    queue.delete_message(first.receipt_handle)
    other.join()

    # Without the lock: ["middle", "second"], the sent message lost and a deleted one back.
    assert [message.id for message in queue._messages] == ["middle", "sent"]
