"""The whole pipeline: API and raw worker messages in, analytics rows, report email out."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cv_analytics import demo
from cv_analytics.mailbox import fetch_emails
from cv_analytics.runner.invokers import InProcessInvoker
from cv_analytics.runner.schedule import ScheduleSource
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.local import LocalPipeline
from cv_reporter.handler import lambda_handler as reporter_handler
from tests.support.events import query_event, response_event
from tests.support.network import free_port
from tests.support.stack import queue_depth, record_item, send_raw

WEEK = IsoWeek(2025, 47)


@pytest.fixture
def pipeline(stack):
    running = LocalPipeline(api_port=free_port(), schedule=False)
    running.start()
    yield running
    running.stop()


def _worker_traffic(stack) -> tuple[int, int]:
    """Raw messages as the production worker sends them; returns (queries, answered)."""
    asked = int((WEEK.start + timedelta(days=2, hours=9)).timestamp() * 1000)
    for n in range(5):
        rid = str(uuid.uuid4())
        send_raw(stack, query_event(rid, timestamp=asked + n, session="worker-session"))
        send_raw(stack, response_event(rid, timestamp=asked + n + 1200, match_type="partial", score=61))
    for n in range(2):
        send_raw(stack, query_event(str(uuid.uuid4()), timestamp=asked + 100 + n, query="Do you know COBOL?"))
    send_raw(stack, "{not an event")
    return 7, 5


def test_pipeline_api_and_worker_events_reach_the_report(stack, pipeline):
    """Demo traffic via the API plus raw worker messages add up, exactly, in the emailed report."""
    traffic = demo.generate_week(week=WEEK, queries=30, seed=3)
    assert demo.send(traffic.events, api_url=pipeline.api_url) == len(traffic.events)
    worker_queries, worker_answered = _worker_traffic(stack)
    pipeline.wait_until_drained(timeout=120)
    outcome = pipeline.reporter.invoke({"week": str(WEEK)})
    total = traffic.queries + worker_queries
    answered = traffic.responses + worker_answered
    assert outcome["totalQueries"] == total
    [email] = [m for m in fetch_emails(stack.endpoint) if stack.recipient in m.recipients]
    assert f"Queries:          {total} / 0" in email.text
    assert f"Answered:         {answered} / 0" in email.text
    assert f"Unanswered queries:                  {total - answered}" in email.text
    assert "Do you know COBOL?" in email.text
    assert queue_depth(stack, stack.resources.dlq_url) == 1


def test_pipeline_demo_request_is_recorded_with_latency(stack, pipeline):
    """One answered request sent through the API ends as an answered row with its latency."""
    rid = str(uuid.uuid4())
    asked = int(WEEK.start.timestamp() * 1000) + 5_000
    events = [response_event(rid, timestamp=asked + 640), query_event(rid, timestamp=asked)]
    demo.send(events, api_url=pipeline.api_url)
    pipeline.wait_until_drained(timeout=60)
    record = record_item(stack, rid)
    assert record["status"] == "answered" and record["latencyMs"] == 640
    assert record["week"] == str(WEEK)


def test_schedule_fires_reporter_at_rule_time(stack):
    """The runner reads the provisioned rule and, at Monday 07:00 UTC, mails last week's report."""
    due = datetime(2025, 11, 24, 7, 0, tzinfo=UTC)
    anchor: list[float] = []

    def clock() -> datetime:
        # Time starts one second before the rule is due, at the runner's first look, so a
        # slow start on a busy machine cannot carry it past the firing time.
        anchor or anchor.append(time.monotonic())
        return due - timedelta(seconds=1) + timedelta(seconds=time.monotonic() - anchor[0])

    invoker = InProcessInvoker(name="reporter", handler=reporter_handler, timeout_seconds=60)
    source = ScheduleSource(
        events=stack.client("events"), rule_name=stack.names.report_rule_name, invoker=invoker, clock=clock
    )
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), kwargs={"recheck_seconds": 0.2})
    thread.start()
    try:
        # Generous: the whole suite shares one emulator, so its mailbox and tables are busy.
        deadline = time.monotonic() + 45
        while not (mail := fetch_emails(stack.endpoint, recipient=stack.recipient)):
            assert time.monotonic() < deadline, "the schedule never fired"
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(5)
    assert [m.subject for m in mail] == ["CV Analytics Weekly Report - Week 2025-W47"]
