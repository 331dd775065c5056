"""The parked messages: the SQS DLQ and the ingest outbox's dead letters; redrive.

Looking never consumes. A DLQ message is *peeked*: received with a short visibility timeout
(so the next receive moves on to other messages), then made visible again at once
(ChangeMessageVisibility 0). Receiving raises a DLQ message's receive count, which is
harmless: the DLQ itself has no redrive policy.

FIFO semantics shape what can be seen: while a message of a group is in flight, SQS returns
no later message of that group. So at most the first 10 messages of each group (one receive's
worth) can be seen without removing them, and the worker sends everything in one group.
``ParkedListing.hidden`` says how many are beyond sight.

Redrive re-validates each message with the event models (``cv_analytics.events``), sends it
back to the main queue in its own MessageGroupId and deletes it from the DLQ only after
SendMessage has answered. The deduplication id is derived from the DLQ MessageId, so a
redrive retried after a failure between send and delete is not doubled (within SQS's 5-minute
window; the processor's writes are idempotent beyond it). A message that fails re-validation
stays parked with the new reason. ``redrive(everything=True)`` has to get past such a message
to reach the rest of its group: it parks a copy at the back of the group (sent, then the old
one deleted), which changes its DLQ MessageId but not its id here (``sourceMessageId``) nor
when it was first parked (``firstParkedAt``).

Outbox dead letters are listed and shown, never redriven: SQS refused them for good (size,
characters), so sending them again cannot succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cv_analytics.aws.clients import aws_client, dead_letter_queue_url, main_queue_url
from cv_analytics.aws.sqs import OutgoingMessage, message_problem
from cv_analytics.events import InvalidEvent, parse_event
from cv_analytics.ops._aws import default_outbox_path
from cv_analytics.ops.outbox_view import outbox_dead_letters
from cv_analytics.settings import ResourceNames

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

OUTBOX_PREFIX = "outbox:"
MAX_RECEIVES_KIND = "max-receives"
OUTBOX_KIND = "outbox"
_MAX_RECEIVES_REASON = (
    "moved here by the main queue's redrive policy: processing failed on every receive "
    "(throttling, an endpoint down, a crash); no reason was recorded"
)
# Long enough to gather the rest of the DLQ while these stay hidden; released at once after.
_PEEK_VISIBILITY_SECONDS = 30
_RECEIVE_BATCH = 10
_DEFAULT_GROUP = "analytics"


class ParkedMessageNotFound(LookupError):
    """No parked message with that id can be seen."""


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """One parked message, from the DLQ (``source="sqs"``) or the ingest outbox."""

    id: str
    source: Literal["sqs", "outbox"]
    body: str
    group_id: str | None
    reason: str
    kind: str
    parked_at: datetime | None
    receive_count: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParkedListing:
    messages: tuple[ParkedMessage, ...]
    dlq_count: int
    # In the DLQ but not visible without removing the first messages of their group (FIFO).
    hidden: int


@dataclass(frozen=True, slots=True)
class RedriveOutcome:
    id: str
    action: Literal["redriven", "would-redrive", "kept"]
    reason: str | None = None
    main_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class RedriveReport:
    outcomes: tuple[RedriveOutcome, ...]
    dry_run: bool
    # DLQ messages the run could not see (FIFO: behind the first 10 of their group).
    unseen: int = 0

    @property
    def redriven(self) -> int:
        return sum(outcome.action in ("redriven", "would-redrive") for outcome in self.outcomes)

    @property
    def kept(self) -> int:
        return sum(outcome.action == "kept" for outcome in self.outcomes)


def parked_from_sqs(message: MessageTypeDef) -> ParkedMessage:
    """A received DLQ message as a ParkedMessage (pure: its attributes say everything)."""
    custom = {
        name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()
    }
    system = message.get("Attributes", {})
    sent = system.get("SentTimestamp")
    count = system.get("ApproximateReceiveCount")
    kind = custom.get("errorKind")
    # A copy parked again by a redrive keeps the first parking time (see _park_again).
    first = custom.get("firstParkedAt") or sent
    return ParkedMessage(
        id=custom.get("sourceMessageId") or message["MessageId"],
        source="sqs",
        body=message.get("Body", ""),
        group_id=system.get("MessageGroupId"),
        reason=custom.get("errorReason") or _MAX_RECEIVES_REASON,
        kind=kind or MAX_RECEIVES_KIND,
        parked_at=datetime.fromtimestamp(int(first) / 1000, tz=UTC) if first else None,
        receive_count=int(count) if count else None,
        attributes=custom,
    )


def revalidation_problem(body: str, *, now_ms: int | None = None) -> tuple[str, str] | None:
    """Why ``body`` would be parked again, as (kind, reason), or None if it may go back."""
    try:
        parse_event(body, now_ms=now_ms)
    except InvalidEvent as exc:
        return exc.kind, exc.reason
    problem = message_problem(OutgoingMessage(body=body, group_id=_DEFAULT_GROUP, deduplication_id="-"))
    return ("invalid-event", problem) if problem else None


def dlq_depth(sqs: SQSClient, url: str) -> int:
    """Messages in the DLQ, visible or not (ApproximateNumberOfMessages[NotVisible])."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def peek(sqs: SQSClient, url: str, *, wait_seconds: int = 1) -> list[MessageTypeDef]:
    """Every DLQ message that can be seen, none consumed (all visible again on return)."""
    with _held(sqs, url) as held:
        while batch := _receive(sqs, url, wait_seconds=wait_seconds):
            held.extend(batch)
        return list(held)


