"""A realistic week of records for the report email's tests, spread over the days of the week."""

from __future__ import annotations

import itertools

from cv_analytics.aggregation import WeeklySummary, summarise_week
from cv_analytics.records import AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek

WEEK = IsoWeek(2025, 47)
HOUR_MS = 3_600_000

# (day of the week, queries, answered) for the sample week: a quiet Wednesday, a busy Friday.
DAILY = ((0, 6, 5), (1, 9, 7), (2, 0, 0), (3, 4, 2), (4, 12, 11), (5, 3, 3), (6, 2, 1))
QUESTIONS = ("Do you know Python?", "Kubernetes experience?", "What about Rust?", "Leadership?")
SKILLS = (("Python",), ("Kubernetes", "AWS"), (), ("Team lead",))
_ids = itertools.count(1)


def _record(*, day: int, number: int, answered: bool) -> AnalyticsRecord:
    asked = int(WEEK.start.timestamp() * 1000) + (day * 24 + 9 + number % 12) * HOUR_MS
    kind = number % len(QUESTIONS)
    fields: dict[str, object] = {}
    if answered:
        fields = {
            "match_type": ("full", "partial", "none", "full")[kind],
            "match_score": (92, 64, 21, 85)[kind],
            "latency_ms": 300 + 40 * number,
            "sources_used": SKILLS[kind],
        }
    return AnalyticsRecord(
        request_id=f"sample-{next(_ids)}",
        week=str(WEEK),
        timestamp=asked,
        status=Status.ANSWERED if answered else Status.AWAITING_RESPONSE,
        query=QUESTIONS[kind],
        session_id=f"session-{number % 5}",
        **fields,  # type: ignore[arg-type]
    )


def sample_records() -> list[AnalyticsRecord]:
    """The sample week's records: ``DAILY`` queries per day, the first ``answered`` answered."""
    return [
        _record(day=day, number=number, answered=number < answered)
        for day, queries, answered in DAILY
        for number in range(queries)
    ]


def sample_summary() -> WeeklySummary:
    """The sample week summarised, compared with an empty week before."""
    return summarise_week(week=WEEK, records=sample_records(), previous=[])


def empty_summary() -> WeeklySummary:
    return summarise_week(week=WEEK, records=[], previous=[])
