"""The ingest counters as the console and `status` read them (cv_analytics.ops.ingest_metrics):
from an app's registry in process and from /metrics text, parsed by prometheus-client."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from cv_analytics.ops.ingest_metrics import (
    IngestMetrics,
    MetricsUnavailable,
    parse_metrics_text,
    read_registry,
)


def _registry(*, accepted: bool = True) -> CollectorRegistry:
    """A registry shaped like the ingest app's (cv_ingest_api.metrics), with known figures."""
    registry = CollectorRegistry()
    rejected = Counter("cv_ingest_requests_rejected", "refused", ["reason"], registry=registry)
    rejected.labels(reason="invalid").inc(2)
    rejected.labels(reason="unauthorized").inc()
    rejected.labels(reason="too_large")
    if accepted:
        Counter("cv_ingest_events_accepted", "accepted", registry=registry).inc(5)
    Counter("cv_ingest_events_sent", "sent", registry=registry).inc(4)
    Gauge("cv_ingest_outbox_pending", "pending", registry=registry).set(1)
    Gauge("cv_ingest_outbox_oldest_pending_age_seconds", "age", registry=registry).set(2.5)
    Gauge("cv_ingest_outbox_dead_letters", "dead", registry=registry).set(0)
    return registry


EXPECTED = IngestMetrics(
    accepted=5,
    rejected={"invalid": 2, "unauthorized": 1, "too_large": 0},
    sent=4,
    outbox_pending=1,
    outbox_oldest_age_seconds=2.5,
    outbox_dead_letters=0,
)


def test_read_registry_gives_every_figure():
    """Accepted, rejected by reason, sent and the outbox figures come from the registry."""
    assert read_registry(_registry()) == EXPECTED


def test_parse_metrics_text_matches_registry():
    """The /metrics text of a registry reads as the same figures as the registry itself."""
    assert parse_metrics_text(generate_latest(_registry()).decode()) == EXPECTED


def test_ingest_metrics_rejected_total_sums_reasons():
    """The rejected total is the sum over the reasons."""
    assert EXPECTED.rejected_total == 3


def test_read_registry_before_start_is_none():
    """Without the outbox's figures (the sender has not started), there is nothing to show."""
    assert read_registry(_registry(accepted=False)) is None


def test_parse_metrics_text_not_prometheus_raises():
    """An answer that is not Prometheus text is a clear error, not zeros."""
    with pytest.raises(MetricsUnavailable):
        parse_metrics_text("cv_ingest_events_accepted_total five\n")
