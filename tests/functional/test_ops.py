"""Operator views against the emulator: health, the parked messages and redrive, the record feed."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cv_analytics.aws.sqs import DeadLetter, DeadLetterQueue, OutgoingMessage
from cv_analytics.ops import (
    ParkedMessageNotFound,
    RecordFeed,
    latest_records,
    list_parked,
    pipeline_health,
    redrive,
    show_parked,
)
from cv_analytics.runner.firing import firing_file_for, read_firing
from cv_analytics.runner.heartbeat import HeartbeatSettings
from cv_analytics.runner.invokers import InProcessInvoker
from cv_analytics.runner.schedule import ScheduleSource
from cv_analytics_cli.main import main as cli
from cv_ingest_api.outbox import Outbox
from cv_reporter.handler import lambda_handler as reporter_handler
from tests.support.events import query_event, response_event
from tests.support.stack import drain, processor_source, queue_depth, queue_messages, send_raw

QUERY_AT = 1_763_980_000_000  # 2025-11-24 10:26:40 UTC


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _park_through_processor(stack, bodies: list[str]) -> None:
    """Send ``bodies`` to the main queue and let the processor park them, as in production."""
    for body in bodies:
        send_raw(stack, body)
    drain(processor_source(stack), expected=len(bodies))


def _park_directly(stack, body: str, *, group: str = "analytics", kind: str = "unstorable") -> str:
    """Park ``body`` as the processor does; returns its sourceMessageId (its id in the views)."""
    source_id = str(uuid.uuid4())
    DeadLetterQueue(client=stack.client("sqs"), queue_url=stack.resources.dlq_url).park(
        DeadLetter(
            body=body,
            reason="item too big at the time",
            source_message_id=source_id,
            group_id=group,
            kind=kind,
        )
    )
    return source_id


def _valid_body(timestamp: int = QUERY_AT) -> str:
    return json.dumps(query_event(str(uuid.uuid4()), timestamp=timestamp))


def _dlq_bodies(stack) -> list[str]:
    """The DLQ's bodies, read the way the views do (nothing consumed)."""
    return [message.body for message in list_parked(outbox_path=None).messages]


# --- health ------------------------------------------------------------------------------------


def test_pipeline_health_counts_queue_and_parked_reasons(stack):
    """Waiting messages are counted and the DLQ's reasons tallied by errorKind."""
    _park_through_processor(stack, ["not json at all", json.dumps({"eventType": "query"})])
    send_raw(stack, _valid_body())
    health = pipeline_health(outbox_path=None, heartbeat=HeartbeatSettings(heartbeat_file=None))
    assert (health.queue.visible, health.queue.in_flight) == (1, 0)
    assert health.dead_letters.count == 2
    assert health.dead_letters.reasons == {"not-json": 1, "invalid-event": 1}
    assert health.dead_letters.oldest_age_seconds is not None
    assert any("2 message(s) parked" in problem for problem in health.problems)


def test_pipeline_health_leaves_parked_messages_visible(stack):
    """Checking health peeks at the DLQ: every message is visible again right after."""
    _park_through_processor(stack, ["not json"])
    pipeline_health(outbox_path=None)
    assert len(queue_messages(stack, stack.resources.dlq_url, wait=0)) == 1


def test_pipeline_health_reads_outbox_without_changing_it(stack, tmp_path):
    """Pending, oldest age and dead letters come from the outbox file, which keeps its rows."""
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path=path, capacity=10)
    outbox.add([OutgoingMessage("a", "analytics", "1"), OutgoingMessage("b", "analytics", "2")])
    outbox.move_to_dead_letters(outbox.oldest(limit=1), reason="too big")
    health = pipeline_health(outbox_path=path)
    assert health.outbox is not None
    assert (health.outbox.pending, health.outbox.dead) == (1, 1)
    assert health.outbox.oldest_age_seconds is not None
    assert [row.message.body for row in outbox.oldest(limit=10)] == ["b"]
    outbox.close()


def test_pipeline_health_runner_heartbeat_and_schedule(stack, tmp_path):
    """A touched heartbeat is fresh; the provisioned rule gives last and next due times."""
    beat = tmp_path / "heartbeat"
    beat.touch()
    health = pipeline_health(outbox_path=None, heartbeat=HeartbeatSettings(heartbeat_file=beat))
    assert health.runner.fresh
    assert health.runner.schedule_enabled is True
    assert health.runner.last_due is not None and health.runner.next_due is not None
    assert health.runner.last_due <= health.checked_at < health.runner.next_due


