"""The per-day chart of a week as SVG geometry: query bars and an answer-rate line.

Pure arithmetic on the aggregation's ``DayFigures``; the template draws what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cv_analytics.aggregation import DayFigures

WIDTH = 560
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 40, 16, 36
_PLOT_HEIGHT = HEIGHT - _TOP - _BOTTOM
_BAR_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class DayMark:
    """One day: its bar (queries) and, when it had queries, its point on the rate line."""

    label: str
    """E.g. 'Mon 17'."""
    day: str
    """ISO date."""
    queries: int
    answered: int
    answer_rate: float | None
    x: float
    y: float
    width: float
    height: float
    centre: float
    rate_y: float | None


@dataclass(frozen=True, slots=True)
class DayChart:
    width: int
    height: int
    baseline: float
    top: float
    left: float
    right: float
    max_queries: int
    marks: tuple[DayMark, ...]

    @property
    def rate_points(self) -> str:
        """The answer-rate polyline, through the days that had queries."""
        return " ".join(
            f"{mark.centre:.1f},{mark.rate_y:.1f}" for mark in self.marks if mark.rate_y is not None
        )


def day_chart(days: Sequence[DayFigures]) -> DayChart:
    """Bars scaled to the busiest day (at least 1), the rate on 0-100 % of the same height."""
    busiest = max((figures.queries for figures in days), default=0) or 1
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(days), 1)
    baseline = float(_TOP + _PLOT_HEIGHT)
    marks = tuple(
        _mark(figures, x=_LEFT + index * slot, slot=slot, busiest=busiest, baseline=baseline)
        for index, figures in enumerate(days)
    )
    return DayChart(
        width=WIDTH,
        height=HEIGHT,
        baseline=baseline,
        top=float(_TOP),
        left=float(_LEFT),
        right=float(WIDTH - _RIGHT),
        max_queries=busiest,
        marks=marks,
    )


def _mark(figures: DayFigures, *, x: float, slot: float, busiest: int, baseline: float) -> DayMark:
    height = _PLOT_HEIGHT * figures.queries / busiest
    width = slot * _BAR_SHARE
    rate = figures.answer_rate
    return DayMark(
        label=f"{figures.day:%a} {figures.day.day}",
        day=figures.day.isoformat(),
        queries=figures.queries,
        answered=figures.answered,
        answer_rate=rate,
        x=round(x + (slot - width) / 2, 1),
        y=round(baseline - height, 1),
        width=round(width, 1),
        height=round(height, 1),
        centre=round(x + slot / 2, 1),
        rate_y=None if rate is None else round(baseline - _PLOT_HEIGHT * rate, 1),
    )
