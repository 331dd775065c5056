"""Several runner pollers on one FIFO queue: every message processed once, each group in order."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from cv_analytics.runner.sqs_source import SqsEventSource

GROUPS, PER_GROUP, POLLERS = 6, 15, 4


class OrderRecorder:
    """An invoker that records (group, sequence) per message and lingers, so batches overlap."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: dict[str, list[int]] = defaultdict(list)
        self.overlapped = False
        self._active = 0
        self._lock = threading.Lock()

    def invoke(self, payload: dict[str, Any]) -> Any:
        with self._lock:
            self._active += 1
            self.overlapped |= self._active > 1
        try:
            for record in payload["Records"]:
                group, sequence = record["body"].split(":")
                with self._lock:
                    self.seen[group].append(int(sequence))
            time.sleep(0.02)  # a processor takes time: gives another poller a chance to overlap
        finally:
            with self._lock:
                self._active -= 1
        return {"batchItemFailures": []}


def _send_groups(sqs: Any, queue_url: str) -> None:
    for sequence in range(PER_GROUP):
        entries = [
            {
                "Id": str(group),
                "MessageBody": f"g{group}:{sequence}",
                "MessageGroupId": f"g{group}",
                "MessageDeduplicationId": f"g{group}-{sequence}",
            }
            for group in range(GROUPS)
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def _poll_until_done(source: SqsEventSource, *, expected: int, timeout: float) -> None:
    stop, deadline = threading.Event(), time.monotonic() + timeout
    threads = [threading.Thread(target=source.run, args=(stop,), daemon=True) for _ in range(POLLERS)]
    for thread in threads:
        thread.start()
    while source.deleted < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(10)


def test_sqs_source_pollers_keep_each_group_in_order(stack):
    """GIVEN six FIFO groups of 15 messages WHEN four pollers drain the queue THEN each group
    is processed exactly once, in send order."""
    sqs = stack.client("sqs")
    queue_url = stack.resources.queue_url
    _send_groups(sqs, queue_url)
    recorder = OrderRecorder()
    source = SqsEventSource(sqs=sqs, queue_url=queue_url, invoker=recorder, batch_size=3, wait_seconds=1)

    _poll_until_done(source, expected=GROUPS * PER_GROUP, timeout=120)

    assert dict(recorder.seen) == {f"g{group}": list(range(PER_GROUP)) for group in range(GROUPS)}
    assert source.deleted == GROUPS * PER_GROUP


def test_sqs_source_pollers_process_batches_concurrently(stack):
    """GIVEN several groups WHEN four pollers drain the queue THEN batches overlap in time (the
    pollers are not serialised)."""
    sqs = stack.client("sqs")
    _send_groups(sqs, stack.resources.queue_url)
    recorder = OrderRecorder()
    source = SqsEventSource(
        sqs=sqs, queue_url=stack.resources.queue_url, invoker=recorder, batch_size=3, wait_seconds=1
    )

    _poll_until_done(source, expected=GROUPS * PER_GROUP, timeout=120)

    assert recorder.overlapped
