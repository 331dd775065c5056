"""Correlated analytics records: one per requestId, merged from its query and response.

Each event writes, in one atomic update and without reading first, its own half of the
record plus the fields that date it (``week``, ``timestamp``, ``expiresAt``) and its
``sessionId``. The query owns those: it sets them outright. A response sets them only where
the record has none yet (``if_not_exists``), which dates a record whose query has not
arrived and leaves one whose query has alone; a query arriving later re-dates it. Status
and latency are not stored: they follow from which halves exist and are derived when the
record is read (``status_of``, ``latency_of``; the streaming week reader does the same).

So every write depends on its own event only and the writes commute: any arrival order,
any number of redeliveries and concurrent writers all converge on the record ``derive``
describes. This assumes what the worker sends, one query and one response per requestId
(a second copy is a redelivery of the same event); with two different responses and no
query yet, the first to land dates the record until the query comes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:  # the models cost an import the record's readers do not need
    from cv_analytics.events import QueryEvent, ResponseEvent

ANONYMOUS_SESSION = "anonymous"
_SECONDS_PER_DAY = 86_400


class Status(StrEnum):
    AWAITING_RESPONSE = "awaiting_response"
    ANSWERED = "answered"
    # A response whose query has not arrived (yet); the worker's calls race.
    AWAITING_QUERY = "awaiting_query"


# Attributes each half owns.
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
# Stored, and written by both halves: outright by the query, where absent by the response.
DATING_ATTRIBUTES = ("week", "timestamp", "sessionId", "expiresAt")
# Derived when read, never stored. Records written before that was so hold them; every
# write removes them, so no record keeps a stale status once an event touches it again.
READ_ONLY_ATTRIBUTES = ("status", "latencyMs")
DERIVED_ATTRIBUTES = (*DATING_ATTRIBUTES, *READ_ONLY_ATTRIBUTES)


class UndatableEvent(ValueError):
    """An event whose timestamp gives no ISO week or expiry; it can never be recorded."""


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
    return query_half(event) if event.eventType == "query" else response_half(event)


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """One event's write to its record, applied atomically: no read, no condition.

    ``set`` is written whatever the record holds, ``set_if_absent`` only where it holds no
    value yet, and ``remove`` is deleted. The three never name the same attribute.
    """

    request_id: str
    set: Mapping[str, Any]
    set_if_absent: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = READ_ONLY_ATTRIBUTES

    def __post_init__(self) -> None:
        named = [*self.set, *self.set_if_absent, *self.remove]
        if len(named) != len(set(named)):
            raise ValueError(f"an attribute is written twice by one update: {named}")

    def written(self) -> dict[str, Any]:
        """Every attribute this update may store, with its value (for size checks)."""
        return {**self.set_if_absent, **self.set}

    def applied_to(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """``item`` after this update: what the store's write does, in memory."""
        updated = {name: value for name, value in item.items() if name not in self.remove}
        updated.setdefault("requestId", self.request_id)
        for name, value in self.set_if_absent.items():
            updated.setdefault(name, value)
        return updated | dict(self.set)


def record_update(event: QueryEvent | ResponseEvent, *, ttl_days: int) -> RecordUpdate:
    """What ``event`` writes into its record (see the module docstring for why it converges).

    Raises UndatableEvent when the timestamp gives no week or expiry.
    """
    half = {name: value for name, value in half_of(event).items() if value is not None}
    dating = _dating(event.timestamp, session_id=event.sessionId, ttl_days=ttl_days)
    if event.eventType == "query":
        return RecordUpdate(request_id=event.requestId, set=half | dating)
    return RecordUpdate(request_id=event.requestId, set=half, set_if_absent=dating)


def _dating(timestamp: int, *, session_id: str | None, ttl_days: int) -> dict[str, Any]:
    try:
        week = str(IsoWeek.of_epoch_ms(timestamp))
    except (ValueError, OverflowError, OSError) as exc:
        raise UndatableEvent(f"the record's week cannot be derived from {timestamp}: {exc}") from exc
    dating = {"week": week, "timestamp": timestamp, "expiresAt": _expires_at(timestamp, ttl_days)}
    # An empty session counts as none, so the other half's may fill it.
    return (dating | {"sessionId": session_id}) if session_id else dating


