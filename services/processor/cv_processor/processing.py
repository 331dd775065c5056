"""What the processor does with one SQS message.

Failures are split in two. A message that can never succeed is parked in the DLQ with
its reason and acknowledged, so it cannot hold up its FIFO group: text that is not JSON
(``not-json``), an event that breaks the event contract or its limits (``invalid-event``),
or one DynamoDB could never store (``unstorable``: an item over 400 KB, a write DynamoDB
refuses with ValidationException). Every check runs before the first write, so a parked
message leaves no half-written row behind. Anything else (throttling, an endpoint that is
down) propagates, is reported as a batch item failure and retried by SQS, then redriven
after 3 receives.

Email addresses and phone numbers in the query and the reasoning are redacted before
anything is stored (unless redaction is switched off); see ``_redacted``.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from cv_analytics.aws.dynamodb import UnstorableItem
from cv_analytics.aws.sqs import DeadLetter, DeadLetterQueue
from cv_analytics.events import InvalidEvent, QueryEvent, ResponseEvent, parse_event
from cv_analytics.pii import redact
from cv_analytics.records import RecordUpdate, UndatableEvent, record_update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from cv_analytics.settings import ResourceNames
    from cv_processor.settings import ProcessorSettings

log = logging.getLogger(__name__)

# Free text a visitor may have typed contact details into. The reasoning is included
# because it may quote the question (an LLM-written explanation would); a false positive
# there costs nothing, a leak would. Skill names and metadata are not the visitor's text.
REDACTED_FIELDS = ("query", "reasoning")


class ErrorKind(StrEnum):
    NOT_JSON = "not-json"
    INVALID_EVENT = "invalid-event"
    UNSTORABLE = "unstorable"


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    message_id: str
    body: str
    group_id: str


class RawEvents(Protocol):
    """Where every event is kept as received (``aws.dynamodb.RawEventStore``)."""

    def check(self, *, event: QueryEvent | ResponseEvent, body: str) -> int: ...
    def put(self, *, event: QueryEvent | ResponseEvent, body: str) -> None: ...


class Records(Protocol):
    """Where correlated records are written (``aws.dynamodb.AnalyticsStore``)."""

    def check(self, update: RecordUpdate) -> int: ...
    def write(self, update: RecordUpdate) -> None: ...


class DeadLetters(Protocol):
    def park(self, letter: DeadLetter) -> None: ...


class MessageProcessor:
    """One message in, two writes out: the raw event, then its record's update.

    What the update holds is ``records.record_update``'s decision; the stores only write.
    """

    def __init__(
        self,
        *,
        raw_events: RawEvents,
        records: Records,
        dead_letters: DeadLetters,
        record_ttl_days: int,
        redact_pii: bool = True,
    ) -> None:
        self._raw_events = raw_events
        self._records = records
        self._dead_letters = dead_letters
        self._record_ttl_days = record_ttl_days
        self._redact_pii = redact_pii

    @classmethod
    def from_settings(
        cls,
        settings: ProcessorSettings | None = None,
        *,
        dynamodb: DynamoDBClient | None = None,
        sqs: SQSClient | None = None,
    ) -> MessageProcessor:
        """The processor's composition root: the stores on ``settings``' tables (the
        environment's by default) and the DLQ, with the clients given or built here.

        The DLQ's client and URL are resolved when the first message is parked.
        """
        from cv_analytics.aws.clients import aws_client
        from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore
        from cv_processor.metrics import CountedDeadLetters, MeasuredRecords
        from cv_processor.settings import ProcessorSettings

        settings = settings or ProcessorSettings()
        dynamodb = dynamodb or aws_client("dynamodb")
        # The metric wrappers count into the invocation that runs them (cv_processor.metrics)
        # and do nothing outside one.
        return cls(
            raw_events=RawEventStore(
                client=dynamodb, table_name=settings.query_events_table, ttl_days=settings.raw_event_ttl_days
            ),
            records=MeasuredRecords(AnalyticsStore(client=dynamodb, table_name=settings.analytics_table)),
            dead_letters=CountedDeadLetters(DeadLetterQueueOnDemand(settings, sqs=sqs)),
            record_ttl_days=settings.record_ttl_days,
            redact_pii=settings.pii_redaction,
        )

    def process(self, message: IncomingMessage) -> str:
        """Handle one message; returns what happened ("recorded" or "parked")."""
        try:
            event, body, update = self._storable(message)
        except InvalidEvent as exc:
            return self._park(message, reason=exc.reason, kind=ErrorKind(exc.kind))
        except (UnstorableItem, UndatableEvent) as exc:
            return self._park(message, reason=str(exc), kind=ErrorKind.UNSTORABLE)
        try:
            self._raw_events.put(event=event, body=body)
            self._records.write(update)
        except UnstorableItem as exc:
            return self._park(message, reason=str(exc), kind=ErrorKind.UNSTORABLE)
        return "recorded"

    def _storable(self, message: IncomingMessage) -> tuple[QueryEvent | ResponseEvent, str, RecordUpdate]:
        """The event, its raw body and its record update as they will be written, checked
        before any write."""
        event = parse_event(message.body)
        event, body = _redacted(event, message.body) if self._redact_pii else (event, message.body)
        update = record_update(event, ttl_days=self._record_ttl_days)
        self._raw_events.check(event=event, body=body)
        self._records.check(update)
        return event, body, update

    def _park(self, message: IncomingMessage, *, reason: str, kind: ErrorKind) -> str:
        log.warning("parking message %s in the DLQ (%s): %s", message.message_id, kind, reason)
        self._dead_letters.park(
            DeadLetter(
                body=message.body,
                reason=reason,
                source_message_id=message.message_id,
                group_id=message.group_id,
                kind=kind.value,
            )
        )
        return "parked"


class DeadLetterQueueOnDemand:
    """The DLQ, resolved when the first message is parked: an SQS client and, without
    DLQ_URL, a GetQueueUrl call that invocations parking nothing never pay for."""

    def __init__(self, names: ResourceNames, *, sqs: SQSClient | None = None) -> None:
        self._names = names
        self._sqs = sqs
        self._queue: DeadLetterQueue | None = None
        self._lock = threading.Lock()

    def park(self, letter: DeadLetter) -> None:
        self._resolved().park(letter)

    def _resolved(self) -> DeadLetterQueue:
        with self._lock:
            if self._queue is None:
                from cv_analytics.aws.clients import aws_client, dead_letter_queue_url

                sqs = self._sqs or aws_client("sqs")
                self._queue = DeadLetterQueue(client=sqs, queue_url=dead_letter_queue_url(sqs, self._names))
            return self._queue


def _redacted(event: QueryEvent | ResponseEvent, body: str) -> tuple[QueryEvent | ResponseEvent, str]:
    """``event`` and ``body`` with PII removed from the free-text fields.

    A body without PII is kept byte for byte. Otherwise the raw table gets the body
    re-serialised (compact JSON, same keys in the same order, every other value as sent)
    with the redacted text in place: storing the original would keep the very PII that
    the analytics record drops.
    """
    changes = {}
    for name in REDACTED_FIELDS:
        text = getattr(event, name, None)
        if isinstance(text, str) and (clean := redact(text)) != text:
            changes[name] = clean
    if not changes:
        return event, body
    payload = json.loads(body) | changes
    return event.model_copy(update=changes), json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
