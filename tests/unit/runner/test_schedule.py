"""EventBridge's schedule (cv_analytics.runner.schedule): the next fire time of a rule's
expression, the scheduled event, and ScheduleSource.run on a simulated clock."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cv_analytics.runner.firing import ScheduleFiring, read_firing
from cv_analytics.runner.invokers import (
    InvocationError,
)
from cv_analytics.runner.schedule import (
    ScheduleSource,
    UnsupportedSchedule,
    next_fire_time,
    scheduled_event,
)
from tests.support.events import load_event

WEEKLY = "cron(0 7 ? * MON *)"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/cv-analytics-weekly-report"


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_next_fire_time_weekly_from_sunday():
    """From Sunday noon the weekly rule next fires on Monday at 07:00 UTC."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 23, 12)) == _utc(2025, 11, 24, 7)


def test_next_fire_time_weekly_one_second_before():
    """From Monday 06:59:59 it fires one second later, the same morning."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 24, 6, 59, 59)) == _utc(2025, 11, 24, 7)


def test_next_fire_time_weekly_at_fire_time_is_next_week():
    """At Monday 07:00:00 exactly the next firing is strictly later: the following Monday."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 24, 7)) == _utc(2025, 12, 1, 7)


def test_next_fire_time_weekly_just_after_fire_time_is_next_week():
    """Half a second after 07:00:00 the next firing is the following Monday."""
    after = _utc(2025, 11, 24, 7, 0, 0, 500000)

    assert next_fire_time(WEEKLY, after=after) == _utc(2025, 12, 1, 7)


def test_next_fire_time_weekly_across_year_boundary():
    """From New Year's Eve 2026 the rule next fires on Monday 2027-01-04."""
    assert next_fire_time(WEEKLY, after=_utc(2026, 12, 31, 12)) == _utc(2027, 1, 4, 7)


def test_next_fire_time_evaluates_in_utc():
    """Monday 08:30 at UTC+02:00 is 06:30 UTC, so the rule still fires at 07:00 UTC that day."""
    after = datetime(2025, 11, 24, 8, 30, tzinfo=timezone(timedelta(hours=2)))

    fire = next_fire_time(WEEKLY, after=after)

    assert fire == _utc(2025, 11, 24, 7)
    assert fire.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("expression", "step"),
    [
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(2 days)", timedelta(days=2)),
    ],
)
def test_next_fire_time_rate(expression, step):
    """A rate expression fires one period after ``after``."""
    after = _utc(2025, 11, 24, 7, 3, 20)

    assert next_fire_time(expression, after=after) == after + step


def test_next_fire_time_zero_rate_rejected():
    """rate(0 minutes) never fires strictly after anything, so it is unsupported."""
    after = _utc(2025, 11, 24, 7)
    try:
        fire = next_fire_time("rate(0 minutes)", after=after)
    except UnsupportedSchedule:
        return
    assert fire > after


@pytest.mark.parametrize(
    "expression",
    ["at(2025-11-24T07:00:00)", "0 7 * * 1", "rate(5 weeks)", "rate(five minutes)", ""],
)
def test_next_fire_time_unsupported_expression_raises(expression):
    """An expression that is not an EventBridge rate() or cron() is refused."""
    with pytest.raises(UnsupportedSchedule, match="not an EventBridge schedule expression"):
        next_fire_time(expression, after=_utc(2025, 11, 24))


def test_scheduled_event_matches_eventbridge_payload():
    """The payload is EventBridge's Scheduled Event for the rule, apart from its random id."""
    expected = load_event("scheduled_event")

    event = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))

    assert {**event, "id": expected["id"]} == expected
    assert uuid.UUID(event["id"]).version == 4


def test_scheduled_event_account_and_region_from_arn():
    """Account and region come from the rule's ARN."""
    arn = "arn:aws:events:eu-west-2:000000000000:rule/other"

    event = scheduled_event(rule_arn=arn, fired_at=_utc(2025, 11, 24, 7))

    assert (event["account"], event["region"], event["resources"]) == (
        "000000000000",
        "eu-west-2",
        [arn],
    )


