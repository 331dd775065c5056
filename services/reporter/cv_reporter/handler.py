"""Lambda entry point: a scheduled event (or ``{"week": ..., "force": ...}``) in, one email out.

A week already sent returns ``"status": "already-sent"`` and sends nothing. A send whose
outcome is unknown raises (now and on every later run until forced), so the invocation
fails, the failure lands on the reporter-failures queue and its alarm fires.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.aws.ses import SEND_ONCE, Mailer
from cv_reporter.reporting import ReportStatus, WeeklyReporter, force_requested, week_to_report
from cv_reporter.send_log import SendLog
from cv_reporter.settings import ReporterSettings

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter"))


@cache
def weekly_reporter() -> WeeklyReporter:
    settings = ReporterSettings()
    return WeeklyReporter(
        records=AnalyticsStore(
            client=aws_client("dynamodb"),
            table_name=settings.analytics_table,
            ttl_days=settings.record_ttl_days,
        ),
        mailer=Mailer(client=aws_client("ses", config=SEND_ONCE)),
        send_log=SendLog(
            client=aws_client("dynamodb"),
            table_name=settings.reports_table,
            ttl_days=settings.reports_ttl_days,
        ),
        sender=settings.sender_email,
        recipient=settings.recipient_email,
        lease_seconds=settings.send_lease_seconds,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    week = week_to_report(event, now=datetime.now(UTC))
    outcome = weekly_reporter().send(week, force=force_requested(event))
    log = logger.info if outcome.status is ReportStatus.SENT else logger.warning
    log(outcome.describe(), extra=outcome.as_dict())
    return outcome.as_dict()
