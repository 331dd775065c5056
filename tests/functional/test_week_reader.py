"""The streaming week reader against the emulator: same summary as the materialised read."""

from __future__ import annotations

import uuid

from cv_analytics.aggregation import summarise_week
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore, to_attribute
from cv_analytics.aws.week_reader import WeekReader
from cv_analytics.events import parse_event
from cv_analytics.records import derive, record_update
from cv_analytics.weeks import IsoWeek
from tests.support.events import query_event, response_event

WEEK = IsoWeek(2025, 47)
PREVIOUS = WEEK.previous()


def _ms(week: IsoWeek, *, hours: float) -> int:
    return int(week.start.timestamp() * 1000 + hours * 3_600_000)


def _store(stack) -> AnalyticsStore:
    return AnalyticsStore(client=aws_client("dynamodb"), table_name=stack.names.analytics_table)


def _reader(stack) -> WeekReader:
    return WeekReader(client=aws_client("dynamodb"), table_name=stack.names.analytics_table)


def _materialised(stack, week: IsoWeek):
    store = _store(stack)
    return summarise_week(
        week=week, records=store.records_for_week(week), previous=store.records_for_week(week.previous())
    )


def _seed_events(stack, week: IsoWeek, *, answered: int, unanswered: int, orphans: int) -> None:
    """Records written through the processor's store, from the worker's own event shapes."""
    store = _store(stack)

    def record(event: dict) -> None:
        store.write(record_update(parse_event(event), ttl_days=90))

    skills = [["Python", "AWS"], ["python"], ["Go"], []]
    for n in range(answered + unanswered + orphans):
        rid, asked = str(uuid.uuid4()), _ms(week, hours=5 + n)
        if n < answered + unanswered:
            question = ["Do you know Python?", "do you know python? ", "Any Go?"][n % 3]
            record(query_event(rid, timestamp=asked, query=question, session=f"s-{n % 4}"))
        if n < answered or n >= answered + unanswered:
            response = response_event(
                rid,
                timestamp=asked + 250 * (n + 1),
                match_type=["full", "partial", "none"][n % 3],
                score=40 + n,
                sources=skills[n % 4] or None,
            )
            record(response)


def test_week_reader_summary_equals_materialised_summary(stack):
    """Streaming the week from the emulator gives exactly the summary of the materialised week."""
    _seed_events(stack, WEEK, answered=7, unanswered=3, orphans=2)
    _seed_events(stack, PREVIOUS, answered=4, unanswered=1, orphans=1)

    summary = _reader(stack).summarise(WEEK)

    assert summary == _materialised(stack, WEEK)
    assert (summary.totals.queries, summary.totals.orphan_responses, summary.changes.queries.previous) == (
        10,
        2,
        5,
    )


def test_week_reader_follows_every_page(stack):
    """A week larger than one 1 MB page is read in full, page after page."""
    client, table = aws_client("dynamodb"), stack.names.analytics_table
    records = 14
    for n in range(records):
        asked = _ms(WEEK, hours=1 + n)
        halves = {
            "query": f"question {n}",
            "queryTimestamp": asked,
            "responseTimestamp": asked + 100,
            "matchType": "full",
            # Big answers make each item ~100 KB, so the week spans two pages.
            "reasoning": "x" * 100_000,
        }
        item = {"requestId": f"big-{n}", **halves, **derive(halves, ttl_days=90)}
        client.put_item(TableName=table, Item={k: to_attribute(v) for k, v in item.items() if v is not None})

    summary = _reader(stack).summarise(WEEK)

    assert summary.totals.answered == records
    assert summary == _materialised(stack, WEEK)
