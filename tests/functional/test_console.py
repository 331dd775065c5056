"""The console's routes in process against the embedded AWS endpoint; tests/browser clicks through them."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from cv_analytics.ops.ingest_metrics import read_registry
from cv_analytics.runner.firing import firing_file_for
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.console import ConsoleServices, create_console
from tests.support.events import query_event
from tests.support.stack import queue_depth

WEEK = IsoWeek(2025, 47)


@pytest.fixture
def console(stack, tmp_path):
    return TestClient(create_console(ConsoleServices(outbox_path=tmp_path / "absent.sqlite3")))


def _park_valid_event(stack) -> str:
    request_id = str(uuid.uuid4())
    stack.client("sqs").send_message(
        QueueUrl=stack.resources.dlq_url,
        MessageBody=json.dumps(query_event(request_id, timestamp=int(WEEK.start.timestamp() * 1000))),
        MessageGroupId=request_id,
        MessageDeduplicationId=request_id,
    )
    return request_id


def test_console_redrive_without_confirmation_sends_nothing(stack, console):
    """A redrive POST without the ticked confirmation is refused with 400 and leaves the DLQ as it was."""
    _park_valid_event(stack)
    [parked] = ConsoleServices().parked().messages

    response = console.post(f"/dlq/{parked.id}/redrive", data={})

    assert response.status_code == 400
    assert "Tick the confirmation box" in response.text
    assert queue_depth(stack, stack.resources.dlq_url) == 1


def test_console_redrive_confirmed_redirects_to_the_dashboard(stack, console):
    """A confirmed redrive moves the message to the main queue and redirects with a notice."""
    _park_valid_event(stack)
    [parked] = ConsoleServices().parked().messages

    response = console.post(f"/dlq/{parked.id}/redrive", data={"confirm": "yes"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/?redriven={parked.id}#dlq"
    assert queue_depth(stack, stack.resources.dlq_url) == 0
    assert queue_depth(stack, stack.resources.queue_url) == 1


def test_console_unknown_parked_message_is_404(stack, console):
    """Showing a message that is not parked says so with 404."""
    response = console.get("/dlq/no-such-message")

    assert response.status_code == 404
    assert "Not in the DLQ" in response.text


def test_console_bad_week_is_a_clear_400(stack, console):
    """A week that is not YYYY-Www is refused with the reason, not a stack trace."""
    response = console.get("/", params={"week": "2025-47"})

    assert response.status_code == 400
    assert "not an ISO week (expected YYYY-Www" in response.text


def test_console_report_email_is_served_sandboxed(stack, console):
    """The week's email HTML comes with a sandboxing Content-Security-Policy."""
    response = console.get(f"/report/{WEEK}/email.html")

    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("sandbox;")
    assert f"Week {WEEK}" in response.text


def test_console_api_health_reports_the_dlq(stack, console):
    """The JSON health document counts the parked message the DLQ holds."""
    _park_valid_event(stack)

    health = console.get("/api/health").json()

    assert health["dead_letters"]["count"] == 1
    assert health["queue"]["visible"] == 0


def test_ingest_app_does_not_include_the_console(tmp_path):
    """The production ingest app has no console route: only `up` mounts it."""
    from cv_ingest_api.app import create_app
    from cv_ingest_api.settings import IngestSettings

    settings = IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys="key")
    client = TestClient(create_app(settings))  # no lifespan: nothing is sent anywhere

    assert "/v1/events" in client.get("/openapi.json").json()["paths"]
    assert client.get("/console/").status_code == 404


API_KEY = "console-test-key-0123456789"


@pytest.fixture
def ingest_with_console(stack, tmp_path):
    """The ingest app with the console mounted on it, as `up` serves them (in process)."""
    from cv_ingest_api.app import create_app
    from cv_ingest_api.settings import IngestSettings

    app = create_app(IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY))
    registry = app.state.metrics_registry
    services = ConsoleServices(
        outbox_path=tmp_path / "outbox.sqlite3", ingest_metrics=lambda: read_registry(registry)
    )
    app.mount("/console", create_console(services))
    with TestClient(app) as client:
        yield client


def test_console_metrics_panel_counts_accepted_and_rejected(ingest_with_console):
    """After 3 accepted events, 2 invalid and 1 unauthorized request, the panel shows those counts."""
    client = ingest_with_console
    auth = {"Authorization": f"Bearer {API_KEY}"}
    at = int(WEEK.start.timestamp() * 1000)
    events = [query_event(str(uuid.uuid4()), timestamp=at) for _ in range(3)]
    assert client.post("/v1/events", json=events[:2], headers=auth).status_code == 202
    assert client.post("/v1/events", json=events[2], headers=auth).status_code == 202
    for _ in range(2):
        assert client.post("/v1/events", json={"eventType": "query"}, headers=auth).status_code == 422
    assert client.post("/v1/events", json=events[0], headers={"Authorization": "Bearer x"}).status_code == 401

    html = client.get("/console/fragments/metrics").text
    figures = client.get("/console/api/metrics").json()["ingest"]

    assert '<dd data-testid="ingest-accepted">3</dd>' in html
    assert '<dd data-testid="ingest-rejected">3</dd>' in html
    assert "invalid × 2" in html and "unauthorized × 1" in html
    assert (figures["accepted"], figures["rejected"]["invalid"], figures["rejected"]["unauthorized"]) == (
        3,
        2,
        1,
    )


def test_console_metrics_panel_without_ingest_says_so(console):
    """A console not mounted on an ingest app says where the counters are, and shows no figures."""
    html = console.get("/fragments/metrics").text

    assert 'data-testid="ingest-metrics-unknown"' in html
    assert 'data-testid="ingest-accepted"' not in html
    assert console.get("/api/metrics").json() == {"ingest": None, "processor": None}


def test_console_dashboard_includes_metrics_panel(ingest_with_console):
    """The dashboard has the counters panel, refreshed from its fragment like the others."""
    html = ingest_with_console.get("/console/").text

    assert 'id="metrics"' in html
    assert 'data-refresh="/console/fragments/metrics"' in html


def test_console_health_panel_shows_last_schedule_firing(console, tmp_path, monkeypatch):
    """With a firing recorded beside the heartbeat, the health panel shows its time, week and outcome."""
    beat = tmp_path / "runner-heartbeat"
    beat.touch()
    firing_file_for(beat).write_text(
        json.dumps({"firedAt": "2025-11-24T07:00:02+00:00", "week": "2025-W47", "outcome": "already-sent"})
    )
    monkeypatch.setenv("RUNNER_HEARTBEAT_FILE", str(beat))

    html = console.get("/fragments/health").text

    assert "2025-11-24 07:00:02 UTC (2025-W47, already-sent)" in html
    assert "Schedule next due" in html
