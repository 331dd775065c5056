"""The console's Jinja2 setup: the email's (autoescape, StrictUndefined) and its figure filters.

Figures read exactly as in the weekly email because the filters are the reporter's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cv_reporter import rendering as report_rendering

TEMPLATES = Path(__file__).parent / "templates"
_REPORT_FILTERS = ("count_change", "rate_change", "percent", "score", "ms")


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(context)


@cache
def environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # Queries, reasons and message bodies are visitor input: always escaped.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    report_filters = report_rendering.report_filters()
    environment.filters.update({name: report_filters[name] for name in _REPORT_FILTERS})
    environment.filters.update(ago=ago, moment=moment, epoch_ms=epoch_ms, seconds=seconds)
    return environment


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """'12 s ago', '3 min ago', '2 h ago', '4 d ago' for a past moment; 'never' for None."""
    if value is None:
        return "never"
    # Only past moments are shown; a file's time can run a moment ahead of the clock.
    elapsed = max(0.0, ((now or datetime.now(UTC)) - value).total_seconds())
    return f"{seconds(elapsed)} ago"


def seconds(value: float | None) -> str:
    """A duration in the largest unit that keeps it readable."""
    if value is None:
        return "n/a"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if value >= size:
            return f"{value // size:.0f} {unit}"
    return f"{value:.0f} s"


def moment(value: datetime | None) -> str:
    return "never" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def epoch_ms(value: int | None) -> str:
    if value is None:
        return "n/a"
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