def list_parked(
    *,
    sqs: SQSClient | None = None,
    names: ResourceNames | None = None,
    outbox_path: Path | None = None,
    wait_seconds: int = 1,
) -> ParkedListing:
    """The DLQ's visible messages, then the ingest outbox's dead letters (if it has any)."""
    sqs = sqs or aws_client("sqs")
    url = dead_letter_queue_url(sqs, names or ResourceNames())
    count = dlq_depth(sqs, url)
    peeked = peek(sqs, url, wait_seconds=wait_seconds) if count else []
    seen = [parked_from_sqs(message) for message in peeked]
    outbox = _outbox_parked(outbox_path)
    return ParkedListing(messages=(*seen, *outbox), dlq_count=count, hidden=max(0, count - len(seen)))


def show_parked(
    message_id: str,
    *,
    sqs: SQSClient | None = None,
    names: ResourceNames | None = None,
    outbox_path: Path | None = None,
) -> ParkedMessage:
    """One parked message by its id (as ``list_parked`` shows it)."""
    if message_id.startswith(OUTBOX_PREFIX):
        candidates = _outbox_parked(outbox_path)
    else:
        candidates = list(list_parked(sqs=sqs, names=names, outbox_path=None).messages)
    for message in candidates:
        if message.id == message_id:
            return message
    raise ParkedMessageNotFound(_not_found(message_id))


def redrive(
    *,
    message_id: str | None = None,
    everything: bool = False,
    dry_run: bool = False,
    sqs: SQSClient | None = None,
    names: ResourceNames | None = None,
    now_ms: int | None = None,
) -> RedriveReport:
    """Send parked messages that pass re-validation back to the main queue (see the module doc).

    Exactly one of ``message_id`` and ``everything``. ``dry_run`` changes nothing.
    """
    if (message_id is None) == (not everything):
        raise ValueError("redrive one message (message_id) or all of them (everything=True)")
    if message_id is not None and message_id.startswith(OUTBOX_PREFIX):
        raise ValueError("outbox dead letters cannot be redriven: SQS refused them for good")
    sqs = sqs or aws_client("sqs")
    names = names or ResourceNames()
    queues = _Queues(sqs=sqs, dlq=dead_letter_queue_url(sqs, names), main=main_queue_url(sqs, names))
    if everything and not dry_run:
        return _redrive_everything(queues, now_ms=now_ms)
    return _redrive_seen(queues, message_id=message_id, dry_run=dry_run, now_ms=now_ms)


@dataclass(frozen=True, slots=True)
class _Queues:
    sqs: SQSClient
    dlq: str
    main: str


def _redrive_seen(
    queues: _Queues, *, message_id: str | None, dry_run: bool, now_ms: int | None
) -> RedriveReport:
    """Redrive (or judge, in a dry run) the visible messages, or the one with ``message_id``."""
    total = dlq_depth(queues.sqs, queues.dlq)
    outcomes: list[RedriveOutcome] = []
    with _held(queues.sqs, queues.dlq) as held:
        while batch := _receive(queues.sqs, queues.dlq, wait_seconds=1):
            held.extend(batch)
        seen = len(held)
        chosen = [m for m in held if message_id is None or parked_from_sqs(m).id == message_id]
        if message_id is not None and not chosen:
            raise ParkedMessageNotFound(_not_found(message_id, hidden=total - seen))
        for message in chosen:
            outcomes.append(_judge_or_send(queues, message, dry_run=dry_run, now_ms=now_ms))
            if outcomes[-1].action == "redriven":
                held.remove(message)
    return RedriveReport(outcomes=tuple(outcomes), dry_run=dry_run, unseen=max(0, total - seen))


