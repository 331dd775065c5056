"""The ingest service's counters, as the console and `status` show them.

The same figures as the service's ``/metrics`` (``cv_ingest_api.metrics``): events accepted,
requests rejected by reason, events sent, the outbox's depth, oldest age and dead letters.
They are read from Prometheus metric families, whichever way those arrive: the app's own
registry, in the process that serves it (the console under `cv-analytics up`), or the text
of ``/metrics`` parsed by prometheus-client's parser (`status`, against any running API).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

ACCEPTED = "cv_ingest_events_accepted_total"
REJECTED = "cv_ingest_requests_rejected_total"
SENT = "cv_ingest_events_sent_total"
PENDING = "cv_ingest_outbox_pending"
OLDEST_AGE = "cv_ingest_outbox_oldest_pending_age_seconds"
DEAD_LETTERS = "cv_ingest_outbox_dead_letters"


class MetricsUnavailable(RuntimeError):
    """The ingest service's /metrics could not be read."""


@dataclass(frozen=True, slots=True)
class IngestMetrics:
    accepted: int
    # reason -> requests refused for it (every reason, 0 included, as /metrics lists them).
    rejected: dict[str, int]
    sent: int
    outbox_pending: int
    outbox_oldest_age_seconds: float
    outbox_dead_letters: int

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def ingest_metrics_from(families: Iterable[Metric]) -> IngestMetrics | None:
    """The figures in ``families``; None before the service has started (no outbox figures)."""
    values: dict[str, float] = {}
    rejected: dict[str, int] = {}
    for family in families:
        for sample in family.samples:
            if sample.name == REJECTED:
                rejected[sample.labels.get("reason", "unknown")] = int(sample.value)
            else:
                values[sample.name] = sample.value
    if ACCEPTED not in values:
        return None
    return IngestMetrics(
        accepted=int(values[ACCEPTED]),
        rejected=rejected,
        sent=int(values.get(SENT, 0)),
        outbox_pending=int(values.get(PENDING, 0)),
        outbox_oldest_age_seconds=values.get(OLDEST_AGE, 0.0),
        outbox_dead_letters=int(values.get(DEAD_LETTERS, 0)),
    )


def read_registry(registry: CollectorRegistry) -> IngestMetrics | None:
    """The figures of an ingest app's own registry (``app.state.metrics_registry``), in process."""
    return ingest_metrics_from(registry.collect())


def parse_metrics_text(text: str) -> IngestMetrics | None:
    """The figures in a /metrics answer (Prometheus text format)."""
    try:
        return ingest_metrics_from(text_string_to_metric_families(text))
    except ValueError as exc:
        raise MetricsUnavailable(f"not Prometheus text: {exc}") from exc


def scrape_ingest_metrics(api_url: str, *, timeout: float = 2.0) -> IngestMetrics | None:
    """GET ``api_url``/metrics and read it; MetricsUnavailable when it does not answer."""
    try:
        answer = httpx.get(f"{api_url.rstrip('/')}/metrics", timeout=timeout)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise MetricsUnavailable(f"{api_url}/metrics: {exc}") from exc
    return parse_metrics_text(answer.text)
