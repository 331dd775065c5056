"""Lambda entry point: a scheduled event (or ``{"week": ...}``) in, one email out."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.aws.ses import Mailer
from cv_reporter.reporting import WeeklyReporter, week_to_report
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
        mailer=Mailer(client=aws_client("ses")),
        sender=settings.sender_email,
        recipient=settings.recipient_email,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    week = week_to_report(event, now=datetime.now(UTC))
    outcome = weekly_reporter().send(week)
    logger.info("weekly report sent", extra=outcome.as_dict())
    return outcome.as_dict()
