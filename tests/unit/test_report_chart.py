"""The report's per-day chart: a PNG of queries per day (bars) and the answer rate (line)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image, ImageStat

from cv_analytics.aggregation import DayFigures
from cv_reporter.chart import HEIGHT, SCALE, WIDTH, daily_chart_png
from tests.support.report_samples import DAILY, empty_summary, sample_summary

BAR_BLUE = (0x09, 0x69, 0xDA)


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def _bar_height(image: Image.Image, *, day: int, days: int = 7) -> int:
    """How many pixels of the bar colour the column through the middle of ``day``'s slot holds."""
    left, right = 40 * SCALE, image.width - 48 * SCALE
    x = round(left + (right - left) * (day + 0.5) / days)
    pixels = (image.getpixel((x, y)) for y in range(image.height))
    return sum(1 for pixel in pixels if _near(pixel, BAR_BLUE))


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return sum(abs(a - b) for a, b in zip(pixel, colour, strict=True)) < 24


def test_daily_chart_png_is_twice_the_email_size() -> None:
    """The PNG decodes, at SCALE times the size the email lays it out in."""
    image = _image(daily_chart_png(sample_summary().days))

    assert image.size == (WIDTH * SCALE, HEIGHT * SCALE)


def test_daily_chart_png_same_figures_give_same_bytes() -> None:
    """Drawing the same week twice gives byte-identical PNGs."""
    assert daily_chart_png(sample_summary().days) == daily_chart_png(sample_summary().days)


def test_daily_chart_png_bars_follow_queries_per_day() -> None:
    """Each day's bar is as tall as its queries: Friday's 12 twice Monday's 6, Wednesday's 0 absent."""
    image = _image(daily_chart_png(sample_summary().days))
    heights = [_bar_height(image, day=day) for day, _, _ in DAILY]

    assert heights[2] == 0
    assert heights[4] == pytest.approx(2 * heights[0], abs=2)
    assert heights[1] > heights[0] > heights[3] > heights[5] > heights[6] > 0


def test_daily_chart_png_empty_week_draws_axes_without_bars() -> None:
    """An empty week still gives a chart of the right size: axes and labels, no bar."""
    days = empty_summary().days
    image = _image(daily_chart_png(days))

    assert image.size == (WIDTH * SCALE, HEIGHT * SCALE)
    assert [_bar_height(image, day=day) for day in range(7)] == [0] * 7
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10


def test_daily_chart_png_differs_between_weeks() -> None:
    """Other figures give another picture: the bytes depend on the figures."""
    monday = date(2025, 11, 17)
    one = [DayFigures(day=monday + timedelta(days=n), queries=n, answered=n) for n in range(7)]
    other = [DayFigures(day=monday + timedelta(days=n), queries=7 - n, answered=0) for n in range(7)]

    assert daily_chart_png(one) != daily_chart_png(other)


def test_daily_chart_png_without_days_is_refused() -> None:
    """No days at all is a clear error, not an empty picture."""
    with pytest.raises(ValueError, match="at least one day"):
        daily_chart_png([])
