"""The console's per-day chart geometry and its time filters: pure arithmetic on the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cv_analytics.aggregation import DayFigures
from cv_analytics_cli.console.chart import HEIGHT, day_chart
from cv_analytics_cli.console.rendering import ago, seconds

MONDAY = date(2025, 11, 17)


def _week(*counts: tuple[int, int]) -> list[DayFigures]:
    return [
        DayFigures(day=MONDAY + timedelta(days=n), queries=queries, answered=answered)
        for n, (queries, answered) in enumerate(counts)
    ]


def test_day_chart_scales_bars_to_the_busiest_day() -> None:
    """The busiest day's bar spans the plot; a day with half its queries is half as tall."""
    chart = day_chart(_week((10, 10), (5, 5), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)))

    busiest, half, empty = chart.marks[0], chart.marks[1], chart.marks[2]
    assert busiest.y == chart.top and busiest.y + busiest.height == chart.baseline
    assert half.height == busiest.height / 2
    assert empty.height == 0 and empty.y == chart.baseline
    assert chart.max_queries == 10


def test_day_chart_places_rate_on_full_height_and_skips_days_without_queries() -> None:
    """The rate line runs 0-100 % of the plot height, through days that had queries only."""
    chart = day_chart(_week((4, 4), (0, 0), (4, 2), (0, 0), (0, 0), (0, 0), (4, 0)))

    rates = [mark.rate_y for mark in chart.marks]
    assert rates[0] == chart.top and rates[6] == chart.baseline
    assert rates[2] == (chart.top + chart.baseline) / 2
    assert rates[1] is None and rates[3] is None
    assert len(chart.rate_points.split()) == 3


def test_day_chart_empty_week_has_seven_flat_days_and_no_rate_line() -> None:
    """A week without queries still shows its seven labelled days, no bars and no line."""
    chart = day_chart(_week(*[(0, 0)] * 7))

    assert [mark.label for mark in chart.marks] == [
        "Mon 17",
        "Tue 18",
        "Wed 19",
        "Thu 20",
        "Fri 21",
        "Sat 22",
        "Sun 23",
    ]
    assert all(mark.height == 0 for mark in chart.marks)
    assert chart.rate_points == ""
    assert all(0 <= mark.x < mark.x + mark.width <= chart.width for mark in chart.marks)
    assert chart.height == HEIGHT


def test_ago_picks_a_readable_unit() -> None:
    """Elapsed times read in seconds, minutes, hours or days; None reads 'never'."""
    now = datetime(2025, 11, 17, 12, tzinfo=UTC)

    assert ago(now - timedelta(seconds=12), now) == "12 s ago"
    assert ago(now - timedelta(minutes=3, seconds=59), now) == "3 min ago"
    assert ago(now - timedelta(hours=5), now) == "5 h ago"
    assert ago(now - timedelta(days=2), now) == "2 d ago"
    assert ago(now + timedelta(milliseconds=300), now) == "0 s ago"
    assert ago(None, now) == "never"


def test_seconds_without_a_value_is_not_available() -> None:
    """An unknown duration (no waiting event) reads 'n/a', not 0."""
    assert seconds(None) == "n/a"
    assert seconds(0.4) == "0 s"