def _redrive_everything(queues: _Queues, *, now_ms: int | None) -> RedriveReport:
    """Work through every group, parking refused messages again at the back of theirs.

    A copy parked by this run reappearing means its group has been worked through: it is
    held (its group stays blocked) until the run ends, so the loop ends when nothing new
    comes.
    """
    outcomes: list[RedriveOutcome] = []
    reparked: set[str] = set()
    with _held(queues.sqs, queues.dlq) as held:
        while batch := _receive(queues.sqs, queues.dlq, wait_seconds=1):
            held.extend(batch)
            for message in batch:
                if message["MessageId"] in reparked:
                    continue  # lapped: stays held, so its group yields nothing more
                outcome = _judge_or_send(queues, message, dry_run=False, now_ms=now_ms)
                if outcome.action == "kept":
                    reparked.add(_park_again(queues, message, reason=outcome.reason or ""))
                held.remove(message)  # deleted from the DLQ either way
                outcomes.append(outcome)
    return RedriveReport(outcomes=tuple(outcomes), dry_run=False)


def _judge_or_send(
    queues: _Queues, message: MessageTypeDef, *, dry_run: bool, now_ms: int | None
) -> RedriveOutcome:
    parked = parked_from_sqs(message)
    problem = revalidation_problem(parked.body, now_ms=now_ms)
    if problem is not None:
        return RedriveOutcome(id=parked.id, action="kept", reason=f"{problem[0]}: {problem[1]}")
    if dry_run:
        return RedriveOutcome(id=parked.id, action="would-redrive")
    sent = queues.sqs.send_message(
        QueueUrl=queues.main,
        MessageBody=parked.body,
        MessageGroupId=parked.group_id or _DEFAULT_GROUP,
        MessageDeduplicationId=f"redrive-{message['MessageId']}",
    )
    # Only now is it safe to let go of the parked copy: the main queue holds the message.
    queues.sqs.delete_message(QueueUrl=queues.dlq, ReceiptHandle=message["ReceiptHandle"])
    return RedriveOutcome(id=parked.id, action="redriven", main_message_id=sent["MessageId"])


def _park_again(queues: _Queues, message: MessageTypeDef, *, reason: str) -> str:
    """Move a refused message to the back of its group; returns the copy's DLQ MessageId."""
    parked = parked_from_sqs(message)
    kind, _, why = reason.partition(": ")
    attributes = {
        "errorReason": f"still refused on redrive: {why}"[:1024],
        "errorKind": kind,
        "sourceMessageId": parked.id,
    }
    # Epoch ms as SQS wrote it (no float round trip); SQS refuses an empty value.
    first = parked.attributes.get("firstParkedAt") or message.get("Attributes", {}).get("SentTimestamp")
    if first:
        attributes["firstParkedAt"] = first
    copy = queues.sqs.send_message(
        QueueUrl=queues.dlq,
        MessageBody=parked.body,
        MessageGroupId=parked.group_id or _DEFAULT_GROUP,
        MessageDeduplicationId=f"recheck-{message['MessageId']}",
        MessageAttributes={name: {"DataType": "String", "StringValue": v} for name, v in attributes.items()},
    )
    queues.sqs.delete_message(QueueUrl=queues.dlq, ReceiptHandle=message["ReceiptHandle"])
    return copy["MessageId"]


def _receive(sqs: SQSClient, url: str, *, wait_seconds: int) -> list[MessageTypeDef]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=_RECEIVE_BATCH,
        VisibilityTimeout=_PEEK_VISIBILITY_SECONDS,
        WaitTimeSeconds=wait_seconds,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


@contextmanager
def _held(sqs: SQSClient, url: str) -> Iterator[list[MessageTypeDef]]:
    """A list of received messages that are all made visible again on exit, whatever happens."""
    held: list[MessageTypeDef] = []
    try:
        yield held
    finally:
        _release(sqs, url, held)


def _release(sqs: SQSClient, url: str, messages: Sequence[MessageTypeDef]) -> None:
    for start in range(0, len(messages), _RECEIVE_BATCH):
        chunk = messages[start : start + _RECEIVE_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(chunk)
            ],
        )


def _outbox_parked(outbox_path: Path | None) -> list[ParkedMessage]:
    path = outbox_path or default_outbox_path()
    if path is None or not path.exists():
        return []
    return [
        ParkedMessage(
            id=f"{OUTBOX_PREFIX}{letter.id}",
            source="outbox",
            body=letter.body,
            group_id=letter.group_id,
            reason=letter.reason,
            kind=OUTBOX_KIND,
            parked_at=datetime.fromtimestamp(letter.failed_at, tz=UTC),
        )
        for letter in outbox_dead_letters(path)
    ]


def _not_found(message_id: str, *, hidden: int = 0) -> str:
    text = f"no parked message {message_id!r} can be seen"
    if hidden > 0:
        text += (
            f"; {hidden} more are in the DLQ behind the first 10 of their FIFO group "
            "(redrive or remove those first, or use redrive --all)"
        )
    return text
