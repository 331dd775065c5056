"""Which week to report on, and building and sending that week's report, once.

Sending follows the week's record in the ``reports`` table (cv_reporter.send_log):
claim the week, build the report, note that the request is going out, send once, then
record the MessageId. A clear refusal by SES gives the week back; a lost answer leaves
it "unknown", which no run resends without ``force``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from cv_analytics.aggregation import WeeklySummary
from cv_analytics.aws.ses import OutgoingEmail, SendOutcomeUnknown
from cv_analytics.weeks import IsoWeek
from cv_reporter.rendering import EmailData, render_weekly_report
from cv_reporter.send_log import SendRecord, SendStatus, WeekTaken

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient

    from cv_analytics.settings import ResourceNames
    from cv_reporter.settings import ReporterSettings


class ReportStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already-sent"
    IN_PROGRESS = "in-progress"  # another run holds the week's claim


class ReportOutcomeUnknown(RuntimeError):
    """SES may or may not have taken the week's email; nothing resends it without force."""

    def __init__(self, week: IsoWeek, *, detail: str) -> None:
        super().__init__(
            f"the outcome of sending the {week} report is unknown ({detail}); nothing will resend it "
            f"automatically: check the recipient's mailbox, and only if it is not there run "
            f"`cv-analytics report --week {week} --force` (or invoke with "
            f'{{"week": "{week}", "force": true}})'
        )
        self.week = week


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    week: IsoWeek
    status: ReportStatus
    subject: str | None
    total_queries: int | None
    message_id: str | None
    sent_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": str(self.week),
            "status": self.status.value,
            "subject": self.subject,
            "totalQueries": self.total_queries,
            "messageId": self.message_id,
            "sentAt": self.sent_at,
        }

    def describe(self) -> str:
        if self.status is ReportStatus.SENT:
            return f"sent '{self.subject}' ({self.total_queries} queries) as {self.message_id}"
        if self.status is ReportStatus.ALREADY_SENT:
            return (
                f"{self.week} already sent on {self.sent_at} as {self.message_id}; use --force to send again"
            )
        return f"{self.week} is being sent by another run right now; nothing sent"


class WeekSummaries(Protocol):
    """Where the figures come from: cv_analytics.aws.week_reader.WeekReader streams them."""

    def summarise(self, week: IsoWeek) -> WeeklySummary: ...


class Mail(Protocol):
    """What sends the email: cv_analytics.aws.ses.Mailer (SES, one attempt).

    Returns the MessageId; raises SendOutcomeUnknown when the email may have gone out
    unanswered, anything else when it surely did not."""

    def send(self, email: OutgoingEmail) -> str: ...


class SendRecords(Protocol):
    """Each week's send record, changed by conditional writes: cv_reporter.send_log.SendLog."""

    def claim(
        self, week: IsoWeek, *, token: str, now: datetime, lease_seconds: int, force: bool
    ) -> SendRecord | None: ...
    def get(self, week: IsoWeek) -> SendRecord | None: ...
    def mark_attempt(self, week: IsoWeek, *, token: str, now: datetime) -> None: ...
    def mark_sent(self, week: IsoWeek, *, token: str, message_id: str, now: datetime) -> None: ...
    def mark_unknown(self, week: IsoWeek, *, token: str, reason: str) -> None: ...
    def release(self, week: IsoWeek, *, token: str, restore: SendStatus, reason: str) -> None: ...


def build_report(*, records: WeekSummaries, week: IsoWeek) -> tuple[EmailData, int]:
    """Render ``week``'s report (compared with the week before); returns it and the query count."""
    summary = records.summarise(week)
    return render_weekly_report(summary), summary.total_queries


def week_summaries(
    names: ResourceNames | None = None,
    *,
    dynamodb: DynamoDBClient | None = None,
    keep_comparisons: bool = False,
) -> WeekSummaries:
    """The analytics table's week index under ``names`` (the environment's by default).

    With ``keep_comparisons`` each summarised week's comparison figures are kept with its
    report, and the week before is taken from them when kept (the reporter does this; a
    preview reads both weeks and writes nothing).
    """
    from cv_analytics.aws.clients import aws_client
    from cv_analytics.aws.week_reader import KeptComparisons, WeekReader
    from cv_analytics.settings import ResourceNames

    names = names or ResourceNames()
    if not keep_comparisons:
        return WeekReader(client=dynamodb, table_name=names.analytics_table)
    dynamodb = dynamodb or aws_client("dynamodb")
    return WeekReader(
        client=dynamodb,
        table_name=names.analytics_table,
        comparisons=KeptComparisons(client=dynamodb, table_name=names.reports_table),
    )


