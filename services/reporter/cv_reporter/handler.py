"""Lambda entry point: a scheduled event (or ``{"week": ..., "force": ...}``) in, one email out.

A week already sent returns ``"status": "already-sent"`` and sends nothing. A send whose
outcome is unknown raises (now and on every later run until forced), so the invocation
fails, the failure lands on the reporter-failures queue and its alarm fires.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from cv_reporter.invocation import force_requested, week_to_report

if TYPE_CHECKING:
    from cv_reporter.reporting import WeeklyReporter

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter"))


@cache
def weekly_reporter() -> WeeklyReporter:
    # Imported here, not at module level: boto3, pydantic-settings and the rendering stack
    # load on the first invocation, so the module imports fast for the runtime's init phase.
    from cv_analytics.aws.clients import aws_client
    from cv_analytics.aws.ses import SEND_ONCE, Mailer
    from cv_analytics.aws.week_reader import KeptComparisons, WeekReader
    from cv_reporter.reporting import WeeklyReporter
    from cv_reporter.send_log import SendLog
    from cv_reporter.settings import ReporterSettings

    settings = ReporterSettings()
    dynamodb = aws_client("dynamodb")
    return WeeklyReporter(
        records=WeekReader(
            client=dynamodb,
            table_name=settings.analytics_table,
            comparisons=KeptComparisons(client=dynamodb, table_name=settings.reports_table),
        ),
        mailer=Mailer(client=aws_client("ses", config=SEND_ONCE)),
        send_log=SendLog(
            client=dynamodb,
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
    log = logger.info if outcome.status == "sent" else logger.warning
    log(outcome.describe(), extra=outcome.as_dict())
    return outcome.as_dict()
