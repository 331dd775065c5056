"""Drains accepted events to SQS in the background, in batches of up to 10.

Requests never wait on SQS: they hand their messages to ``submit`` and return. A
single sender thread collects up to 10 messages (or whatever arrived within the
linger time), sends them with SendMessageBatch, and retries what SQS refused with
exponential backoff for as long as the service runs. On shutdown it keeps trying
until the deadline, then logs every unsent message body, so nothing disappears
without a trace.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from cv_analytics.aws.sqs import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, OutgoingMessage, QueueSender

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.1
_RETRY_BASE_SECONDS = 0.2
_RETRY_MAX_SECONDS = 5.0


@dataclass
class PublisherStats:
    accepted: int = 0
    sent: int = 0
    send_failures: int = 0
    abandoned: int = 0


class BackgroundPublisher:
    def __init__(
        self,
        *,
        sender_factory: Callable[[], QueueSender],
        capacity: int,
        linger_seconds: float,
    ) -> None:
        self._sender_factory = sender_factory
        self._sender: QueueSender | None = None
        self._capacity = capacity
        self._linger = linger_seconds
        self._queue: queue.Queue[OutgoingMessage] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._give_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-publisher", daemon=True)
        self.stats = PublisherStats()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def sender(self) -> QueueSender:
        if self._sender is None:
            self._sender = self._sender_factory()
        return self._sender

    def start(self) -> None:
        self._thread.start()

    def submit(self, messages: Sequence[OutgoingMessage]) -> bool:
        """Queue all of ``messages``, or none of them when the buffer cannot take them all."""
        with self._lock:
            if self._stopping.is_set() or self.pending + len(messages) > self._capacity:
                return False
            for message in messages:
                self._queue.put_nowait(message)
            self.stats.accepted += len(messages)
        return True

    def stop(self, *, timeout: float) -> int:
        """Flush what is pending within ``timeout`` seconds; returns how many were abandoned."""
        self._stopping.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._give_up.set()
            self._thread.join()
        leftovers = self._drain()
        for message in leftovers:
            log.error("unsent analytics event abandoned at shutdown: %s", message.body)
        self.stats.abandoned += len(leftovers)
        return self.stats.abandoned

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._collect()
            if batch and not self._deliver(batch):
                return

    def _collect(self) -> list[OutgoingMessage]:
        try:
            first = self._queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            return []
        batch, size = [first], first.size
        deadline = time.monotonic() + self._linger
        while len(batch) < MAX_BATCH_ENTRIES:
            message = self._next_within(deadline)
            if message is None:
                break
            if size + message.size > MAX_BATCH_BYTES:
                self._requeue_first(message)
                break
            batch.append(message)
            size += message.size
        return batch

    def _next_within(self, deadline: float) -> OutgoingMessage | None:
        """The next message before ``deadline``; at shutdown, only what is already queued."""
        while True:
            remaining = 0.0 if self._stopping.is_set() else deadline - time.monotonic()
            try:
                if remaining <= 0:
                    return self._queue.get_nowait()
                return self._queue.get(timeout=min(remaining, _POLL_SECONDS))
            except queue.Empty:
                if remaining <= 0:
                    return None

    def _requeue_first(self, message: OutgoingMessage) -> None:
        # queue.Queue has no push-front; rebuild it so the message keeps its place.
        with self._lock:
            rest = self._drain()
            for item in (message, *rest):
                self._queue.put_nowait(item)

    def _deliver(self, batch: list[OutgoingMessage]) -> bool:
        """Send ``batch`` until all is accepted; False if shutdown gave up on it."""
        pending, attempt = batch, 0
        while True:
            remaining = self._send_once(pending)
            self.stats.sent += len(pending) - len(remaining)
            if not remaining:
                return True
            attempt += 1
            self.stats.send_failures += 1
            if self._give_up.wait(min(_RETRY_MAX_SECONDS, _RETRY_BASE_SECONDS * 2**attempt)):
                self._return_unsent(remaining)
                return False
            pending = remaining

    def _send_once(self, messages: list[OutgoingMessage]) -> list[OutgoingMessage]:
        try:
            failed = self.sender().send_batch(messages)
        except (BotoCoreError, ClientError) as exc:
            log.warning("SendMessageBatch failed for %d events, will retry: %s", len(messages), exc)
            return messages
        if failed:
            log.warning("SQS refused %d of %d events, will retry", len(failed), len(messages))
        return failed

    def _return_unsent(self, messages: list[OutgoingMessage]) -> None:
        for message in messages:
            self._queue.put_nowait(message)

    def _drain(self) -> list[OutgoingMessage]:
        drained = []
        while True:
            try:
                drained.append(self._queue.get_nowait())
            except queue.Empty:
                return drained
