"""The newest processed records, and a cursor that follows them as they change.

Records are found by event time through the analytics table's week index (partition
``week``, sort ``timestamp``): a Query per week touched, newest first, never a Scan. A
record is reported again when its status changes (a query lands first, its answer later).

The cursor trails the newest event time seen by ``lateness``, so a response arriving a few
seconds after its query, or events the ingest outbox held back for a while, are still seen.
A record dated before the cursor (back-filled traffic for a past week) is not followed:
start a feed with an earlier ``since`` to see it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import from_item
from cv_analytics.records import latency_of, status_of
from cv_analytics.resources import week_index
from cv_analytics.settings import ResourceNames
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The attributes a feed line shows (and what status and latency are derived from).
_FEED_ATTRIBUTES = (
    "requestId",
    "timestamp",
    "query",
    "queryTimestamp",
    "responseTimestamp",
    "matchType",
    "matchScore",
    "sessionId",
)
# Events may be dated up to a day ahead (cv_analytics.events), so a feed looks that far.
_FUTURE_SKEW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    request_id: str
    timestamp: int  # the record's event time, epoch milliseconds
    query: str | None
    status: str  # awaiting_response | answered | awaiting_query
    match_type: str | None
    match_score: int | None
    latency_ms: int | None
    session_id: str | None

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, tz=UTC)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FeedEntry:
        """From a plain (deserialised) analytics item, deriving status and latency."""
        score = item.get("matchScore")
        return cls(
            request_id=str(item["requestId"]),
            timestamp=int(item["timestamp"]),
            query=item.get("query"),
            status=status_of(item).value,
            match_type=item.get("matchType"),
            match_score=None if score is None else int(score),
            latency_ms=latency_of(item),
            session_id=item.get("sessionId"),
        )


def weeks_between(start: datetime, end: datetime) -> list[IsoWeek]:
    """Every ISO week from ``start``'s to ``end``'s, oldest first."""
    weeks, week = [], IsoWeek.of(end)
    first = IsoWeek.of(start)
    while week >= first:
        weeks.append(week)
        week = week.previous()
    return weeks[::-1]


def latest_records(
    *,
    limit: int = 20,
    dynamodb: DynamoDBClient | None = None,
    names: ResourceNames | None = None,
    now: datetime | None = None,
    max_weeks: int = 2,
) -> list[FeedEntry]:
    """The ``limit`` newest records by event time (newest first), from the last ``max_weeks`` weeks."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    reader = _WeekIndex(dynamodb or aws_client("dynamodb"), (names or ResourceNames()).analytics_table)
    end = (now or datetime.now(UTC)) + _FUTURE_SKEW
    entries: list[FeedEntry] = []
    for week in reversed(weeks_between(end - timedelta(weeks=max_weeks - 1), end)):
        entries += reader.newest(week, limit=limit - len(entries))
        if len(entries) >= limit:
            break
    return entries


class RecordFeed:
    """A cursor over the analytics records: each ``poll`` returns what is new or changed."""

    def __init__(
        self,
        *,
        since: datetime,
        dynamodb: DynamoDBClient | None = None,
        names: ResourceNames | None = None,
        lateness: timedelta = timedelta(minutes=15),
    ) -> None:
        self._reader = _WeekIndex(
            dynamodb or aws_client("dynamodb"), (names or ResourceNames()).analytics_table
        )
        self._cursor_ms = _epoch_ms(since)
        self._lateness_ms = int(lateness.total_seconds() * 1000)
        self._seen: dict[str, tuple[str, int]] = {}  # requestId -> (status, timestamp)

    def poll(self, *, now: datetime | None = None) -> list[FeedEntry]:
        """Records new since the last poll, or whose status changed, oldest first."""
        now = now or datetime.now(UTC)
        end = now + _FUTURE_SKEW
        start = datetime.fromtimestamp(self._cursor_ms / 1000, tz=UTC)
        changed = []
        for week in weeks_between(start, end):
            for entry in self._reader.since(week, from_ms=self._cursor_ms):
                if self._seen.get(entry.request_id, ("", 0))[0] != entry.status:
                    self._seen[entry.request_id] = (entry.status, entry.timestamp)
                    changed.append(entry)
        self._advance(now_ms=_epoch_ms(now))
        return sorted(changed, key=lambda entry: (entry.timestamp, entry.request_id))

    def _advance(self, *, now_ms: int) -> None:
        """Trail the newest event time by the lateness; forget what falls behind.

        Never past now: an event dated ahead (allowed, up to a day) must not hide the present.
        """
        if not self._seen:
            return
        newest = min(now_ms, max(timestamp for _, timestamp in self._seen.values()))
        self._cursor_ms = max(self._cursor_ms, newest - self._lateness_ms)
        self._seen = {key: seen for key, seen in self._seen.items() if seen[1] >= self._cursor_ms}


def follow(
    feed: RecordFeed, *, interval: float = 2.0, stop: threading.Event | None = None
) -> Iterator[FeedEntry]:
    """Entries as ``feed`` finds them, polling every ``interval`` seconds until ``stop`` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        yield from feed.poll()
        stop.wait(interval)


class _WeekIndex:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def newest(self, week: IsoWeek, *, limit: int) -> list[FeedEntry]:
        response = self._client.query(**self._request(week), ScanIndexForward=False, Limit=limit)
        return [FeedEntry.from_item(from_item(item)) for item in response["Items"]]

    def since(self, week: IsoWeek, *, from_ms: int) -> Iterator[FeedEntry]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(**self._request(week, from_ms=from_ms)):
            for item in page["Items"]:
                yield FeedEntry.from_item(from_item(item))

    def _request(self, week: IsoWeek, *, from_ms: int | None = None) -> dict[str, Any]:
        # Placeholders for every name: query and timestamp are reserved words.
        names = {f"#a{number}": name for number, name in enumerate(_FEED_ATTRIBUTES)}
        condition, values = "#week = :week", {":week": {"S": str(week)}}
        if from_ms is not None:
            condition += " AND #a1 >= :from"
            values[":from"] = {"N": str(from_ms)}
        return {
            "TableName": self._table,
            "IndexName": week_index(),
            "KeyConditionExpression": condition,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": {"#week": "week", **names},
            "ExpressionAttributeValues": values,
        }


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
