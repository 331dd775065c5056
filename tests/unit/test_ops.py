"""The operator views' pure parts: reading parked messages, judging redrives, health, formatting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import pytest

from cv_analytics.ops.dlq import (
    ParkedListing,
    ParkedMessage,
    RedriveOutcome,
    RedriveReport,
    parked_from_sqs,
    revalidation_problem,
)
from cv_analytics.ops.feed import FeedEntry, weeks_between
from cv_analytics.ops.health import (
    DeadLetterHealth,
    OutboxHealth,
    PipelineHealth,
    QueueHealth,
    RunnerHealth,
    previous_fire_time,
    problems_of,
)
from cv_analytics.ops.ingest_metrics import IngestMetrics
from cv_analytics.runner.firing import ScheduleFiring
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.ops import (
    age,
    as_plain,
    feed_line,
    listing_lines,
    parse_since,
    redrive_lines,
    status_lines,
)
from tests.support.events import load_event

NOW = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)  # a Wednesday of 2025-W48


def _sqs_message(**custom: str) -> Any:
    return {
        "MessageId": "dlq-message-1",
        "ReceiptHandle": "handle",
        "Body": "not json",
        "Attributes": {
            "SentTimestamp": "1764158400000",
            "MessageGroupId": "analytics",
            "ApproximateReceiveCount": "2",
        },
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in custom.items()
        },
    }


def _runner(**changes: object) -> RunnerHealth:
    fields: dict[str, object] = {
        "heartbeat_file": "/run/heartbeat",
        "last_poll": NOW - timedelta(seconds=5),
        "fresh": True,
        "schedule_enabled": True,
        "last_due": datetime(2025, 11, 24, 7, 0, tzinfo=UTC),
        "next_due": datetime(2025, 12, 1, 7, 0, tzinfo=UTC),
        "last_report_week": "2025-W47",
        "last_report_status": "sent",
        "last_report_at": datetime(2025, 11, 24, 7, 0, 3, tzinfo=UTC),
    }
    return RunnerHealth(**(fields | changes))


def _dead(count: int = 0, **reasons: int) -> DeadLetterHealth:
    return DeadLetterHealth(
        url="http://sqs/q/dlq.fifo", count=count, reasons=reasons, oldest_age_seconds=None, shown=count
    )


def _health(*, dead: DeadLetterHealth | None = None, runner: RunnerHealth | None = None) -> PipelineHealth:
    dead, runner = dead or _dead(), runner or _runner()
    outbox = OutboxHealth(path="/state/outbox.sqlite3", pending=3, oldest_age_seconds=4.2, dead=0)
    return PipelineHealth(
        checked_at=NOW,
        queue=QueueHealth(url="http://sqs/q/main.fifo", visible=7, in_flight=10, delayed=0),
        dead_letters=dead,
        outbox=outbox,
        runner=runner,
        problems=problems_of(dead_letters=dead, outbox=outbox, runner=runner),
    )


# --- parked messages ---------------------------------------------------------------------------


def test_parked_from_sqs_uses_reason_attributes():
    """A message the processor parked carries its kind, reason and source id into the view."""
    parked = parked_from_sqs(_sqs_message(errorKind="not-json", errorReason="bad", sourceMessageId="src-1"))
    assert (parked.id, parked.kind, parked.reason, parked.group_id) == (
        "src-1",
        "not-json",
        "bad",
        "analytics",
    )
    assert parked.parked_at == datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
    assert parked.receive_count == 2


def test_parked_from_sqs_keeps_first_parking_time_of_a_reparked_copy():
    """A copy parked again by a redrive shows when the message was first parked."""
    parked = parked_from_sqs(_sqs_message(errorKind="not-json", firstParkedAt="1764072000000"))
    assert parked.parked_at == datetime(2025, 11, 25, 12, 0, tzinfo=UTC)


def test_parked_from_sqs_without_attributes_is_a_receive_limit_move():
    """A message the redrive policy moved has no reason attributes: said so, id is its MessageId."""
    parked = parked_from_sqs(_sqs_message())
    assert (parked.id, parked.kind) == ("dlq-message-1", "max-receives")
    assert "redrive policy" in parked.reason


def test_revalidation_problem_accepts_a_valid_event():
    """A stored realistic query event may go back to the main queue."""
    assert revalidation_problem(json.dumps(load_event("query_event"))) is None


def test_revalidation_problem_names_not_json():
    """Text that is not JSON is refused as not-json."""
    problem = revalidation_problem("{oops")
    assert problem is not None and problem[0] == "not-json"


def test_revalidation_problem_names_the_invalid_field():
    """A query without its text is refused as invalid-event, naming the field."""
    event = load_event("query_event")
    del event["query"]
    problem = revalidation_problem(json.dumps(event))
    assert problem is not None and problem[0] == "invalid-event" and "query" in problem[1]


def test_revalidation_problem_checks_time_against_now_ms():
    """An event dated more than a day after ``now_ms`` is refused."""
    event = load_event("query_event")
    problem = revalidation_problem(json.dumps(event), now_ms=event["timestamp"] - 3 * 86_400_000)
    assert problem is not None and "timestamp" in problem[1]


def test_redrive_report_counts_dry_run_as_redriven():
    """would-redrive outcomes count as redriven in a dry run's totals; kept ones apart."""
    report = RedriveReport(
        outcomes=(RedriveOutcome("a", "would-redrive"), RedriveOutcome("b", "kept", "not-json: x")),
        dry_run=True,
    )
    assert (report.redriven, report.kept) == (1, 1)


