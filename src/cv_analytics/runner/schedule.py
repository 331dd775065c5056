"""Fires a function on an EventBridge rule's schedule, as EventBridge would.

The expression is read from the rule itself (so what was provisioned is what runs),
evaluated in UTC, and the function gets a real "Scheduled Event" payload.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyawscron import AWSCron

from cv_analytics.runner.firing import FAILED, ScheduleFiring, firing_of, record_firing
from cv_analytics.runner.invokers import InvocationError, Invoker
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import DescribeRuleResponseTypeDef

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<body>.+)\)$")


class UnsupportedSchedule(ValueError):
    pass


def next_fire_time(expression: str, *, after: datetime) -> datetime:
    """The first time strictly after ``after`` at which ``expression`` fires (UTC)."""
    after = after.astimezone(UTC)
    if match := _CRON.match(expression):
        nxt: datetime | None = AWSCron(match["body"]).occurrence(after.replace(microsecond=0)).next()
        if nxt is None:
            raise UnsupportedSchedule(f"{expression} never fires after {after.isoformat()}")
        return nxt
    if match := _RATE.match(expression):
        if int(match["n"]) < 1:
            raise UnsupportedSchedule(f"a rate must be at least 1: {expression!r}")
        unit = match["unit"].rstrip("s")
        return after + timedelta(**{f"{unit}s": int(match["n"])})
    raise UnsupportedSchedule(f"not an EventBridge schedule expression: {expression!r}")


def scheduled_event(*, rule_arn: str, fired_at: datetime) -> dict[str, Any]:
    parts = rule_arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4],
        "time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3],
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleSource:
    def __init__(
        self,
        *,
        events: EventBridgeClient,
        rule_name: str,
        invoker: Invoker,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        firing_file: Path | None = None,
    ) -> None:
        self._events = events
        self._rule_name = rule_name
        self._invoker = invoker
        self._clock = clock
        # Where each firing is written down (runner.firing), for `status` and the console.
        self._firing_file = firing_file

    def rule(self) -> DescribeRuleResponseTypeDef:
        return self._events.describe_rule(Name=self._rule_name)

    def upcoming(self) -> datetime | None:
        """When the rule fires next, or None while it is disabled."""
        rule = self.rule()
        if rule.get("State") != "ENABLED":
            return None
        return next_fire_time(rule["ScheduleExpression"], after=self._clock())

    def fire(self, fired_at: datetime) -> Any:
        event = scheduled_event(rule_arn=self.rule()["Arn"], fired_at=fired_at)
        return self._invoker.invoke(event)

    def run(self, stop: threading.Event, *, recheck_seconds: float = 60.0) -> None:
        """Fire at each scheduled time until ``stop`` is set.

        The rule is re-read at least every ``recheck_seconds``, so an edited or disabled
        rule takes effect without a restart.
        """
        while not stop.is_set():
            try:
                due = self.upcoming()
            except Exception as exc:
                log.warning("reading rule %s failed: %s", self._rule_name, exc)
                stop.wait(recheck_seconds)
                continue
            wait = recheck_seconds if due is None else (due - self._clock()).total_seconds()
            if stop.wait(min(max(wait, 0.0), recheck_seconds)) or due is None:
                continue
            if self._clock() >= due:
                self._fire_logged(due)

    def _fire_logged(self, due: datetime) -> None:
        fired_at = self._clock()
        try:
            result = self.fire(due)
            log.info("%s fired for %s: %s", self._invoker.name, due.isoformat(), result)
            firing = firing_of(result, fired_at=fired_at)
        except InvocationError as exc:
            # EventBridge retries async invocations; a missed weekly report is re-run by hand.
            log.error("%s failed for the %s schedule: %s", self._invoker.name, due.isoformat(), exc)
            # The week the reporter would have reported on, from the event's time (the due time).
            week = str(IsoWeek.last_full_week_before(due))
            firing = ScheduleFiring(fired_at=fired_at, week=week, outcome=FAILED)
        if self._firing_file is not None:
            record_firing(self._firing_file, firing)