def test_pipeline_health_stale_heartbeat_is_a_problem(stack, tmp_path):
    """A heartbeat older than its max age shows as a problem."""
    beat = tmp_path / "heartbeat"
    beat.touch()
    os.utime(beat, (time.time() - 600, time.time() - 600))
    settings = HeartbeatSettings(heartbeat_file=beat, max_age_seconds=90)
    health = pipeline_health(outbox_path=None, heartbeat=settings)
    assert not health.runner.fresh
    assert any("stale heartbeat" in problem for problem in health.problems)


def test_pipeline_health_finds_the_heartbeat_up_keeps(stack):
    """Without RUNNER_HEARTBEAT_FILE, the heartbeat in the state directory (as `up` keeps it) is read."""
    state_dir = Path(os.environ["CV_ANALYTICS_STATE_DIR"])
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "runner-heartbeat").touch()
    runner = pipeline_health(outbox_path=None).runner
    assert runner.heartbeat_file == str(state_dir / "runner-heartbeat")
    assert runner.fresh


# A Monday 07:00 no other test reports on, so its first firing sends.
FIRING_DUE = datetime(2024, 3, 4, 7, tzinfo=UTC)


def _fire_schedule(stack, heartbeat_file: Path) -> None:
    """Run the runner's schedule source across FIRING_DUE until it has recorded the firing."""
    anchor: list[float] = []

    def clock() -> datetime:
        anchor or anchor.append(time.monotonic())
        return FIRING_DUE - timedelta(seconds=1) + timedelta(seconds=time.monotonic() - anchor[0])

    record = firing_file_for(heartbeat_file)
    source = ScheduleSource(
        events=stack.client("events"),
        rule_name=stack.names.report_rule_name,
        invoker=InProcessInvoker(name="reporter", handler=reporter_handler, timeout_seconds=60),
        clock=clock,
        firing_file=record,
    )
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), kwargs={"recheck_seconds": 0.2})
    thread.start()
    try:
        deadline = time.monotonic() + 45
        while read_firing(record) is None:
            assert time.monotonic() < deadline, "the schedule never fired"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(5)


def test_pipeline_health_and_status_show_last_schedule_firing(stack, tmp_path, monkeypatch):
    """After the schedule fires, health and `status` show its time, week and the reporter's outcome."""
    beat = tmp_path / "runner-heartbeat"
    beat.touch()
    assert (
        pipeline_health(outbox_path=None, heartbeat=HeartbeatSettings(heartbeat_file=beat)).runner.last_firing
        is None
    )

    _fire_schedule(stack, beat)

    firing = pipeline_health(
        outbox_path=None, heartbeat=HeartbeatSettings(heartbeat_file=beat)
    ).runner.last_firing
    assert firing is not None
    assert (firing.week, firing.outcome) == ("2024-W09", "sent")
    assert FIRING_DUE <= firing.fired_at < FIRING_DUE + timedelta(minutes=1)
    monkeypatch.setenv("RUNNER_HEARTBEAT_FILE", str(beat))
    result = CliRunner().invoke(cli, ["status", "--outbox", "/nonexistent/outbox.sqlite3"])
    assert "  last firing  2024-03-04 07:00 UTC (2024-W09, sent)" in result.output.splitlines(), result.output
    assert "last due" in result.output


def test_status_command_failed_firing_is_a_problem(stack, tmp_path, monkeypatch):
    """A recorded failed firing is shown and flagged, and status exits 1."""
    beat = tmp_path / "runner-heartbeat"
    beat.touch()
    firing_file_for(beat).write_text(
        json.dumps({"firedAt": "2024-03-04T07:00:00+00:00", "week": "2024-W09", "outcome": "failed"})
    )
    monkeypatch.setenv("RUNNER_HEARTBEAT_FILE", str(beat))

    result = CliRunner().invoke(cli, ["status", "--outbox", "/nonexistent/outbox.sqlite3"])

    assert result.exit_code == 1, result.output
    assert "! the last schedule firing failed (2024-W09, 2024-03-04 07:00 UTC)" in result.output


# --- dlq ---------------------------------------------------------------------------------------


