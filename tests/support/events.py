"""Events as the production worker sends them: the stored JSON under ``tests/events/``, and
builders for events and correlated records."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from cv_analytics.records import AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek

EVENTS_DIR = Path(__file__).parents[1] / "events"
# A query's timestamp (milliseconds): Monday 24 November 2025, 10:26:40 UTC.
QUERY_AT = 1_763_980_000_000


def load_event(name: str) -> dict[str, Any]:
    """The realistic event stored as ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


_request_ids = itertools.count(1)


def make_record(*, status: Status, week: IsoWeek, **fields: object) -> AnalyticsRecord:
    """A correlated record dated at the start of ``week``, with a fresh requestId."""
    return AnalyticsRecord(
        request_id=f"request-{next(_request_ids)}",
        week=str(week),
        timestamp=int(week.start.timestamp() * 1000),
        status=status,
        **fields,  # type: ignore[arg-type]
    )


def query_event(
    request_id: str,
    *,
    timestamp: int,
    query: str = "Do you have Python experience?",
    session: str | None = "session-1",
) -> dict[str, Any]:
    event = {
        "eventType": "query",
        "requestId": request_id,
        "timestamp": timestamp,
        "query": query,
        "metadata": {"userAgent": "Mozilla/5.0", "referer": "https://cv.example.com/"},
    }
    if session:
        event["sessionId"] = session
    return event


def response_event(
    request_id: str,
    *,
    timestamp: int,
    match_type: str = "full",
    score: int = 95,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": "response",
        "requestId": request_id,
        "timestamp": timestamp,
        "matchType": match_type,
        "matchScore": score,
        "reasoning": f'Excellent match: "Python" with {score / 100:.2f} similarity',
        "vectorMatches": 3,
        "sessionId": "session-1",
        "metadata": {"matchQuality": score / 100, "sourcesUsed": sources or ["Python"]},
    }
