"""The report's per-day chart as a PNG: query bars (left axis) and the answer rate (right axis).

Mail clients show no SVG and no script, and Gmail and Outlook drop CSS-drawn bars, so the
chart is a bitmap the email carries itself. It is drawn at twice the size the email shows it,
so it stays sharp on high-density screens. The same figures always give the same bytes: the
font is the one bundled with Pillow (no system fonts) and the PNG holds no timestamp.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from itertools import pairwise

from PIL import Image, ImageDraw, ImageFont

from cv_analytics.aggregation import DayFigures

WIDTH = 550
"""Width in CSS pixels, as the email lays it out (the 600 px card less its border and padding)."""
HEIGHT = 240
SCALE = 2
"""Pixels per CSS pixel in the PNG."""

_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 48, 40, 44
_GRIDLINES = 4
_BAR_SHARE = 0.5
_WHITE, _INK, _MUTED, _GRID = "#ffffff", "#24292f", "#57606a", "#d8dee4"
_BAR, _RATE = "#0969da", "#1a7f37"
_COLOURS = 32


def daily_chart_png(days: Sequence[DayFigures]) -> bytes:
    """The chart of ``days`` (Monday to Sunday) as PNG bytes, ``WIDTH``×``HEIGHT`` at ``SCALE``."""
    if not days:
        raise ValueError("a daily chart needs at least one day")
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), _WHITE)
    draw = ImageDraw.Draw(image)
    step = _tick_step(max(day.queries for day in days))
    _draw_grid(draw, step=step)
    _draw_legend(draw)
    _draw_days(draw, days, top=step * _GRIDLINES)
    if not any(day.queries for day in days):
        middle = (_LEFT + (WIDTH - _RIGHT)) / 2, (_TOP + HEIGHT - _BOTTOM) / 2
        draw.text(_px(*middle), "No queries this week", fill=_MUTED, font=_font(14), anchor="mm")
    # A few dozen colours lose nothing visible here and make the PNG about a third the size.
    # The octree is deterministic without dithering (identical figures give identical bytes)
    # and several times faster than median cut, for the same picture.
    palette = image.quantize(colors=_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def _tick_step(peak: int) -> int:
    """The gridline spacing: the smallest 1, 2 or 5 × 10^k that fits ``peak`` under the top line."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude * _GRIDLINES >= peak:
                return factor * magnitude
        magnitude *= 10


def _draw_grid(draw: ImageDraw.ImageDraw, *, step: int) -> None:
    left, right = _LEFT, WIDTH - _RIGHT
    for line in range(_GRIDLINES + 1):
        y = _y(line / _GRIDLINES)
        draw.line([_px(left, y), _px(right, y)], fill=_INK if line == 0 else _GRID, width=SCALE)
        draw.text(_px(left - 6, y), f"{line * step}", fill=_MUTED, font=_font(11), anchor="rm")
        draw.text(_px(right + 6, y), f"{100 * line // _GRIDLINES}%", fill=_RATE, font=_font(11), anchor="lm")


def _draw_legend(draw: ImageDraw.ImageDraw) -> None:
    font = _font(12)
    draw.rectangle([_px(_LEFT, 12), _px(_LEFT + 12, 24)], fill=_BAR)
    draw.text(_px(_LEFT + 18, 18), "Queries (left axis)", fill=_INK, font=font, anchor="lm")
    start = _LEFT + 170
    draw.line([_px(start, 18), _px(start + 20, 18)], fill=_RATE, width=2 * SCALE)
    _dot(draw, start + 10, 18)
    draw.text(_px(start + 26, 18), "Answer rate (right axis)", fill=_INK, font=font, anchor="lm")


def _draw_days(draw: ImageDraw.ImageDraw, days: Sequence[DayFigures], *, top: int) -> None:
    slot = (WIDTH - _LEFT - _RIGHT) / len(days)
    rate_points: list[tuple[float, float] | None] = []
    for index, day in enumerate(days):
        centre = _LEFT + slot * (index + 0.5)
        bar_top = _y(day.queries / top)
        if day.queries:
            half = slot * _BAR_SHARE / 2
            draw.rectangle([_px(centre - half, bar_top), _px(centre + half, _y(0))], fill=_BAR)
        if any(other.queries for other in days):
            draw.text(_px(centre, bar_top - 3), f"{day.queries}", fill=_INK, font=_font(11), anchor="md")
        draw.text(
            _px(centre, HEIGHT - _BOTTOM + 8), day.day.strftime("%a"), fill=_INK, font=_font(12), anchor="mt"
        )
        label = f"{day.day.day} {day.day.strftime('%b')}"
        draw.text(_px(centre, HEIGHT - _BOTTOM + 24), label, fill=_MUTED, font=_font(11), anchor="mt")
        rate_points.append(None if day.answer_rate is None else (centre, _y(day.answer_rate)))
    _draw_rate(draw, rate_points)


def _draw_rate(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float] | None]) -> None:
    """The answer-rate line, broken at days without queries (they have no rate)."""
    for start, end in pairwise(points):
        if start is not None and end is not None:
            draw.line([_px(*start), _px(*end)], fill=_RATE, width=2 * SCALE)
    for point in points:
        if point is not None:
            _dot(draw, *point)


def _dot(draw: ImageDraw.ImageDraw, x: float, y: float) -> None:
    radius = 4
    draw.ellipse(
        [_px(x - radius, y - radius), _px(x + radius, y + radius)], fill=_WHITE, outline=_RATE, width=SCALE
    )


def _y(share: float) -> float:
    """The height of ``share`` (0 at the baseline, 1 at the top gridline), in CSS pixels."""
    return HEIGHT - _BOTTOM - share * (HEIGHT - _BOTTOM - _TOP)


def _px(x: float, y: float) -> tuple[int, int]:
    """A point in CSS pixels, in the PNG's pixels (whole pixels, so drawing is exact)."""
    return round(x * SCALE), round(y * SCALE)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font, so the output depends on no font installed on the machine.
    return ImageFont.load_default(size=size * SCALE)