def test_scheduled_event_time_in_utc_whole_seconds():
    """The time is written in UTC with a Z and no fraction of a second."""
    fired_at = datetime(2025, 11, 24, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    assert scheduled_event(rule_arn=RULE_ARN, fired_at=fired_at)["time"] == "2025-11-24T07:00:00Z"


def test_scheduled_event_ids_unique():
    """Each firing gets its own event id."""
    first = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))
    second = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))

    assert first["id"] != second["id"]


# --- ScheduleSource.run on a simulated clock ---------------------------------------------------


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class SimulatedStop(threading.Event):
    """A stop event whose waits pass simulated time instantly; it sets itself at ``until``."""

    def __init__(self, clock: FakeClock, *, until: datetime, max_waits: int = 10_000) -> None:
        super().__init__()
        self._clock = clock
        self._until = until
        self._waits_left = max_waits  # a broken loop ends the test instead of hanging it

    def wait(self, timeout: float | None = None) -> bool:
        self._clock.now += timedelta(seconds=timeout or 0)
        self._waits_left -= 1
        if self._clock.now >= self._until or self._waits_left == 0:
            self.set()
        return self.is_set()


class FakeEvents:
    """describe_rule for one rule whose state may depend on the simulated time."""

    def __init__(
        self, clock: FakeClock, state: str | Callable[[datetime], str], expression: str = WEEKLY
    ) -> None:
        self._clock = clock
        self._state = state
        self._expression = expression
        self.reads = 0

    def describe_rule(self, *, Name: str) -> dict[str, Any]:
        self.reads += 1
        state = self._state(self._clock()) if callable(self._state) else self._state
        return {
            "Name": Name,
            "Arn": f"arn:aws:events:us-east-1:123456789012:rule/{Name}",
            "ScheduleExpression": self._expression,
            "State": state,
        }


class RecordingInvoker:
    name = "reporter"

    def __init__(self, clock: FakeClock, *, failures: int = 0) -> None:
        self._clock = clock
        self._failures = failures
        self.calls: list[tuple[datetime, dict[str, Any]]] = []

    def invoke(self, payload: dict[str, Any]) -> Any:
        self.calls.append((self._clock(), payload))
        if len(self.calls) <= self._failures:
            raise InvocationError("reporter raised RuntimeError: SES throttled")
        return {"week": "2025-W47", "status": "sent"}


def _run(
    *,
    start: datetime,
    until: datetime,
    state: str | Callable[[datetime], str] = "ENABLED",
    recheck_seconds: float = 60.0,
    failures: int = 0,
    firing_file: Path | None = None,
) -> tuple[RecordingInvoker, FakeEvents]:
    clock = FakeClock(start)
    events = FakeEvents(clock, state)
    invoker = RecordingInvoker(clock, failures=failures)
    source = ScheduleSource(
        events=events,
        rule_name="cv-analytics-weekly-report",
        invoker=invoker,
        clock=clock,
        firing_file=firing_file,
    )
    source.run(SimulatedStop(clock, until=until), recheck_seconds=recheck_seconds)
    return invoker, events


def test_schedule_source_fires_once_at_due_time():
    """Running across Monday 07:00 fires the reporter once, at 07:00, with the rule's event."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6, 59, 58), until=_utc(2025, 11, 24, 7, 10))

    assert [fired_at for fired_at, _ in invoker.calls] == [_utc(2025, 11, 24, 7)]
    payload = invoker.calls[0][1]
    expected = load_event("scheduled_event")
    assert {**payload, "id": expected["id"]} == expected


def test_schedule_source_does_not_fire_before_due_time():
    """Stopping before 07:00 means the reporter is never called."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6), until=_utc(2025, 11, 24, 6, 59, 59))

    assert invoker.calls == []


