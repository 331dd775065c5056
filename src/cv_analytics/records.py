"""Correlated analytics records: one per requestId, merged from its query and response.

A record is built from two independent halves, each written by the event that owns it,
plus fields derived from whatever halves are present. Deriving instead of accumulating
makes the merge order-free and redelivery-proof: applying the same event twice, or the
response before the query, converges on the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cv_analytics.events import QueryEvent, ResponseEvent
from cv_analytics.weeks import IsoWeek

ANONYMOUS_SESSION = "anonymous"
_SECONDS_PER_DAY = 86_400


class Status(StrEnum):
    AWAITING_RESPONSE = "awaiting_response"
    ANSWERED = "answered"
    # A response whose query has not arrived (yet); the worker's calls race.
    AWAITING_QUERY = "awaiting_query"


# Attributes each half owns. Derived attributes are listed in DERIVED_ATTRIBUTES.
QUERY_ATTRIBUTES = ("query", "queryTimestamp", "querySessionId", "userAgent", "referer")
RESPONSE_ATTRIBUTES = (
    "responseTimestamp",
    "responseSessionId",
    "matchType",
    "matchScore",
    "matchQuality",
    "reasoning",
    "vectorMatches",
    "sourcesUsed",
)
DERIVED_ATTRIBUTES = ("week", "timestamp", "sessionId", "status", "latencyMs", "expiresAt")


def query_half(event: QueryEvent) -> dict[str, Any]:
    """The attributes a query event owns in the correlated record."""
    metadata = event.metadata
    return {
        "query": event.query,
        "queryTimestamp": event.timestamp,
        "querySessionId": event.sessionId,
        "userAgent": metadata.userAgent if metadata else None,
        "referer": metadata.referer if metadata else None,
    }


def response_half(event: ResponseEvent) -> dict[str, Any]:
    """The attributes a response event owns in the correlated record."""
    metadata = event.metadata
    return {
        "responseTimestamp": event.timestamp,
        "responseSessionId": event.sessionId,
        "matchType": event.matchType,
        "matchScore": event.matchScore,
        "matchQuality": metadata.matchQuality if metadata else None,
        "reasoning": event.reasoning,
        "vectorMatches": event.vectorMatches,
        "sourcesUsed": list(metadata.sourcesUsed) if metadata and metadata.sourcesUsed else None,
    }


def half_of(event: QueryEvent | ResponseEvent) -> dict[str, Any]:
    return query_half(event) if isinstance(event, QueryEvent) else response_half(event)


def derive(item: Mapping[str, Any], *, ttl_days: int) -> dict[str, Any]:
    """Fields computed from the halves present in ``item`` (None where unknown)."""
    query_ts = _as_int(item.get("queryTimestamp"))
    response_ts = _as_int(item.get("responseTimestamp"))
    anchor = query_ts if query_ts is not None else response_ts
    if anchor is None:
        raise ValueError("a record needs a query or a response")
    if query_ts is None:
        status = Status.AWAITING_QUERY
    elif response_ts is None:
        status = Status.AWAITING_RESPONSE
    else:
        status = Status.ANSWERED
    latency = response_ts - query_ts if status is Status.ANSWERED else None
    return {
        "week": str(IsoWeek.of_epoch_ms(anchor)),
        "timestamp": anchor,
        "sessionId": item.get("querySessionId") or item.get("responseSessionId"),
        "status": status.value,
        "latencyMs": latency,
        "expiresAt": anchor // 1000 + ttl_days * _SECONDS_PER_DAY,
    }


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class AnalyticsRecord:
    """A correlated record as the reporter reads it."""

    request_id: str
    week: str
    timestamp: int
    status: Status
    query: str | None = None
    session_id: str | None = None
    match_type: str | None = None
    match_score: int | None = None
    reasoning: str | None = None
    vector_matches: int | None = None
    sources_used: tuple[str, ...] = ()
    latency_ms: int | None = None
    user_agent: str | None = None
    referer: str | None = None

    @property
    def has_query(self) -> bool:
        return self.status is not Status.AWAITING_QUERY

    @property
    def answered(self) -> bool:
        return self.status is Status.ANSWERED

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AnalyticsRecord:
        """Build from a plain (already deserialised) DynamoDB item."""
        return cls(
            request_id=item["requestId"],
            week=item["week"],
            timestamp=int(item["timestamp"]),
            status=Status(item["status"]),
            query=item.get("query"),
            session_id=item.get("sessionId"),
            match_type=item.get("matchType"),
            match_score=_as_int(item.get("matchScore")),
            reasoning=item.get("reasoning"),
            vector_matches=_as_int(item.get("vectorMatches")),
            sources_used=tuple(item.get("sourcesUsed") or ()),
            latency_ms=_as_int(item.get("latencyMs")),
            user_agent=item.get("userAgent"),
            referer=item.get("referer"),
        )
