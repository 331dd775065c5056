"""Which week to report on, and building and sending that week's report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cv_analytics.aggregation import summarise_week
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.aws.ses import Mailer, OutgoingEmail
from cv_analytics.weeks import IsoWeek
from cv_reporter.rendering import EmailData, render_weekly_report


class InvalidReportRequest(ValueError):
    """The invocation payload does not say which week to report on."""


def week_to_report(event: Mapping[str, Any], *, now: datetime) -> IsoWeek:
    """``{"week": "2025-W47"}`` for a manual run; otherwise the last full week before the
    scheduled event's time (or before ``now`` when the event carries no time)."""
    if "week" in event:
        try:
            return IsoWeek.parse(str(event["week"]))
        except ValueError as exc:
            raise InvalidReportRequest(str(exc)) from exc
    moment = _event_time(event) or now
    return IsoWeek.last_full_week_before(moment)


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    raw = event.get("time")
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise InvalidReportRequest(f"event time is not ISO-8601: {raw!r}") from exc


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    week: IsoWeek
    subject: str
    total_queries: int
    message_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": str(self.week),
            "subject": self.subject,
            "totalQueries": self.total_queries,
            "messageId": self.message_id,
        }


def build_report(*, records: AnalyticsStore, week: IsoWeek) -> tuple[EmailData, int]:
    """Render ``week``'s report (compared with the week before); returns it and the query count."""
    summary = summarise_week(
        week=week,
        records=records.records_for_week(week),
        previous=records.records_for_week(week.previous()),
    )
    return render_weekly_report(summary), summary.total_queries


class WeeklyReporter:
    def __init__(self, *, records: AnalyticsStore, mailer: Mailer, sender: str, recipient: str):
        self._records = records
        self._mailer = mailer
        self._sender = sender
        self._recipient = recipient

    def send(self, week: IsoWeek) -> ReportOutcome:
        email, total = build_report(records=self._records, week=week)
        message_id = self._mailer.send(
            OutgoingEmail(
                sender=self._sender,
                recipient=self._recipient,
                subject=email.subject,
                html=email.html,
                text=email.text,
            )
        )
        return ReportOutcome(week, email.subject, total, message_id)