def test_schedule_source_disabled_rule_never_fires():
    """While the rule is DISABLED, passing its fire time does not call the reporter."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6, 59), until=_utc(2025, 11, 24, 7, 10), state="DISABLED")

    assert invoker.calls == []


def test_schedule_source_disabled_rule_reread_every_recheck():
    """A disabled rule is re-read once per recheck_seconds (11 minutes / 60 s = 11 reads)."""
    _, events = _run(start=_utc(2025, 11, 24, 6, 59), until=_utc(2025, 11, 24, 7, 10), state="DISABLED")

    assert events.reads == 11


def test_schedule_source_rule_enabled_while_running_fires():
    """A rule enabled at 06:30 while the runner is up fires at 07:00 without a restart."""
    enabled_at = _utc(2025, 11, 24, 6, 30)

    invoker, _ = _run(
        start=_utc(2025, 11, 24, 6),
        until=_utc(2025, 11, 24, 7, 10),
        state=lambda now: "ENABLED" if now >= enabled_at else "DISABLED",
    )

    assert [fired_at for fired_at, _ in invoker.calls] == [_utc(2025, 11, 24, 7)]


def test_schedule_source_invocation_failure_not_fatal():
    """A failed report does not stop the schedule: the next week still fires."""
    invoker, _ = _run(
        start=_utc(2025, 11, 24, 6, 59),
        until=_utc(2025, 12, 1, 7, 10),
        recheck_seconds=3600.0,
        failures=1,
    )

    assert [fired_at for fired_at, _ in invoker.calls] == [
        _utc(2025, 11, 24, 7),
        _utc(2025, 12, 1, 7),
    ]


def test_schedule_source_records_firing_with_reporter_outcome(tmp_path: Path):
    """A firing is written down with its time, the reported week and the reporter's status."""
    record = tmp_path / "runner-heartbeat.last-firing.json"

    _run(start=_utc(2025, 11, 24, 6, 59, 58), until=_utc(2025, 11, 24, 7, 10), firing_file=record)

    assert read_firing(record) == ScheduleFiring(
        fired_at=_utc(2025, 11, 24, 7), week="2025-W47", outcome="sent"
    )


def test_schedule_source_records_failed_firing(tmp_path: Path):
    """An invocation that raised is recorded as failed, for the week it was due to report."""
    record = tmp_path / "runner-heartbeat.last-firing.json"

    _run(start=_utc(2025, 11, 24, 6, 59), until=_utc(2025, 11, 24, 7, 10), failures=1, firing_file=record)

    assert read_firing(record) == ScheduleFiring(
        fired_at=_utc(2025, 11, 24, 7), week="2025-W47", outcome="failed"
    )


def test_schedule_source_later_firing_replaces_record(tmp_path: Path):
    """After a failed week and a sent one, the record holds the newest firing only."""
    record = tmp_path / "runner-heartbeat.last-firing.json"

    _run(
        start=_utc(2025, 11, 24, 6, 59),
        until=_utc(2025, 12, 1, 7, 10),
        recheck_seconds=3600.0,
        failures=1,
        firing_file=record,
    )

    firing = read_firing(record)
    assert firing is not None
    assert (firing.fired_at, firing.outcome) == (_utc(2025, 12, 1, 7), "sent")


def test_schedule_source_stop_interrupts_wait():
    """Setting a real stop event ends run() at once, even in the middle of a 60 s recheck wait."""
    clock = FakeClock(_utc(2025, 11, 24))
    events = FakeEvents(clock, "DISABLED")
    source = ScheduleSource(
        events=events, rule_name="cv-analytics-weekly-report", invoker=RecordingInvoker(clock)
    )
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), kwargs={"recheck_seconds": 60.0}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 2.0
    while events.reads == 0 and time.monotonic() < deadline:
        time.sleep(0.005)

    stop.set()
    thread.join(timeout=1.0)

    assert events.reads == 1
    assert not thread.is_alive()
