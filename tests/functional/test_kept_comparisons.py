"""Comparison figures kept with a week's report, and next week's report reading them."""

from __future__ import annotations

import json
import uuid

from cv_analytics.aggregation import ComparisonFigures, Totals, summarise_week
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.aws.week_reader import COMPARISON_ATTRIBUTE, KeptComparisons, WeekReader
from cv_analytics.events import parse_event
from cv_analytics.records import record_update
from cv_analytics.weeks import IsoWeek
from tests.support.events import query_event, response_event

WEEK = IsoWeek(2025, 47)
PREVIOUS = WEEK.previous()


def _seed(stack, week: IsoWeek, *, answered: int, unanswered: int) -> None:
    store = AnalyticsStore(client=aws_client("dynamodb"), table_name=stack.names.analytics_table)
    start = int(week.start.timestamp() * 1000)
    for n in range(answered + unanswered):
        rid, asked = str(uuid.uuid4()), start + n * 3_600_000
        store.write(record_update(parse_event(query_event(rid, timestamp=asked)), ttl_days=90))
        if n < answered:
            answer = response_event(rid, timestamp=asked + 500, sources=["Python"])
            store.write(record_update(parse_event(answer), ttl_days=90))


def _claim(stack, week: IsoWeek) -> None:
    """The report item the send log makes when a run claims the week."""
    aws_client("dynamodb").put_item(
        TableName=stack.names.reports_table, Item={"week": {"S": str(week)}, "status": {"S": "sending"}}
    )


def _kept(stack) -> KeptComparisons:
    return KeptComparisons(client=aws_client("dynamodb"), table_name=stack.names.reports_table)


def _reader(stack, *, kept: bool = True) -> WeekReader:
    return WeekReader(
        client=aws_client("dynamodb"),
        table_name=stack.names.analytics_table,
        comparisons=_kept(stack) if kept else None,
    )


def _report_item(stack, week: IsoWeek) -> dict | None:
    return (
        aws_client("dynamodb")
        .get_item(TableName=stack.names.reports_table, Key={"week": {"S": str(week)}})
        .get("Item")
    )


def test_week_reader_keeps_figures_on_the_claimed_week(stack):
    """GIVEN a claimed week WHEN its summary is built THEN its comparison figures are kept on its item."""
    _seed(stack, WEEK, answered=3, unanswered=1)
    _claim(stack, WEEK)
    _reader(stack).summarise(WEEK)
    kept = _kept(stack).get(WEEK)
    assert kept is not None
    assert kept.totals() == Totals(queries=4, unique_sessions=1, answered=3, unanswered=1, orphan_responses=0)
    assert kept.skill_counts() == {"python": 3}


def test_week_reader_uses_kept_figures_instead_of_reading_last_week(stack):
    """GIVEN last week's figures kept WHEN this week is summarised THEN the comparison is the kept one."""
    _seed(stack, PREVIOUS, answered=2, unanswered=0)
    _seed(stack, WEEK, answered=1, unanswered=0)
    _claim(stack, PREVIOUS)
    totals = Totals(queries=42, unique_sessions=7, answered=40, unanswered=2, orphan_responses=0)
    assert _kept(stack).keep(PREVIOUS, ComparisonFigures(week_totals=totals, skills={"python": 30}))
    summary = _reader(stack).summarise(WEEK)
    assert summary.changes.queries.previous == 42
    assert [(trend.skill, trend.previous_count) for trend in summary.top_skills] == [("Python", 30)]


def test_week_reader_without_kept_figures_reads_last_week(stack):
    """GIVEN no figures kept for last week WHEN this week is summarised THEN it equals reading both weeks."""
    _seed(stack, PREVIOUS, answered=2, unanswered=1)
    _seed(stack, WEEK, answered=1, unanswered=1)
    store = AnalyticsStore(client=aws_client("dynamodb"), table_name=stack.names.analytics_table)
    expected = summarise_week(
        week=WEEK, records=store.records_for_week(WEEK), previous=store.records_for_week(PREVIOUS)
    )
    assert _reader(stack).summarise(WEEK) == expected
    assert expected.changes.queries.previous == 3


def test_kept_figures_equal_reading_the_week(stack):
    """GIVEN a week summarised once (its figures kept) WHEN the next week is summarised THEN the
    summary is the same as with the previous week read record by record."""
    _seed(stack, PREVIOUS, answered=3, unanswered=2)
    _seed(stack, WEEK, answered=2, unanswered=1)
    _claim(stack, PREVIOUS)
    _reader(stack).summarise(PREVIOUS)
    assert _kept(stack).get(PREVIOUS) is not None
    assert _reader(stack).summarise(WEEK) == _reader(stack, kept=False).summarise(WEEK)


def test_kept_comparisons_keep_makes_no_item_for_an_unclaimed_week(stack):
    """GIVEN a week nobody claimed WHEN figures are kept THEN nothing is written (no false claim)."""
    totals = Totals(queries=1, unique_sessions=1, answered=1, unanswered=0, orphan_responses=0)
    assert not _kept(stack).keep(WEEK, ComparisonFigures(week_totals=totals, skills={}))
    assert _report_item(stack, WEEK) is None


def test_kept_comparisons_get_other_format_is_not_used(stack):
    """GIVEN figures kept in another format WHEN they are read THEN they are not used (None)."""
    _claim(stack, PREVIOUS)
    aws_client("dynamodb").update_item(
        TableName=stack.names.reports_table,
        Key={"week": {"S": str(PREVIOUS)}},
        UpdateExpression="SET #figures = :figures",
        ExpressionAttributeNames={"#figures": COMPARISON_ATTRIBUTE},
        ExpressionAttributeValues={":figures": {"S": json.dumps({"format": 0, "totals": {}, "skills": {}})}},
    )
    assert _kept(stack).get(PREVIOUS) is None


def test_reporter_lambda_keeps_the_sent_week_figures(stack):
    """GIVEN a week with records WHEN the reporter Lambda sends its report THEN the week's
    comparison figures are on its report item, and a preview keeps none."""
    from cv_analytics.runner.invokers import InProcessInvoker
    from cv_reporter.handler import lambda_handler
    from cv_reporter.reporting import preview

    _seed(stack, WEEK, answered=2, unanswered=1)
    preview(WEEK)
    assert _report_item(stack, WEEK) is None
    reporter = InProcessInvoker(name="reporter", handler=lambda_handler, timeout_seconds=60)
    assert reporter.invoke({"week": str(WEEK)})["status"] == "sent"
    item = _report_item(stack, WEEK)
    assert item is not None
    assert json.loads(item[COMPARISON_ATTRIBUTE]["S"])
    assert _kept(stack).get(WEEK) is not None
