"""The pipeline's health on one page: queue, DLQ, ingest outbox, runner and schedule.

What each figure is, and where it comes from:

- main queue: ApproximateNumberOfMessages (visible), ...NotVisible (in flight), ...Delayed.
  No age: SQS has no oldest-message attribute (ApproximateAgeOfOldestMessage is a CloudWatch
  metric, which emulators do not publish), and peeking the main queue would raise each
  message's receive count toward the redrive policy's maxReceiveCount and could park healthy
  messages. The age of work not yet queued is the outbox's.
- DLQ: its depth, and the reasons (``errorKind``) of the messages that can be peeked without
  consuming them (``dlq.peek``; FIFO shows the first 10 of each group). The DLQ is peeked
  only when it is not empty.
- ingest outbox: pending events, the oldest one's age and the dead letters, read from its
  SQLite file read-only.
- runner: the heartbeat file's mtime (``runner.heartbeat``) is its last poll that reached the
  queue. Its last schedule firing (time, week, the reporter's outcome) is the record it keeps
  beside the heartbeat (``runner.firing``), unknown until the schedule first fires there; the
  rule's last and next due times are shown as well, and the reports table's newest week (its
  status and time) is the durable trace of the last reporter run, scheduled or by hand.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pyawscron import AWSCron

from cv_analytics.aws.clients import aws_client, dead_letter_queue_url, main_queue_url
from cv_analytics.ops._aws import default_heartbeat, default_outbox_path
from cv_analytics.ops.dlq import dlq_depth, parked_from_sqs, peek
from cv_analytics.ops.outbox_view import OutboxUnreadable, summarise_outbox
from cv_analytics.runner.firing import FAILED, ScheduleFiring, firing_file_for, read_firing
from cv_analytics.runner.heartbeat import HeartbeatSettings
from cv_analytics.runner.schedule import UnsupportedSchedule, next_fire_time
from cv_analytics.settings import ResourceNames
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

_CRON = re.compile(r"^cron\((?P<body>.+)\)$")
# Weeks of the reports table looked at for the newest report.
_REPORT_WEEKS = 3


@dataclass(frozen=True, slots=True)
class QueueHealth:
    url: str
    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True, slots=True)
class DeadLetterHealth:
    url: str
    count: int
    # errorKind -> how many of the peeked messages; "max-receives": moved by the redrive policy.
    reasons: dict[str, int]
    oldest_age_seconds: float | None
    # How many were peeked (FIFO: at most the first 10 of each group).
    shown: int


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    path: str
    pending: int
    oldest_age_seconds: float | None
    dead: int


@dataclass(frozen=True, slots=True)
class RunnerHealth:
    heartbeat_file: str | None
    last_poll: datetime | None
    fresh: bool
    schedule_enabled: bool | None
    last_due: datetime | None
    next_due: datetime | None
    last_report_week: str | None
    last_report_status: str | None
    last_report_at: datetime | None
    # The runner's record of its newest schedule firing; None until it has fired (or unreadable).
    last_firing: ScheduleFiring | None = None


@dataclass(frozen=True, slots=True)
class PipelineHealth:
    checked_at: datetime
    queue: QueueHealth
    dead_letters: DeadLetterHealth
    outbox: OutboxHealth | None
    runner: RunnerHealth
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def pipeline_health(
    *,
    sqs: SQSClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    events: EventBridgeClient | None = None,
    names: ResourceNames | None = None,
    outbox_path: Path | None = None,
    heartbeat: HeartbeatSettings | None = None,
    now: datetime | None = None,
    peek_wait_seconds: int = 1,
) -> PipelineHealth:
    """Everything the status screen and the console's health panel show (module doc).

    ``peek_wait_seconds`` is the long poll that ends a DLQ peek (only when the DLQ is not
    empty); emulators answer a short poll (0) completely, SQS may not.
    """
    names = names or ResourceNames()
    now = now or datetime.now(UTC)
    sqs = sqs or aws_client("sqs")
    queue = queue_health(sqs, main_queue_url(sqs, names))
    dlq_url = dead_letter_queue_url(sqs, names)
    dead_letters = dead_letter_health(sqs, dlq_url, now=now, wait_seconds=peek_wait_seconds)
    outbox = outbox_health(outbox_path or default_outbox_path(), now=now)
    runner = runner_health(
        dynamodb=dynamodb or aws_client("dynamodb"),
        events=events or aws_client("events"),
        names=names,
        heartbeat=heartbeat or default_heartbeat(),
        now=now,
    )
    return PipelineHealth(
        checked_at=now,
        queue=queue,
        dead_letters=dead_letters,
        outbox=outbox,
        runner=runner,
        problems=problems_of(dead_letters=dead_letters, outbox=outbox, runner=runner),
    )


def queue_health(sqs: SQSClient, url: str) -> QueueHealth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return QueueHealth(
        url=url,
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def dead_letter_health(sqs: SQSClient, url: str, *, now: datetime, wait_seconds: int = 1) -> DeadLetterHealth:
    count = dlq_depth(sqs, url)
    peeked = peek(sqs, url, wait_seconds=wait_seconds) if count else []
    parked = [parked_from_sqs(message) for message in peeked]
    dates = [message.parked_at for message in parked if message.parked_at is not None]
    return DeadLetterHealth(
        url=url,
        count=count,
        reasons=dict(Counter(message.kind for message in parked).most_common()),
        oldest_age_seconds=max(0.0, (now - min(dates)).total_seconds()) if dates else None,
        shown=len(parked),
    )


def outbox_health(path: Path | None, *, now: datetime) -> OutboxHealth | None:
    """The outbox's figures, or None when there is no outbox here (the ingest runs elsewhere)."""
    if path is None:
        return None
    try:
        summary = summarise_outbox(path)
    except OutboxUnreadable:
        return None
    return OutboxHealth(
        path=summary.path,
        pending=summary.pending,
        oldest_age_seconds=summary.oldest_age_seconds(now=now.timestamp()),
        dead=summary.dead,
    )


