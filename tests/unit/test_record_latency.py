"""records.completing_latency: a record's query→response latency, reported by the write that completes it."""

from __future__ import annotations

from cv_analytics.events import parse_event
from cv_analytics.records import completing_latency, record_update

QUERY = {"eventType": "query", "requestId": "r-1", "timestamp": 1_763_980_000_000, "query": "Python?"}
RESPONSE = {
    "eventType": "response",
    "requestId": "r-1",
    "timestamp": 1_763_980_000_850,
    "matchType": "full",
    "matchScore": 95,
    "reasoning": "yes",
}
QUERY_UPDATE = record_update(parse_event(QUERY), ttl_days=90)
RESPONSE_UPDATE = record_update(parse_event(RESPONSE), ttl_days=90)


def test_completing_latency_response_after_query() -> None:
    """The response landing on a record holding only its query reports response minus query time."""
    assert completing_latency(RESPONSE_UPDATE, QUERY_UPDATE.applied_to({})) == 850


def test_completing_latency_query_after_response() -> None:
    """A late query landing on a record holding only its response reports the same latency."""
    assert completing_latency(QUERY_UPDATE, RESPONSE_UPDATE.applied_to({})) == 850


def test_completing_latency_first_half_reports_nothing() -> None:
    """The first event of a request finds no record: nothing to report yet."""
    assert completing_latency(QUERY_UPDATE, {}) is None
    assert completing_latency(RESPONSE_UPDATE, {}) is None


def test_completing_latency_redelivery_reports_nothing() -> None:
    """An event delivered again finds the record complete and reports nothing a second time."""
    complete = RESPONSE_UPDATE.applied_to(QUERY_UPDATE.applied_to({}))
    assert completing_latency(RESPONSE_UPDATE, complete) is None
    assert completing_latency(QUERY_UPDATE, complete) is None
