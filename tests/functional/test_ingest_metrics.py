"""The ingest API's /metrics: Prometheus text format, counted from the requests it answered."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.events import query_event

QUERY_AT = 1_763_980_000_000
API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and labels, parsed by Prometheus' own parser."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def rejected(values: dict, reason: str) -> float:
    return values[("cv_ingest_requests_rejected_total", (("reason", reason),))]


@pytest.fixture
def settings(stack, tmp_path) -> IngestSettings:
    return IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client


def test_metrics_count_accepted_events(client):
    """Events in 202 answers are counted one by one, lists included."""
    events = [query_event(str(uuid.uuid4()), timestamp=QUERY_AT) for _ in range(3)]
    assert client.post("/v1/events", json=events[0]).status_code == 202
    assert client.post("/v1/events", json=events[1:]).status_code == 202
    assert samples(client)[("cv_ingest_events_accepted_total", ())] == 3


def test_metrics_count_rejections_by_reason(client):
    """Refused requests are counted under their reason; probes and /metrics are not counted."""
    client.post("/v1/events", json={"eventType": "query"})
    client.post("/v1/events", content=b"{not json", headers={"Content-Type": "application/json"})
    client.post(
        "/v1/events", json=query_event("r-1", timestamp=QUERY_AT), headers={"Authorization": "Bearer x"}
    )
    client.post("/v1/events", content=b"x", headers={"Content-Encoding": "gzip"})
    client.get("/healthz")
    values = samples(client)
    assert [
        rejected(values, r) for r in ("invalid", "unauthorized", "unsupported_encoding", "too_large")
    ] == [
        2,
        1,
        1,
        0,
    ]
    assert values[("cv_ingest_events_accepted_total", ())] == 0


def test_metrics_count_only_intake_routes(settings):
    """A 422 from a route that takes no events (as `up` mounts the console) is no rejection."""
    from fastapi import HTTPException

    app = create_app(settings)

    @app.get("/elsewhere")
    def elsewhere() -> None:
        raise HTTPException(status_code=422, detail="not an intake decision")

    with TestClient(app, headers=AUTH) as other:
        assert other.get("/elsewhere").status_code == 422
        other.post("/v1/events", json={"eventType": "query"})
        values = samples(other)
    assert rejected(values, "invalid") == 1


@pytest.fixture
def stuck_client(settings):
    """An API whose queue does not exist: accepted events stay in the outbox."""
    stuck = settings.model_copy(update={"queue_name": "no-such-queue.fifo", "outbox_capacity": 4})
    with TestClient(create_app(stuck), headers=AUTH) as test_client:
        yield test_client


def _wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_metrics_report_outbox_depth_and_oldest_age(stuck_client):
    """Events waiting in the outbox show as its depth, with the oldest one's age."""
    sender = stuck_client.app.state.sender
    events = [query_event(str(uuid.uuid4()), timestamp=QUERY_AT) for _ in range(3)]
    assert stuck_client.post("/v1/events", json=events).status_code == 202
    _wait_until(lambda: sender.state.oldest_accepted_at is not None, timeout=10, what="no dispatch round")
    time.sleep(0.05)  # so the age is above zero
    values = samples(stuck_client)
    assert values[("cv_ingest_outbox_pending", ())] == 3
    assert values[("cv_ingest_outbox_oldest_pending_age_seconds", ())] > 0
    assert values[("cv_ingest_outbox_dead_letters", ())] == 0
    assert values[("cv_ingest_events_sent_total", ())] == 0


def test_metrics_count_a_full_outbox_as_outbox_full(stuck_client):
    """A request the outbox has no room for is counted as outbox_full, and its events are not accepted."""
    events = [query_event(str(uuid.uuid4()), timestamp=QUERY_AT) for _ in range(3)]
    assert stuck_client.post("/v1/events", json=events).status_code == 202
    assert stuck_client.post("/v1/events", json=events[:2]).status_code == 503
    values = samples(stuck_client)
    assert rejected(values, "outbox_full") == 1
    assert values[("cv_ingest_events_accepted_total", ())] == 3


def test_metrics_need_no_api_key(client):
    """/metrics answers without a bearer key, like the probes."""
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 200
