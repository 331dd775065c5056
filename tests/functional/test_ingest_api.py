"""The ingest API in-process, sending to the emulator's FIFO queue."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from cv_analytics.aws.sqs import QueueSender
from cv_ingest_api.app import build_sender, create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.events import QUERY_AT, query_event, response_event
from tests.support.ingest import API_KEY, AUTH
from tests.support.stack import queue_depth, wait_for_messages


def _wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def settings(stack, tmp_path) -> IngestSettings:
    return IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client


def test_ingest_single_event_reaches_queue_unchanged(stack, client):
    """One event is accepted with 202 and lands in SQS byte-for-byte, grouped by requestId."""
    rid = str(uuid.uuid4())
    event = query_event(rid, timestamp=QUERY_AT) | {"extraTopLevel": [1, 2]}
    response = client.post("/v1/events", json=event)
    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    [message] = wait_for_messages(stack, 1)
    assert json.loads(message["Body"]) == event
    assert message["Attributes"]["MessageGroupId"] == rid
    assert message["Attributes"]["MessageDeduplicationId"] == f"{rid}-query-{QUERY_AT}"


def test_ingest_list_of_events_all_reach_queue(stack, client):
    """A list of events is accepted as a whole and every event is queued."""
    events = []
    for _ in range(12):
        rid = str(uuid.uuid4())
        events += [query_event(rid, timestamp=QUERY_AT), response_event(rid, timestamp=QUERY_AT + 9)]
    response = client.post("/v1/events", json=events)
    assert response.json() == {"accepted": 24}
    bodies = {m["Body"] for m in wait_for_messages(stack, 24, timeout=20)}
    assert len(bodies) == 24


def test_ingest_invalid_event_is_422_naming_field_and_enqueues_nothing(stack, client):
    """A bad event rejects the whole request with the offending field, and nothing is queued."""
    good = query_event(str(uuid.uuid4()), timestamp=QUERY_AT)
    bad = response_event("r-2", timestamp=QUERY_AT) | {"matchScore": 140}
    response = client.post("/v1/events", json=[good, bad])
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", 1, "response", "matchScore"]
    assert client.app.state.sender.outbox.pending == 0
    assert queue_depth(stack, stack.resources.queue_url) == 0


def test_ingest_body_not_json_is_422(stack, client):
    """A body that is not JSON is rejected with a JSON error."""
    response = client.post("/v1/events", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_ingest_more_than_100_events_is_422(stack, client):
    """A list of 101 events is refused."""
    events = [query_event(f"r-{n}", timestamp=QUERY_AT) for n in range(101)]
    response = client.post("/v1/events", json=events)
    assert response.status_code == 422
    assert client.app.state.sender.outbox.pending == 0


def test_ingest_body_over_256kb_is_413(stack, client):
    """A body over 256 KiB is refused before parsing, and nothing is queued."""
    event = query_event(str(uuid.uuid4()), timestamp=QUERY_AT, query="x" * (256 * 1024))
    response = client.post("/v1/events", json=event)
    assert response.status_code == 413
    assert client.app.state.sender.outbox.pending == 0


def test_ingest_health_probes_when_queue_exists(stack, client):
    """/healthz says alive and /readyz says ready when the queue answers."""
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_ingest_readyz_is_503_when_queue_missing(settings):
    """/readyz reports unavailable, with the reason, while the queue cannot be found."""
    missing = settings.model_copy(update={"queue_name": "no-such-queue.fifo"})
    with TestClient(create_app(missing)) as client:
        sender = client.app.state.sender
        _wait_until(
            lambda: sender.state.last_send_ok is False, timeout=10, what="the queue was never looked up"
        )
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "queue lookup failed" in response.json()["last_error"]


class _GatedSender(QueueSender):
    """A real sender that holds every call until the test opens the gate."""

    def __init__(self, real: QueueSender, gate: threading.Event) -> None:
        self._real, self._gate = real, gate

    def send_batch_results(self, messages):
        assert self._gate.wait(10), "gate never opened"
        return self._real.send_batch_results(messages)


def test_ingest_answers_before_sqs_call_completes(stack, settings):
    """The request returns 202 while the SQS call is still blocked: fire-and-forget."""
    gate = threading.Event()
    sender = build_sender(settings)
    real_factory = sender._sender_factory
    sender._sender_factory = lambda: _GatedSender(real_factory(), gate)
    with TestClient(create_app(settings, sender), headers=AUTH) as client:
        response = client.post("/v1/events", json=query_event(str(uuid.uuid4()), timestamp=QUERY_AT))
        assert response.status_code == 202
        assert queue_depth(stack, stack.resources.queue_url) == 0
        gate.set()
        assert len(wait_for_messages(stack, 1)) == 1


def test_ingest_shutdown_flushes_pending_events(stack, settings):
    """Events still lingering in the outbox are sent when the app shuts down."""
    lingering = settings.model_copy(update={"linger_ms": 60_000})
    with TestClient(create_app(lingering), headers=AUTH) as client:
        for _ in range(3):
            client.post("/v1/events", json=query_event(str(uuid.uuid4()), timestamp=QUERY_AT))
        sender = client.app.state.sender
    assert sender.state.sent == 3 and sender.outbox.pending == 0
    assert len(wait_for_messages(stack, 3)) == 3


def test_ingest_full_outbox_is_503_and_accepts_nothing(stack, settings):
    """When the outbox cannot take the whole request, it is refused rather than half-taken."""
    small = settings.model_copy(update={"outbox_capacity": 2, "linger_ms": 60_000})
    with TestClient(create_app(small), headers=AUTH) as client:
        events = [query_event(str(uuid.uuid4()), timestamp=QUERY_AT) for _ in range(3)]
        response = client.post("/v1/events", json=events)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.app.state.sender.outbox.pending == 0


def test_ingest_retries_until_queue_is_reachable(stack, settings):
    """Events accepted while the queue is missing are kept and delivered once it exists."""
    name = f"late-{uuid.uuid4().hex[:8]}.fifo"
    late = settings.model_copy(update={"queue_name": name})
    sqs = stack.client("sqs")
    with TestClient(create_app(late), headers=AUTH) as client:
        client.post("/v1/events", json=query_event(str(uuid.uuid4()), timestamp=QUERY_AT))
        sender = client.app.state.sender
        _wait_until(lambda: sender.state.failed_attempts > 0, timeout=10, what="the sender never tried")
        url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
        _wait_until(lambda: sender.state.sent == 1, timeout=15, what="the event was never delivered")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    assert sender.outbox.pending == 0 and sender.outbox.dead == 0


def test_ingest_healthz_is_503_when_sender_not_running(client):
    """Liveness fails once the outbox sender has stopped, so the service gets restarted."""
    client.app.state.sender._halt.set()
    _wait_until(lambda: not client.app.state.sender.running, timeout=5, what="the sender never stopped")
    assert client.get("/healthz").status_code == 503


def test_ingest_readyz_reports_outbox_state(client):
    """/readyz carries pending, the oldest pending age and the dead-letter count."""
    body = client.get("/readyz").json()
    assert {"pending", "oldest_pending_age_s", "dead", "last_send_ok"} <= set(body)


def test_ingest_restart_sends_what_the_last_run_left(stack, settings):
    """Rows a previous run accepted but never sent are sent by the next start."""
    from cv_analytics.aws.sqs import OutgoingMessage
    from cv_ingest_api.outbox import Outbox

    rid = str(uuid.uuid4())
    leftover = Outbox(path=settings.outbox_path, capacity=10)
    body = json.dumps(query_event(rid, timestamp=QUERY_AT))
    leftover.add([OutgoingMessage(body=body, group_id=rid, deduplication_id=f"{rid}-query-{QUERY_AT}")])
    leftover.close()
    with TestClient(create_app(settings), headers=AUTH):
        [message] = wait_for_messages(stack, 1)
    assert message["Body"] == body