def test_dlq_list_shows_reasons_and_consumes_nothing(stack):
    """Listing twice shows the same parked messages, with reasons; the DLQ keeps them all."""
    _park_through_processor(stack, ["not json", json.dumps({"eventType": "query"})])
    first, second = list_parked(outbox_path=None), list_parked(outbox_path=None)
    assert [m.id for m in first.messages] == [m.id for m in second.messages]
    assert {m.kind for m in first.messages} == {"not-json", "invalid-event"}
    assert all(m.reason and m.group_id == "analytics" for m in first.messages)
    assert queue_depth(stack, stack.resources.dlq_url) == 2


def test_dlq_list_includes_outbox_dead_letters(stack, tmp_path):
    """The outbox's dead letters are listed after the DLQ's, with SQS's refusal as reason."""
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path=path, capacity=10)
    outbox.add([OutgoingMessage("x" * 10, "analytics", "1")])
    outbox.move_to_dead_letters(outbox.oldest(limit=1), reason="message is too big")
    outbox.close()
    [letter] = list_parked(outbox_path=path).messages
    assert (letter.id, letter.source, letter.reason) == ("outbox:1", "outbox", "message is too big")


def test_dlq_show_returns_reason_attributes(stack):
    """show finds a message by its id and carries errorReason/errorKind/sourceMessageId."""
    _park_through_processor(stack, ["not json"])
    [listed] = list_parked(outbox_path=None).messages
    shown = show_parked(listed.id, outbox_path=None)
    assert shown.body == "not json"
    assert shown.attributes["errorKind"] == "not-json"
    assert shown.attributes["sourceMessageId"] == listed.id


def test_dlq_show_unknown_id_raises(stack):
    """An id nobody parked is a clear error, not an empty answer."""
    with pytest.raises(ParkedMessageNotFound, match="no parked message"):
        show_parked("no-such-id", outbox_path=None)


def test_dlq_redrive_dry_run_changes_nothing(stack):
    """A dry run judges every message and leaves both queues as they were."""
    _park_directly(stack, _valid_body())
    _park_through_processor(stack, ["not json"])
    report = redrive(everything=True, dry_run=True)
    assert sorted(o.action for o in report.outcomes) == ["kept", "would-redrive"]
    assert queue_depth(stack, stack.resources.dlq_url) == 2
    assert queue_depth(stack, stack.resources.queue_url) == 0


def test_dlq_redrive_one_returns_it_to_main_queue_in_its_group(stack):
    """A valid parked message goes back to the main queue in its own group and leaves the DLQ."""
    body = _valid_body()
    message_id = _park_directly(stack, body, group="session-42")
    report = redrive(message_id=message_id)
    assert [o.action for o in report.outcomes] == ["redriven"]
    [back] = queue_messages(stack, stack.resources.queue_url)
    assert (back["Body"], back["Attributes"]["MessageGroupId"]) == (body, "session-42")
    assert queue_depth(stack, stack.resources.dlq_url) == 0


def test_dlq_redrive_invalid_by_id_stays_parked(stack):
    """A message that fails re-validation is kept, with why, and stays in the DLQ untouched."""
    _park_through_processor(stack, ["not json"])
    [parked] = list_parked(outbox_path=None).messages
    report = redrive(message_id=parked.id)
    [outcome] = report.outcomes
    assert outcome.action == "kept" and outcome.reason and outcome.reason.startswith("not-json")
    assert _dlq_bodies(stack) == ["not json"]
    assert queue_depth(stack, stack.resources.queue_url) == 0


def test_dlq_redrive_all_keeps_invalid_and_loses_nothing(stack):
    """--all redrives the valid ones in order past invalid ones, which stay parked with their ids."""
    first, second = _valid_body(), _valid_body(QUERY_AT + 1)
    _park_through_processor(stack, ["bad one"])
    _park_directly(stack, first)
    _park_through_processor(stack, ["bad two"])
    _park_directly(stack, second)
    before = {m.body: (m.id, m.parked_at) for m in list_parked(outbox_path=None).messages}
    report = redrive(everything=True)
    assert (report.redriven, report.kept) == (2, 2)
    assert [m["Body"] for m in queue_messages(stack, stack.resources.queue_url)] == [first, second]
    remaining = list_parked(outbox_path=None).messages
    assert sorted(m.body for m in remaining) == ["bad one", "bad two"]
    assert all((m.id, m.parked_at) == before[m.body] for m in remaining)
    assert all("still refused on redrive" in m.reason for m in remaining)


