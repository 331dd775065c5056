"""Moves the outbox to SQS: several SendMessageBatch calls at once, FIFO order kept per group.

One dispatcher thread reads the oldest pending rows and plans batches of up to 10; a small
pool of worker threads sends them. A message group is never in two batches in flight at
once, and a group's rows are sent in outbox order, so SQS FIFO order holds per group while
different groups travel in parallel (200 events/s reach an SQS 300 ms away).

Rows leave the outbox only after SQS acknowledges them, entry by entry. A message SQS can
never take (too big, characters it refuses, or an entry it refuses as the sender's fault)
moves to the outbox's dead-letter table with the reason; everything else is retried with
backoff for as long as the service runs, and after a restart. Nothing in one message can
stop the others, and an unexpected error is logged and the loop carries on.

Worker threads are daemons and the sender's boto3 client has short timeouts and no retries
of its own (this loop retries), so a call SQS never answers cannot hold up shutdown.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cv_analytics.aws.sqs import MAX_BATCH_ENTRIES, EntryFailure, QueueSender, fits_in_batch, message_problem
from cv_ingest_api.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.1
_RETRY_BASE_SECONDS = 0.2
_RETRY_MAX_SECONDS = 2.0
# Whole-call refusals that blame a message, not the queue or the network: the batch is
# split and each message tried alone, so only the guilty one is dead-lettered.
_MESSAGE_FAULT_CODES = frozenset(
    {
        "InvalidMessageContents",
        "AWS.SimpleQueueService.InvalidMessageContents",
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        "InvalidParameterValue",
        "InvalidParameterValueException",
    }
)


@dataclass
class SenderState:
    """What the sender knows about itself; /readyz reads this and never calls SQS."""

    sent: int = 0
    failed_attempts: int = 0
    last_send_ok: bool | None = None
    last_error: str | None = None
    oldest_accepted_at: float | None = None


@dataclass
class _InFlight:
    ids: set[int] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    batches: int = 0


class OutboxSender:
    def __init__(
        self,
        *,
        outbox: Outbox,
        sender_factory: Callable[[], QueueSender],
        concurrency: int,
        linger_seconds: float,
    ) -> None:
        self.outbox = outbox
        self._sender_factory = sender_factory
        self._sender: QueueSender | None = None
        self._concurrency = concurrency
        self._linger = linger_seconds
        self.state = SenderState()
        self._lock = threading.Lock()
        self._in_flight = _InFlight()
        self._alone: set[int] = set()
        self._failures_in_row = 0
        self._retry_at = 0.0
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._halt = threading.Event()
        self._work: queue.Queue[list[OutboxRow]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._halt.is_set()

    def start(self) -> None:
        for number in range(self._concurrency):
            threading.Thread(target=self._work_loop, name=f"outbox-send-{number}", daemon=True).start()
        self._thread.start()

    def wake(self) -> None:
        """New rows are in the outbox."""
        self._wakeup.set()

    def stop(self, *, timeout: float) -> int:
        """Send what is pending for up to ``timeout`` seconds; returns how many stay in the outbox."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wakeup.set()
        while time.monotonic() < deadline and not self._idle():
            time.sleep(0.02)
        self._halt.set()
        self._wakeup.set()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        left = self.outbox.pending
        if left:
            log.error(
                "%d accepted events not yet acknowledged by SQS stay in the outbox %s; "
                "they are sent on the next start",
                left,
                self.outbox.path,
            )
        self.outbox.close()
        return left

    def status(self) -> dict[str, Any]:
        oldest = self.state.oldest_accepted_at
        return {
            "sender": "running" if self.running else "stopped",
            "pending": self.outbox.pending,
            "oldest_pending_age_s": round(max(0.0, time.time() - oldest), 3) if oldest else 0.0,
            "dead": self.outbox.dead,
            "sent": self.state.sent,
            "last_send_ok": self.state.last_send_ok,
            "last_error": self.state.last_error,
        }

    def _idle(self) -> bool:
        with self._lock:
            return self.outbox.pending == 0 and self._in_flight.batches == 0

    # --- the dispatcher ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._halt.is_set():
            try:
                self._wakeup.clear()
                pause = self._dispatch_round()
            except Exception as exc:
                log.exception("outbox sender: unexpected error; carrying on")
                self._record_failure(f"internal error: {exc!r}")
                pause = self._backoff_left()
            self._wakeup.wait(min(_POLL_SECONDS, pause) if pause > 0 else _POLL_SECONDS)

    def _dispatch_round(self) -> float:
        """Plan and hand out batches; returns how long to wait before the next round."""
        self.state.oldest_accepted_at = self.outbox.oldest_accepted_at()
        if (pause := self._backoff_left()) > 0:
            return pause
        with self._lock:
            free = self._concurrency - self._in_flight.batches
            in_flight_rows = len(self._in_flight.ids)
        # The queue is looked up first, even with nothing to send, so /readyz can tell.
        if self._queue_sender() is None:
            return self._backoff_left()
        if free <= 0 or self.outbox.pending == 0:
            return _POLL_SECONDS
        rows = self.outbox.oldest(limit=in_flight_rows + free * MAX_BATCH_ENTRIES * 2)
        for batch in self._plan(rows, free=free):
            self._work.put(batch)
        return _POLL_SECONDS

    def _queue_sender(self) -> QueueSender | None:
        if self._sender is None:
            try:
                self._sender = self._sender_factory()
            except (BotoCoreError, ClientError) as exc:
                log.warning("outbox sender: cannot find the queue yet: %s", exc)
                self._record_failure(f"queue lookup failed: {exc}")
            else:
                self._record_success()
        return self._sender

    def _plan(self, rows: list[OutboxRow], *, free: int) -> list[list[OutboxRow]]:
        """Batches to send now: each group in at most one batch, its rows in outbox order."""
        batches: list[list[OutboxRow]] = []
        current: list[OutboxRow] = []
        current_bytes = 0
        with self._lock:
            busy = set(self._in_flight.groups)
            for row in rows:
                if len(batches) == free:
                    break
                group = row.message.group_id
                if row.id in self._in_flight.ids or group in busy:
                    busy.add(group)
                    continue
                if problem := message_problem(row.message):
                    self._dead_letter([row], reason=problem)
                    continue
                alone = row.id in self._alone
                if current and (
                    alone
                    or not fits_in_batch(entries=len(current), size=current_bytes, message=row.message)
                    or current[0].id in self._alone
                ):
                    busy.update(r.message.group_id for r in current)
                    batches.append(current)
                    current, current_bytes = [], 0
                    if len(batches) == free or group in busy:
                        continue
                current.append(row)
                current_bytes += row.message.size
            if current and len(batches) < free and self._due(current):
                batches.append(current)
            for batch in batches:
                self._claim(batch)
        return batches

    def _due(self, partial: list[OutboxRow]) -> bool:
        """A partial batch waits up to the linger time for company (not when stopping)."""
        return self._stopping.is_set() or time.time() - partial[0].accepted_at >= self._linger

    def _claim(self, batch: list[OutboxRow]) -> None:
        self._in_flight.batches += 1
        self._in_flight.ids.update(row.id for row in batch)
        self._in_flight.groups.update(row.message.group_id for row in batch)

    def _release(self, batch: list[OutboxRow]) -> None:
        with self._lock:
            self._in_flight.batches -= 1
            self._in_flight.ids.difference_update(row.id for row in batch)
            self._in_flight.groups.difference_update(row.message.group_id for row in batch)
        self._wakeup.set()

    # --- the workers ---------------------------------------------------------------------------

    def _work_loop(self) -> None:
        while True:
            batch = self._work.get()
            try:
                self._deliver(batch)
            except Exception as exc:
                log.exception(
                    "outbox sender: unexpected error sending %d events; they stay pending", len(batch)
                )
                self._record_failure(f"internal error: {exc!r}")
            finally:
                self._release(batch)

    def _deliver(self, batch: list[OutboxRow]) -> None:
        assert self._sender is not None
        try:
            failures = self._sender.send_batch_results([row.message for row in batch])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MESSAGE_FAULT_CODES:
                self._isolate(batch, reason=f"SQS refused the message: {exc}")
                return
            self._record_failure(str(exc))
            log.warning("SendMessageBatch failed for %d events; they stay in the outbox: %s", len(batch), exc)
            return
        except BotoCoreError as exc:
            self._record_failure(str(exc))
            log.warning("SendMessageBatch failed for %d events; they stay in the outbox: %s", len(batch), exc)
            return
        self._settle(batch, failures)

    def _settle(self, batch: list[OutboxRow], failures: list[EntryFailure]) -> None:
        by_message = {id(row.message): row for row in batch}
        refused = {id(failure.message) for failure in failures}
        sent = [row.id for row in batch if id(row.message) not in refused]
        self.outbox.mark_sent(sent)
        with self._lock:
            self.state.sent += len(sent)
        retry = []
        for failure in failures:
            row = by_message[id(failure.message)]
            if failure.sender_fault:
                self._dead_letter([row], reason=f"SQS refused the message: {failure.code}: {failure.reason}")
            else:
                retry.append(f"{failure.code}: {failure.reason}")
        if retry:
            self._record_failure(f"SQS refused {len(retry)} entries: {retry[0]}")
        else:
            self._record_success()

    def _isolate(self, batch: list[OutboxRow], *, reason: str) -> None:
        if len(batch) == 1:
            self._dead_letter(batch, reason=reason)
            return
        # Which message is to blame? Try each alone next time.
        with self._lock:
            self._alone.update(row.id for row in batch)

    def _dead_letter(self, rows: list[OutboxRow], *, reason: str) -> None:
        self.outbox.move_to_dead_letters(rows, reason=reason)
        for row in rows:
            self._alone.discard(row.id)
            log.error(
                "analytics event %s can never be sent (%s); kept in the outbox's dead_letters table",
                row.message.deduplication_id,
                reason,
            )

    # --- failure bookkeeping -------------------------------------------------------------------

    def _record_success(self) -> None:
        with self._lock:
            self._failures_in_row = 0
            self._retry_at = 0.0
            self.state.last_send_ok = True
            self.state.last_error = None

    def _record_failure(self, reason: str) -> None:
        with self._lock:
            self._failures_in_row += 1
            self.state.failed_attempts += 1
            self.state.last_send_ok = False
            self.state.last_error = reason
            delay = min(_RETRY_MAX_SECONDS, _RETRY_BASE_SECONDS * 2 ** min(self._failures_in_row, 10))
            self._retry_at = time.monotonic() + delay

    def _backoff_left(self) -> float:
        return max(0.0, self._retry_at - time.monotonic())