# --- health ------------------------------------------------------------------------------------


def test_problems_of_quiet_pipeline_is_empty():
    """Nothing parked, fresh heartbeat, last week reported: no problems."""
    assert _health().problems == ()


def test_problems_of_parked_messages_lists_reasons():
    """Parked messages are a problem that names their reasons."""
    health = _health(dead=_dead(3, **{"not-json": 2, "unstorable": 1}))
    assert health.problems == ("3 message(s) parked in the DLQ (not-json 2, unstorable 1)",)


def test_problems_of_missing_report_after_due_time():
    """The schedule was due for 2025-W47 but the newest report is older: a problem."""
    health = _health(runner=_runner(last_report_week="2025-W46"))
    assert health.problems == ("no report for 2025-W47, due 2025-11-24 07:00 UTC",)


def test_problems_of_unconfigured_heartbeat_is_not_a_problem():
    """Without a heartbeat file nothing is known about the runner, and nothing is claimed."""
    assert _health(runner=_runner(heartbeat_file=None, fresh=False, last_poll=None)).problems == ()


def test_previous_fire_time_of_weekly_cron():
    """The weekly Monday 07:00 rule was last due on the Monday before a Wednesday."""
    assert previous_fire_time("cron(0 7 ? * MON *)", before=NOW) == datetime(2025, 11, 24, 7, 0, tzinfo=UTC)


def test_previous_fire_time_of_rate_is_unknown():
    """A rate expression has no anchor, so its last firing cannot be computed."""
    assert previous_fire_time("rate(5 minutes)", before=NOW) is None


# --- feed --------------------------------------------------------------------------------------


def test_weeks_between_spans_year_boundary():
    """Weeks from late December to early January run oldest first across the ISO year."""
    weeks = weeks_between(datetime(2025, 12, 24, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))
    assert [str(week) for week in weeks] == ["2025-W52", "2026-W01", "2026-W02"]


def test_feed_entry_from_item_derives_status_and_latency():
    """Status and latency come from the timestamps present, as every reader derives them."""
    item = {
        "requestId": "r",
        "timestamp": 1000,
        "queryTimestamp": 1000,
        "responseTimestamp": 1450,
        "matchScore": 90,
    }
    entry = FeedEntry.from_item(item)
    assert (entry.status, entry.latency_ms, entry.match_score) == ("answered", 450, 90)


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (42.9, "42s ago"),
        (185, "3m ago"),
        (5 * 3600 + 720, "5h 12m ago"),
        (2 * 86_400 + 4 * 3600, "2d 4h ago"),
    ],
)
def test_age_reads_as_operator_time(seconds, text):
    """Ages are shown in the largest sensible units."""
    assert age(seconds) == text