def test_dlq_list_says_how_many_are_behind_a_full_group(stack):
    """FIFO shows the first 10 of a group; the listing counts the rest instead of dropping them."""
    for offset in range(12):
        _park_directly(stack, _valid_body(QUERY_AT + offset))
    listing = list_parked(outbox_path=None)
    assert (len(listing.messages), listing.dlq_count, listing.hidden) == (10, 12, 2)


def test_dlq_redrive_all_reaches_past_the_first_ten_of_a_group(stack):
    """--all works through a group longer than one receive, past refused messages, losing none."""
    bodies = [_valid_body(QUERY_AT + offset) for offset in range(3)]
    _park_through_processor(stack, ["not json"] * 10)
    for body in bodies:
        _park_directly(stack, body)
    report = redrive(everything=True)
    assert (report.redriven, report.kept) == (3, 10)
    assert [m["Body"] for m in queue_messages(stack, stack.resources.queue_url)] == bodies
    assert queue_depth(stack, stack.resources.dlq_url) == 10


def test_dlq_redrive_returns_a_message_the_redrive_policy_moved(stack):
    """A message moved after failed receives (no reason attributes) is known by its DLQ id."""
    body = _valid_body()
    moved_id = _send_to_dlq_as_redrive_policy(stack, body)
    [parked] = list_parked(outbox_path=None).messages
    assert (parked.id, parked.kind) == (moved_id, "max-receives")
    assert [o.action for o in redrive(message_id=moved_id).outcomes] == ["redriven"]
    assert [m["Body"] for m in queue_messages(stack, stack.resources.queue_url)] == [body]


def _send_to_dlq_as_redrive_policy(stack, body: str) -> str:
    """What SQS's redrive policy leaves in the DLQ: the body and group, no reason attributes."""
    return stack.client("sqs").send_message(
        QueueUrl=stack.resources.dlq_url,
        MessageBody=body,
        MessageGroupId="analytics",
        MessageDeduplicationId=uuid.uuid4().hex,
    )["MessageId"]


def test_dlq_redrive_unknown_id_raises(stack):
    """Redriving an id that is not parked fails clearly and sends nothing."""
    _park_directly(stack, _valid_body())
    with pytest.raises(ParkedMessageNotFound):
        redrive(message_id="no-such-id")
    assert queue_depth(stack, stack.resources.queue_url) == 0
    assert queue_depth(stack, stack.resources.dlq_url) == 1


def test_dlq_redriven_message_is_processed(stack):
    """A redriven event is recorded by the processor like any other."""
    request_id = str(uuid.uuid4())
    message_id = _park_directly(stack, json.dumps(query_event(request_id, timestamp=_now_ms())))
    redrive(message_id=message_id)
    drain(processor_source(stack), expected=1)
    assert [entry.request_id for entry in latest_records(limit=5)] == [request_id]


# --- feed --------------------------------------------------------------------------------------


def test_record_feed_follows_new_and_answered_records(stack):
    """A new query shows as awaiting its response, then again once answered, then nothing more."""
    feed = RecordFeed(since=datetime.now(UTC) - timedelta(minutes=1))
    assert feed.poll() == []
    request_id, asked = str(uuid.uuid4()), _now_ms()
    send_raw(stack, query_event(request_id, timestamp=asked))
    drain(processor_source(stack), expected=1)
    [new] = feed.poll()
    assert (new.request_id, new.status, new.latency_ms) == (request_id, "awaiting_response", None)
    send_raw(stack, response_event(request_id, timestamp=asked + 850, score=91))
    drain(processor_source(stack), expected=1)
    [answered] = feed.poll()
    assert (answered.status, answered.match_type, answered.match_score, answered.latency_ms) == (
        "answered",
        "full",
        91,
        850,
    )
    assert feed.poll() == []


def test_record_feed_skips_records_before_since(stack):
    """A record dated before the feed's start is not reported."""
    send_raw(stack, query_event(str(uuid.uuid4()), timestamp=_now_ms() - 3_600_000))
    drain(processor_source(stack), expected=1)
    assert RecordFeed(since=datetime.now(UTC) - timedelta(minutes=5)).poll() == []


def test_latest_records_newest_first(stack):
    """latest_records returns the newest records by event time, newest first, up to the limit."""
    now = _now_ms()
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for offset, request_id in enumerate(ids):
        send_raw(stack, query_event(request_id, timestamp=now - 60_000 + offset * 1000))
    drain(processor_source(stack), expected=3)
    assert [entry.request_id for entry in latest_records(limit=2)] == [ids[2], ids[1]]


# --- the commands ------------------------------------------------------------------------------


