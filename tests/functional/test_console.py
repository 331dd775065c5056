"""The console's routes in process against the embedded AWS endpoint; tests/browser clicks through them."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from cv_analytics.console import ConsoleServices, create_console
from cv_analytics.weeks import IsoWeek
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
