"""What the processor does with one SQS message.

Failures are split in two. A message that can never succeed (not JSON, not a valid
event) is parked in the DLQ with its reason and acknowledged, so it cannot hold up
its FIFO group. Anything else (throttling, an endpoint that is down) propagates, is
reported as a batch item failure and retried by SQS, then redriven after 3 receives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore
from cv_analytics.aws.sqs import DeadLetter, DeadLetterQueue
from cv_analytics.events import InvalidEvent, parse_event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    message_id: str
    body: str
    group_id: str


class MessageProcessor:
    def __init__(
        self, *, raw_events: RawEventStore, records: AnalyticsStore, dead_letters: DeadLetterQueue
    ) -> None:
        self._raw_events = raw_events
        self._records = records
        self._dead_letters = dead_letters

    def process(self, message: IncomingMessage) -> str:
        """Handle one message; returns what happened ("recorded" or "parked")."""
        try:
            event = parse_event(message.body)
        except InvalidEvent as exc:
            self._park(message, reason=exc.reason)
            return "parked"
        self._raw_events.put(event=event, body=message.body)
        self._records.record(event)
        return "recorded"

    def _park(self, message: IncomingMessage, *, reason: str) -> None:
        log.warning("parking message %s in the DLQ: %s", message.message_id, reason)
        self._dead_letters.park(
            DeadLetter(
                body=message.body,
                reason=reason,
                source_message_id=message.message_id,
                group_id=message.group_id,
            )
        )
