"""The worker stand-in in the ingest app, in-process: which events reach the FIFO queue on each path."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.stack import queue_depth, queue_messages

API_KEY = "test-key-0123456789"
PYTHON_QUESTION = "Do you have Python experience?"


@pytest.fixture
def settings(stack, tmp_path) -> IngestSettings:
    return IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY)


@pytest.fixture
def client(settings):
    # No Authorization header: /query is public, like the worker's endpoint.
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _queued(stack, client, *, expected: int, timeout: float = 15.0) -> list[dict]:
    """Every message the app put on the queue, once the outbox has sent exactly ``expected``."""
    sender = client.app.state.sender
    deadline = time.monotonic() + timeout
    while sender.outbox.pending or sender.state.sent < expected:
        assert time.monotonic() < deadline, f"outbox: {sender.status()}"
        time.sleep(0.05)
    assert sender.state.sent == expected
    messages: dict[str, dict] = {}
    sqs = stack.client("sqs")
    while len(messages) < expected and time.monotonic() < deadline:
        for message in queue_messages(stack, stack.resources.queue_url, wait=1):
            messages[message["MessageId"]] = message
            # Deleting shows the next message of the same FIFO group (a query's response).
            sqs.delete_message(QueueUrl=stack.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert len(messages) == expected
    return list(messages.values())  # in the order the FIFO queue handed them out


def _event_types(messages: list[dict]) -> list[str]:
    return [json.loads(message["Body"])["eventType"] for message in messages]


def _assert_nothing_queued(stack, client) -> None:
    sender = client.app.state.sender
    assert sender.outbox.pending == 0
    assert sender.state.sent == 0
    assert queue_depth(stack, stack.resources.queue_url) == 0


def test_query_match_queues_query_and_response_grouped_by_request(stack, client):
    """A match: 200, then the query and the response queued, grouped and deduplicated as /v1/events does."""
    response = client.post("/query", json={"query": PYTHON_QUESTION}, headers={"x-session-id": "visitor-7"})
    assert response.status_code == 200
    assert response.json()["matchType"] == "full"
    assert set(response.json()) == {"query", "assistantReply", "matchType", "matchScore"}
    messages = _queued(stack, client, expected=2)
    query, answer = (json.loads(message["Body"]) for message in messages)
    assert (query["eventType"], answer["eventType"]) == ("query", "response")
    assert query["sessionId"] == answer["sessionId"] == "visitor-7"
    assert answer["reasoning"].startswith('Excellent match: "Python" with ')
    for message, event in zip(messages, (query, answer), strict=True):
        assert message["Attributes"]["MessageGroupId"] == event["requestId"]
        assert message["Attributes"]["MessageDeduplicationId"] == (
            f"{event['requestId']}-{event['eventType']}-{event['timestamp']}"
        )


def test_query_get_with_q_behaves_like_post(stack, client):
    """GET /query?q= answers the same and queues the same two events; no session header is anonymous."""
    response = client.get("/query", params={"q": PYTHON_QUESTION})
    assert response.status_code == 200
    messages = _queued(stack, client, expected=2)
    assert _event_types(messages) == ["query", "response"]
    assert {json.loads(m["Body"])["sessionId"] for m in messages} == {"anonymous"}


def test_query_refused_input_is_400_and_queues_nothing(stack, client):
    """A question the input check refuses: 400 with the worker's error, no event at all."""
    response = client.post("/query", json={"query": "Python?"})
    assert response.status_code == 400
    assert "valid question" in response.json()["error"]
    _assert_nothing_queued(stack, client)


def test_query_body_without_query_is_422_and_queues_nothing(stack, client):
    """A JSON body without `query` is FastAPI's 422, before anything is emitted."""
    assert client.post("/query", json={"q": PYTHON_QUESTION}).status_code == 422
    _assert_nothing_queued(stack, client)


def test_query_refused_question_type_is_400_with_only_the_query_event(stack, client):
    """A salary question is logged (query event) but never answered (no response event)."""
    response = client.post("/query", json={"query": "What salary are you looking for?"})
    assert response.status_code == 400
    assert response.json()["suggestion"]
    assert _event_types(_queued(stack, client, expected=1)) == ["query"]


def test_query_outside_business_hours_is_403_with_only_the_query_event(stack, settings):
    """Configured hours that exclude now: 403 and the query event only."""
    hour = datetime.now(UTC).hour
    closed = f"{(hour + 2) % 22:02d}:00-{(hour + 2) % 22 + 1:02d}:00"  # an hour that is not now
    closed_settings = settings.model_copy(
        update={"worker_business_hours": closed, "worker_business_days": "mon-sun", "worker_timezone": "UTC"}
    )
    with TestClient(create_app(closed_settings)) as client:
        response = client.post("/query", json={"query": PYTHON_QUESTION})
        assert response.status_code == 403
        assert set(response.json()) == {"error", "currentTime", "timezone"}
        assert _event_types(_queued(stack, client, expected=1)) == ["query"]


def test_query_no_match_is_200_none_with_only_the_query_event(stack, client):
    """Nothing in the profile matches: 200, matchType none, and no response event (an unanswered query)."""
    response = client.post("/query", json={"query": "Do you know Haskell?"})
    assert response.status_code == 200
    assert response.json()["matchType"] == "none"
    assert _event_types(_queued(stack, client, expected=1)) == ["query"]


def test_query_broken_profile_is_500_with_only_the_query_event(stack, settings, tmp_path):
    """The profile file turned invalid after start: 500 and the query event only."""
    profile = tmp_path / "profile.toml"
    profile.write_text('[[skills]]\nname = "Python"\n', encoding="utf-8")
    with TestClient(create_app(settings.model_copy(update={"worker_profile_path": profile}))) as client:
        profile.write_text("[[skills]]\nname = 42\n", encoding="utf-8")
        response = client.post("/query", json={"query": PYTHON_QUESTION})
        assert response.status_code == 500
        assert response.json() == {"error": "Query failed"}
        assert _event_types(_queued(stack, client, expected=1)) == ["query"]


def test_query_custom_profile_answers_from_it(stack, settings, tmp_path):
    """WORKER_PROFILE_PATH's skills are what the stand-in knows."""
    profile = tmp_path / "profile.toml"
    profile.write_text('[owner]\nname = "Ann"\n[[skills]]\nname = "Haskell"\n', encoding="utf-8")
    with TestClient(create_app(settings.model_copy(update={"worker_profile_path": profile}))) as client:
        response = client.post("/query", json={"query": "Do you know Haskell?"})
        assert response.json()["assistantReply"].startswith("Yes — Ann has Haskell")
        assert _event_types(_queued(stack, client, expected=2)) == ["query", "response"]


def test_query_session_header_over_the_limit_is_422(stack, client):
    """An x-session-id longer than the event contract stores is refused before any event."""
    response = client.post("/query", json={"query": PYTHON_QUESTION}, headers={"x-session-id": "s" * 513})
    assert response.status_code == 422
    _assert_nothing_queued(stack, client)


def test_ingest_settings_bad_worker_settings_fail_at_start(tmp_path):
    """A missing profile or unparseable hours stop the service at start, naming the problem."""
    base = {"outbox_path": tmp_path / "o.sqlite3", "api_keys": API_KEY}
    with pytest.raises(ValueError, match="cannot be read"):
        IngestSettings(**base, worker_profile_path=tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="not a time"):
        IngestSettings(**base, worker_business_hours="9-5")