def expires_at(epoch_seconds: int, *, ttl_days: int) -> int:
    """The DynamoDB TTL attribute of an item dated ``epoch_seconds``: ``ttl_days`` whole days later.

    Every table's ``expiresAt`` is computed here (raw events, records, the reports table)."""
    return epoch_seconds + ttl_days * _SECONDS_PER_DAY


def _expires_at(anchor_ms: int, ttl_days: int) -> int:
    return expires_at(anchor_ms // 1000, ttl_days=ttl_days)


def derive(item: Mapping[str, Any], *, ttl_days: int) -> dict[str, Any]:
    """Every derived field of a record holding ``item``'s halves (None where unknown).

    This is what the updates converge on: the dating fields as stored, and the status and
    latency as read.
    """
    query_ts = _as_int(item.get("queryTimestamp"))
    response_ts = _as_int(item.get("responseTimestamp"))
    anchor = query_ts if query_ts is not None else response_ts
    if anchor is None:
        raise ValueError("a record needs a query or a response")
    return {
        "week": str(IsoWeek.of_epoch_ms(anchor)),
        "timestamp": anchor,
        # An empty session counts as none, as in record_update.
        "sessionId": item.get("querySessionId") or item.get("responseSessionId") or None,
        "status": status_of(item).value,
        "latencyMs": latency_of(item),
        "expiresAt": _expires_at(anchor, ttl_days),
    }


def status_of(item: Mapping[str, Any]) -> Status:
    """The record's status, from which halves it holds (their timestamps)."""
    has_query, has_response = (
        item.get("queryTimestamp") is not None,
        item.get("responseTimestamp") is not None,
    )
    if not has_query:
        if not has_response:
            raise ValueError("a record needs a query or a response")
        return Status.AWAITING_QUERY
    return Status.ANSWERED if has_response else Status.AWAITING_RESPONSE


def latency_of(item: Mapping[str, Any]) -> int | None:
    """Response time minus query time in ms, once both halves are there."""
    query_ts, response_ts = _as_int(item.get("queryTimestamp")), _as_int(item.get("responseTimestamp"))
    return None if query_ts is None or response_ts is None else response_ts - query_ts


def with_read_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record with ``status`` and ``latencyMs`` added, as a reader sees it."""
    latency = latency_of(item)
    shown = {name: value for name, value in item.items() if name not in READ_ONLY_ATTRIBUTES}
    shown["status"] = status_of(item).value
    return shown if latency is None else shown | {"latencyMs": latency}


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
        """Build from a plain (already deserialised) DynamoDB item.

        Status and latency come from the halves present, never from stored values: records
        no longer store them, and one written before that may hold a stale status.
        """
        return cls(
            request_id=item["requestId"],
            week=item["week"],
            timestamp=int(item["timestamp"]),
            status=status_of(item),
            query=item.get("query"),
            session_id=item.get("sessionId"),
            match_type=item.get("matchType"),
            match_score=_as_int(item.get("matchScore")),
            reasoning=item.get("reasoning"),
            vector_matches=_as_int(item.get("vectorMatches")),
            sources_used=tuple(item.get("sourcesUsed") or ()),
            latency_ms=latency_of(item),
            user_agent=item.get("userAgent"),
            referer=item.get("referer"),
        )


def completing_latency(update: RecordUpdate, previous: Mapping[str, Any]) -> int | None:
    """The query→response latency in ms when ``update`` completed its record, else None.

    ``previous`` is the record as it was just before the update was applied (one atomic
    write returns it). The update completes the record when it brings one half's timestamp
    and the record held only the other's; a redelivered event finds its own half there
    already, so each record's latency is reported once, whatever the order or the retries.
    """
    had_query = previous.get("queryTimestamp") is not None
    had_response = previous.get("responseTimestamp") is not None
    if "responseTimestamp" in update.set and had_query and not had_response:
        return int(update.set["responseTimestamp"]) - int(previous["queryTimestamp"])
    if "queryTimestamp" in update.set and had_response and not had_query:
        return int(previous["responseTimestamp"]) - int(update.set["queryTimestamp"])
    return None