def preview(
    week: IsoWeek, *, names: ResourceNames | None = None, dynamodb: DynamoDBClient | None = None
) -> tuple[EmailData, int]:
    """``week``'s report rendered and not sent (needs no email settings)."""
    return build_report(records=week_summaries(names, dynamodb=dynamodb), week=week)


class WeeklyReporter:
    """Mails each week's report once: claims the week, renders, sends, records the outcome."""

    def __init__(
        self,
        *,
        records: WeekSummaries,
        mailer: Mail,
        send_log: SendRecords,
        sender: str,
        recipient: str,
        lease_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._records = records
        self._mailer = mailer
        self._log = send_log
        self._sender = sender
        self._recipient = recipient
        self._lease_seconds = lease_seconds
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: ReporterSettings | None = None,
        *,
        dynamodb: DynamoDBClient | None = None,
        ses: SESClient | None = None,
    ) -> WeeklyReporter:
        """The reporter's composition root: the week index, the reports table and SES, for
        ``settings`` (the environment's by default), with the clients given or built here.

        An SES client passed in must make one attempt per send (``aws.ses.SEND_ONCE``).
        """
        from cv_analytics.aws import ses as ses_adapter
        from cv_analytics.aws.clients import aws_client
        from cv_reporter.send_log import SendLog
        from cv_reporter.settings import ReporterSettings

        settings = settings or ReporterSettings()
        dynamodb = dynamodb or aws_client("dynamodb")
        return cls(
            records=week_summaries(settings, dynamodb=dynamodb, keep_comparisons=True),
            # Looked up now, not at import: a test may shorten SEND_ONCE's wait.
            mailer=ses_adapter.Mailer(client=ses or aws_client("ses", config=ses_adapter.SEND_ONCE)),
            send_log=SendLog(
                client=dynamodb, table_name=settings.reports_table, ttl_days=settings.reports_ttl_days
            ),
            sender=settings.sender_email,
            recipient=settings.recipient_email,
            lease_seconds=settings.send_lease_seconds,
        )

    def send(self, week: IsoWeek, *, force: bool = False) -> ReportOutcome:
        """Mail ``week``'s report unless it was sent (``force`` sends it again)."""
        token, now = uuid.uuid4().hex, self._clock()
        try:
            previous = self._log.claim(
                week, token=token, now=now, lease_seconds=self._lease_seconds, force=force
            )
        except WeekTaken:
            return self._not_sent(week)
        try:
            email, total = build_report(records=self._records, week=week)
            outgoing = self._outgoing(email)
        except Exception as exc:
            self._release(week, token=token, previous=previous, error=exc)
            raise
        message_id, sent_at = self._deliver(week, token=token, outgoing=outgoing, previous=previous)
        return ReportOutcome(week, ReportStatus.SENT, email.subject, total, message_id, sent_at.isoformat())

    def _outgoing(self, email: EmailData) -> OutgoingEmail:
        return OutgoingEmail(
            sender=self._sender,
            recipient=self._recipient,
            subject=email.subject,
            html=email.html,
            text=email.text,
            images=email.images,
        )

    def _deliver(
        self, week: IsoWeek, *, token: str, outgoing: OutgoingEmail, previous: SendRecord | None
    ) -> tuple[str, datetime]:
        self._log.mark_attempt(week, token=token, now=self._clock())
        try:
            message_id = self._mailer.send(outgoing)
        except SendOutcomeUnknown as exc:
            self._log.mark_unknown(week, token=token, reason=str(exc))
            raise ReportOutcomeUnknown(week, detail=str(exc)) from exc
        except Exception as exc:
            self._release(week, token=token, previous=previous, error=exc)
            raise
        sent_at = self._clock()
        self._log.mark_sent(week, token=token, message_id=message_id, now=sent_at)
        return message_id, sent_at

    def _release(self, week: IsoWeek, *, token: str, previous: SendRecord | None, error: Exception) -> None:
        """Nothing went out: the week returns to what it was (free, sent or unknown)."""
        restore = SendStatus.FAILED
        if previous is not None and previous.outcome_unknown(now=self._clock()):
            restore = SendStatus.UNKNOWN
        elif previous is not None and previous.message_id is not None:
            restore = SendStatus.SENT
        reason = f"{type(error).__name__}: {error}"
        self._log.release(week, token=token, restore=restore, reason=reason)

    def _not_sent(self, week: IsoWeek) -> ReportOutcome:
        record = self._log.get(week)
        if record is not None and record.outcome_unknown(now=self._clock()):
            raise ReportOutcomeUnknown(week, detail=record.last_error or "a run stopped while sending")
        if record is not None and record.status is SendStatus.SENT:
            return ReportOutcome(
                week, ReportStatus.ALREADY_SENT, None, None, record.message_id, record.sent_at
            )
        return ReportOutcome(week, ReportStatus.IN_PROGRESS, None, None, None)