@pytest.mark.parametrize(
    ("text", "delta"),
    [("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)), ("7d", timedelta(days=7))],
)
def test_parse_since_accepts_durations(text, delta):
    """--since takes an amount and a unit."""
    assert parse_since(text) == delta


def test_parse_since_rejects_other_text():
    """Anything else is a clear parameter error."""
    with pytest.raises(click.BadParameter, match="expected a duration"):
        parse_since("yesterday")


def test_feed_line_shows_status_match_score_latency_and_query():
    """One tail line holds the time, status, match, score, latency, query and request id."""
    entry = FeedEntry("req-1", 1_764_158_400_000, "Rust?", "answered", "partial", 61, 830, "s")
    assert feed_line(entry) == "2025-11-26T12:00:00Z answered          partial  61    830ms  Rust?  [req-1]"


def test_feed_line_for_a_response_without_its_query():
    """A record whose query has not landed says so instead of an empty query."""
    entry = FeedEntry("req-2", 1_764_158_400_000, None, "awaiting_query", "full", 90, None, None)
    assert "(query not yet recorded)" in feed_line(entry) and "       -  " in feed_line(entry)


def test_status_lines_show_every_part():
    """The status screen has the queue, DLQ, outbox, runner, schedule and last report."""
    text = "\n".join(status_lines(_health()))
    assert "7 waiting, 10 in flight, 0 delayed  (main.fifo)" in text
    assert "3 pending, oldest 4s ago, 0 dead" in text
    assert "last poll 5s ago" in text
    assert "enabled, last due 2025-11-24 07:00, next 2025-12-01 07:00 UTC" in text
    assert "2025-W47 sent at 2025-11-24 07:00 UTC" in text
    assert text.endswith("all well")


def test_status_lines_flag_problems():
    """Problems are listed with a marker, instead of 'all well'."""
    lines = status_lines(_health(dead=_dead(1, **{"not-json": 1})))
    assert lines[-1] == "! 1 message(s) parked in the DLQ (not-json 1)"


def test_status_lines_show_last_firing_when_known():
    """A recorded schedule firing adds its time, week and outcome under the schedule line."""
    firing = ScheduleFiring(
        fired_at=datetime(2025, 11, 24, 7, 0, 1, tzinfo=UTC), week="2025-W47", outcome="sent"
    )
    lines = status_lines(_health(runner=_runner(last_firing=firing)))
    assert "  last firing  2025-11-24 07:00 UTC (2025-W47, sent)" in lines
    assert not any("last firing" in line for line in status_lines(_health()))


def test_problems_of_failed_firing():
    """A failed last firing is a problem naming its week."""
    firing = ScheduleFiring(fired_at=datetime(2025, 11, 24, 7, tzinfo=UTC), week="2025-W47", outcome="failed")
    assert status_lines(_health(runner=_runner(last_firing=firing)))[-1] == (
        "! the last schedule firing failed (2025-W47, 2025-11-24 07:00 UTC)"
    )


def test_status_lines_show_ingest_counters():
    """Given the ingest counters, the screen shows accepted, rejected by reason and sent."""
    ingest = IngestMetrics(
        accepted=12,
        rejected={"invalid": 2, "unauthorized": 1, "too_large": 0},
        sent=11,
        outbox_pending=1,
        outbox_oldest_age_seconds=0.4,
        outbox_dead_letters=0,
    )
    lines = status_lines(_health(), ingest=ingest)
    assert "  ingest       12 accepted, 3 rejected (invalid 2, unauthorized 1), 11 sent to SQS" in lines


def test_status_lines_ingest_unknown_says_why():
    """Counters that could not be read are shown as unknown, with the reason."""
    lines = status_lines(_health(), ingest="unreachable (connection refused)")
    assert "  ingest       counters unknown: unreachable (connection refused)" in lines
    assert lines[-1] == "all well"


def test_listing_lines_say_how_many_are_hidden():
    """A listing that cannot show everything (FIFO) says how many are beyond sight."""
    message = ParkedMessage("id-1", "sqs", "x", "analytics", "bad\nreason", "not-json", None)
    lines = listing_lines(ParkedListing(messages=(message,), dlq_count=14, hidden=13))
    assert lines[1].split()[:3] == ["id-1", "sqs", "not-json"] and lines[1].endswith("bad reason")
    assert lines[-1].startswith("13 more in the DLQ behind the first 10")


def test_redrive_lines_total_a_run():
    """A redrive prints each outcome and the totals."""
    report = RedriveReport(outcomes=(RedriveOutcome("a", "redriven", main_message_id="m-1"),), dry_run=False)
    assert redrive_lines(report) == ["redriven     a  → main queue as m-1", "1 redriven, 0 kept parked"]


def test_as_plain_makes_health_json_ready():
    """Health becomes plain JSON: datetimes as ISO text, ok included."""
    plain = as_plain(_health())
    assert json.loads(json.dumps(plain))["runner"]["next_due"] == "2025-12-01T07:00:00+00:00"
    assert plain["ok"] is True


def test_iso_week_of_last_due_is_the_reported_week():
    """The Monday run reports the week that just ended (what problems_of compares against)."""
    assert str(IsoWeek.last_full_week_before(datetime(2025, 11, 24, 7, 0, tzinfo=UTC))) == "2025-W47"
