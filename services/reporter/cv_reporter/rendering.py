"""Render a weekly summary as an email (subject, HTML, text, inline chart); sending is someone else's job.

The HTML is laid out for mail clients, not browsers: tables, a style attribute on every
element that needs one (Gmail drops or rewrites <style> blocks, Outlook's Word engine
ignores much of them) and the per-day chart as a PNG in the message, shown by Content-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cv_analytics.aggregation import Change, SkillTrend, WeeklySummary
from cv_analytics.inline_images import InlineImage
from cv_reporter import chart

_TEMPLATES = Path(__file__).parent / "templates"
_NOT_AVAILABLE = "n/a"


@dataclass(frozen=True, slots=True)
class EmailData:
    subject: str
    html: str
    text: str
    images: tuple[InlineImage, ...] = ()
    """What the HTML shows by Content-ID: the per-day chart, unless the week is empty."""


def render_weekly_report(summary: WeeklySummary) -> EmailData:
    subject = f"CV Analytics Weekly Report - Week {summary.week}"
    environment = _environment()
    daily = None if summary.is_empty else daily_chart(summary)
    context = {
        "summary": summary,
        "subject": subject,
        "chart": daily,
        "chart_width": chart.WIDTH,
        "chart_height": chart.HEIGHT,
    }
    return EmailData(
        subject=subject,
        html=environment.get_template("weekly_report.html.j2").render(context),
        text=environment.get_template("weekly_report.txt.j2").render(context),
        images=() if daily is None else (daily,),
    )


def daily_chart(summary: WeeklySummary) -> InlineImage:
    """The week's queries per day and answer rate as a PNG, named for its week."""
    return InlineImage(
        content_id=f"daily-{summary.week}@cv-analytics",
        data=chart.daily_chart_png(summary.days),
        filename=f"queries-per-day-{summary.week}.png",
    )


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        # Queries are visitor input: escape them in HTML, keep them verbatim in text.
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(report_filters())
    return environment


def report_filters() -> dict[str, Callable[..., str]]:
    """The filters the report's templates format figures with, by name (the console shows the
    same figures the same way)."""
    return {
        "count_change": _count_change,
        "rate_change": _rate_change,
        "skill_change": _skill_change,
        "percent": _percent,
        "score": _score,
        "ms": _ms,
    }


def _arrow(delta: float) -> str:
    return "\u25b2" if delta > 0 else "\u25bc"


def _count_change(change: Change) -> str:
    """E.g. '▲ +3 (+50%)'; 'new' when last week had none."""
    delta = change.delta
    if delta is None:
        return _NOT_AVAILABLE
    if delta == 0:
        return "no change"
    percent = "new" if change.percent is None else f"{change.percent:+.0f}%"
    return f"{_arrow(delta)} {delta:+.0f} ({percent})"


def _rate_change(change: Change) -> str:
    """Change of a rate in percentage points, e.g. '▼ -12.5 pp'."""
    if change.delta is None:
        return _NOT_AVAILABLE
    points = round(change.delta * 100, 1)
    if points == 0:
        return "no change"
    return f"{_arrow(points)} {points:+.1f} pp"


def _skill_change(trend: SkillTrend) -> str:
    return _count_change(Change(trend.previous_count, trend.count))


def _percent(rate: float | None) -> str:
    return _NOT_AVAILABLE if rate is None else f"{rate * 100:.1f}%"


def _score(score: float | None) -> str:
    return _NOT_AVAILABLE if score is None else f"{score:.1f}"


def _ms(milliseconds: int | None) -> str:
    return _NOT_AVAILABLE if milliseconds is None else f"{milliseconds:,} ms"
