"""``GET /metrics``: the ingest service's counters in Prometheus' text exposition format.

- ``cv_ingest_events_accepted_total`` (counter): events taken into the outbox by this process;
- ``cv_ingest_requests_rejected_total{reason}`` (counter): requests refused, by reason:
  ``unauthorized`` (401), ``too_large`` (413), ``unsupported_encoding`` (415), ``invalid``
  (422), ``outbox_full`` (503);
- ``cv_ingest_events_sent_total`` (counter): events SQS acknowledged;
- ``cv_ingest_outbox_pending`` (gauge): events waiting in the outbox;
- ``cv_ingest_outbox_oldest_pending_age_seconds`` (gauge): the oldest one's age (0 if none);
- ``cv_ingest_outbox_dead_letters`` (gauge): events SQS can never take, kept aside in the
  outbox's dead_letters table.

prometheus-client renders the format (escaping, HELP/TYPE lines, the content type) and
keeps each app's metrics in its own registry, so several apps in one process (the tests)
never share counts. The outbox figures are read from the sender when scraped, as /readyz
reads them; nothing here calls SQS. Like the probes, /metrics needs no API key: it holds
counts only.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REJECTIONS = {
    401: "unauthorized",
    413: "too_large",
    415: "unsupported_encoding",
    422: "invalid",
    503: "outbox_full",
}
# Only the intake routes' answers are intake decisions: not the probes, the documents, or
# whatever else the app serves (`up` mounts the console on it).
COUNTED_PATHS = frozenset({"/v1/events", "/query"})

metrics_router = APIRouter(tags=["health"])


@metrics_router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """The service's counters in Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class OutboxCollector(Collector):
    """The outbox's figures, read from the app's sender at each scrape."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        sender = getattr(self._app.state, "sender", None)
        if sender is None:  # not started yet
            return
        status = sender.status()
        accepted = CounterMetricFamily("cv_ingest_events_accepted", "Events taken into the outbox.")
        accepted.add_metric([], sender.outbox.accepted)
        sent = CounterMetricFamily("cv_ingest_events_sent", "Events SQS acknowledged.")
        sent.add_metric([], status["sent"])
        yield from (accepted, sent)
        yield GaugeMetricFamily(
            "cv_ingest_outbox_pending", "Events waiting in the outbox.", status["pending"]
        )
        yield GaugeMetricFamily(
            "cv_ingest_outbox_oldest_pending_age_seconds",
            "Age of the oldest event waiting in the outbox (0 when none).",
            status["oldest_pending_age_s"],
        )
        yield GaugeMetricFamily(
            "cv_ingest_outbox_dead_letters", "Events SQS can never take, kept aside.", status["dead"]
        )


class RejectionCounter:
    """ASGI middleware: counts every refused intake request by the reason its status code means."""

    def __init__(self, app: ASGIApp, *, counter: Counter) -> None:
        self._app = app
        self._counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in COUNTED_PATHS:
            await self._app(scope, receive, send)
            return

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REJECTIONS:
                self._counter.labels(reason=REJECTIONS[message["status"]]).inc()
            await send(message)

        await self._app(scope, receive, observed)


def install_metrics(app: FastAPI) -> None:
    """Serve /metrics on ``app`` and count its rejections, in a registry of its own."""
    registry = CollectorRegistry()
    rejected = Counter(
        "cv_ingest_requests_rejected", "Requests refused, by reason.", ["reason"], registry=registry
    )
    for reason in REJECTIONS.values():
        rejected.labels(reason=reason)  # every reason shows, at 0, from the start
    registry.register(OutboxCollector(app))
    app.state.metrics_registry = registry
    app.add_middleware(RejectionCounter, counter=rejected)
    app.include_router(metrics_router)