def runner_health(
    *,
    dynamodb: DynamoDBClient,
    events: EventBridgeClient,
    names: ResourceNames,
    heartbeat: HeartbeatSettings,
    now: datetime,
) -> RunnerHealth:
    last_poll = _last_poll(heartbeat.heartbeat_file)
    rule = _rule(events, names.report_rule_name)
    expression = rule.get("ScheduleExpression") if rule else None
    report = _newest_report(dynamodb, names.reports_table, now=now)
    return RunnerHealth(
        heartbeat_file=str(heartbeat.heartbeat_file) if heartbeat.heartbeat_file else None,
        last_poll=last_poll,
        fresh=last_poll is not None and (now - last_poll).total_seconds() <= heartbeat.max_age_seconds,
        schedule_enabled=None if rule is None else rule.get("State") == "ENABLED",
        last_due=previous_fire_time(expression, before=now) if expression else None,
        next_due=_next_due(expression, now=now),
        last_report_week=report.get("week"),
        last_report_status=report.get("status"),
        last_report_at=_parse_time(report.get("sentAt") or report.get("claimedAt")),
        last_firing=read_firing(
            firing_file_for(heartbeat.heartbeat_file) if heartbeat.heartbeat_file else None
        ),
    )


def previous_fire_time(expression: str, *, before: datetime) -> datetime | None:
    """The last time at or before ``before`` a cron expression fired; None for a rate."""
    match = _CRON.match(expression)
    if match is None:
        return None
    previous = AWSCron(match["body"]).occurrence(before.astimezone(UTC).replace(microsecond=0)).prev()
    return previous if isinstance(previous, datetime) else None


def problems_of(
    *, dead_letters: DeadLetterHealth, outbox: OutboxHealth | None, runner: RunnerHealth
) -> tuple[str, ...]:
    """What an operator should look at, worst first (pure: from the figures alone)."""
    problems = []
    if dead_letters.count:
        reasons = ", ".join(f"{kind} {n}" for kind, n in dead_letters.reasons.items())
        problems.append(
            f"{dead_letters.count} message(s) parked in the DLQ" + (f" ({reasons})" if reasons else "")
        )
    if outbox is not None and outbox.dead:
        problems.append(f"{outbox.dead} event(s) SQS refused for good, in the outbox's dead letters")
    if runner.heartbeat_file is not None and not runner.fresh:
        problems.append("the runner has not polled the queue recently (stale heartbeat)")
    if runner.last_firing is not None and runner.last_firing.outcome == FAILED:
        firing = runner.last_firing
        problems.append(
            f"the last schedule firing failed ({firing.week}, {firing.fired_at:%Y-%m-%d %H:%M} UTC)"
        )
    if runner.last_due is not None and runner.last_report_week is not None:
        due_week = str(IsoWeek.last_full_week_before(runner.last_due))
        if runner.last_report_week < due_week:
            problems.append(f"no report for {due_week}, due {runner.last_due:%Y-%m-%d %H:%M} UTC")
    return tuple(problems)


def _last_poll(path: Path | None) -> datetime | None:
    if path is None:
        return None
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return None


def _rule(events: EventBridgeClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(events.describe_rule(Name=name))
    except events.exceptions.ResourceNotFoundException:
        return None


def _next_due(expression: str | None, *, now: datetime) -> datetime | None:
    if not expression:
        return None
    try:
        return next_fire_time(expression, after=now)
    except UnsupportedSchedule:
        return None


def _newest_report(dynamodb: DynamoDBClient, table: str, *, now: datetime) -> dict[str, str]:
    """The newest of the last few weeks' send records, as plain strings (empty if none)."""
    week = IsoWeek.of(now)
    for _ in range(_REPORT_WEEKS):
        try:
            item = dynamodb.get_item(TableName=table, Key={"week": {"S": str(week)}}).get("Item")
        except (ClientError, BotoCoreError):
            return {}
        if item:
            return {name: str(value.get("S", value.get("N", ""))) for name, value in item.items()}
        week = week.previous()
    return {}


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