def test_status_command_shows_parked_and_exits_1(stack):
    """status prints the health screen and exits 1 while messages are parked."""
    _park_through_processor(stack, ["not json"])
    result = CliRunner().invoke(cli, ["status", "--outbox", "/nonexistent/outbox.sqlite3"])
    assert result.exit_code == 1, result.output
    assert "1 parked (not-json 1)" in result.output
    assert "! 1 message(s) parked in the DLQ" in result.output


def test_status_command_api_url_shows_ingest_counters(stack):
    """With --api-url, status reads the running API's /metrics: 2 accepted, 1 rejected as invalid."""
    from cv_analytics import demo
    from cv_analytics_cli.local import LocalPipeline
    from tests.support.network import free_port

    pipeline = LocalPipeline(api_port=free_port(), schedule=False)
    pipeline.start()
    try:
        rid = str(uuid.uuid4())
        assert (
            demo.send(
                [query_event(rid, timestamp=QUERY_AT), response_event(rid, timestamp=QUERY_AT + 9)],
                api_url=pipeline.api_url,
            )
            == 2
        )
        headers = {"Authorization": f"Bearer {pipeline.api_key}"}
        assert (
            httpx.post(
                f"{pipeline.api_url}/v1/events", json={"eventType": "query"}, headers=headers
            ).status_code
            == 422
        )
        pipeline.wait_until_drained(timeout=60)
        result = CliRunner().invoke(cli, ["status", "--api-url", pipeline.api_url])
    finally:
        pipeline.stop()
    assert "  ingest       2 accepted, 1 rejected (invalid 1), 2 sent to SQS" in result.output.splitlines(), (
        result.output
    )


def test_status_command_api_url_unreachable_is_not_fatal(stack):
    """An API that does not answer leaves its counters unknown; the rest of the screen is shown."""
    from tests.support.network import free_port

    result = CliRunner().invoke(cli, ["status", "--api-url", f"http://127.0.0.1:{free_port()}"])

    assert result.exit_code == 0, result.output
    assert "  ingest       counters unknown: unreachable" in result.output
    assert "all well" in result.output


def test_status_command_json_is_parseable(stack):
    """status --json prints the same figures as JSON, all well on a quiet pipeline."""
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert (figures["ok"], figures["dead_letters"]["count"], figures["queue"]["visible"]) == (True, 0, 0)


def test_dlq_commands_list_show_and_redrive_dry_run(stack):
    """dlq list names the parked id; show prints its reason; redrive --dry-run keeps it."""
    _park_through_processor(stack, ["not json"])
    runner = CliRunner()
    [parked] = list_parked(outbox_path=None).messages
    listed = runner.invoke(cli, ["dlq", "list"])
    shown = runner.invoke(cli, ["dlq", "show", parked.id])
    dry = runner.invoke(cli, ["dlq", "redrive", "--all", "--dry-run"])
    assert parked.id in listed.output and "not-json" in listed.output
    assert "errorKind = not-json" in shown.output and shown.output.rstrip().endswith("not json")
    assert "0 would be redriven, 1 kept parked (dry run)" in dry.output
    assert queue_depth(stack, stack.resources.dlq_url) == 1


def test_dlq_redrive_command_needs_an_id_or_all(stack):
    """redrive without an id or --all is a usage error."""
    result = CliRunner().invoke(cli, ["dlq", "redrive"])
    assert result.exit_code == 2
    assert "give one MESSAGE_ID or --all" in result.output


def test_tail_command_follows_and_stops_cleanly_on_interrupt(stack):
    """tail prints a line per new record as it lands and exits 0 on Ctrl-C (SIGINT)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cv_analytics_cli", "tail", "--since", "1m", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        request_id = str(uuid.uuid4())
        send_raw(stack, query_event(request_id, timestamp=_now_ms(), query="Tell me about Rust"))
        drain(processor_source(stack), expected=1)
        line = _read_line_with(process, request_id, timeout=30)
        assert "awaiting_response" in line and "Tell me about Rust" in line
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def _read_line_with(process: subprocess.Popen[str], text: str, *, timeout: float) -> str:
    """The first line of ``process``'s output containing ``text``; tail writes whole lines."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=left):
                continue
            line = process.stdout.readline()
            if text in line:
                return line
            assert line, f"tail exited early: {process.stderr.read() if process.stderr else ''}"
    raise AssertionError(f"no line with {text} within {timeout}s")
