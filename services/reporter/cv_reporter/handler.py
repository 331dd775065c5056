"""Lambda entry point: a scheduled event (or ``{"week": ..., "force": ...}``) in, one email out.

A week already sent returns ``"status": "already-sent"`` and sends nothing. A send whose
outcome is unknown raises (now and on every later run until forced), so the invocation
fails, the failure lands on the reporter-failures queue and its alarm fires.

The module holds one reporter, wired from the environment on first use, as on Lambda.
``use(reporter)`` injects one and ``use(None)`` drops it, so the next invocation rewires
from the environment; ``handler_for`` gives a handler that runs the caller's own wiring.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from cv_reporter.invocation import force_requested, week_to_report
from cv_reporter.metrics import emits_metrics

if TYPE_CHECKING:
    from cv_reporter.reporting import WeeklyReporter

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Powertools' own variable names the service on AWS; the default covers local runs.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter"))

_reporter: WeeklyReporter | None = None


def weekly_reporter() -> WeeklyReporter:
    """The reporter ``lambda_handler`` runs: the one given to ``use``, else one wired from
    the environment on first use."""
    global _reporter
    if _reporter is None:
        # Imported here, not at module level: boto3, pydantic-settings and the rendering stack
        # load on the first invocation, so the module imports fast for the runtime's init phase.
        from cv_reporter.reporting import WeeklyReporter

        _reporter = WeeklyReporter.from_settings()
    return _reporter


def use(reporter: WeeklyReporter | None) -> None:
    """Run ``lambda_handler`` with ``reporter``; None rewires from the environment on next use."""
    global _reporter
    _reporter = reporter


def _report(event: dict[str, Any], reporter: Callable[[], WeeklyReporter]) -> dict[str, Any]:
    week = week_to_report(event, now=datetime.now(UTC))
    outcome = reporter().send(week, force=force_requested(event))
    log = logger.info if outcome.status == "sent" else logger.warning
    log(outcome.describe(), extra=outcome.as_dict())
    return outcome.as_dict()


@logger.inject_lambda_context
@emits_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _report(event, weekly_reporter)


def handler_for(reporter: Callable[[], WeeklyReporter]) -> LambdaHandler:
    """A Lambda handler that runs ``reporter()`` (the caller's wiring) instead of the module's."""

    @logger.inject_lambda_context
    @emits_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _report(event, reporter)

    return handler
