"""The weekly report email as a recipient sees it, rendered by headless Chromium.

The browser is the system's chromium, shared with the console tests (tests/browser/conftest.py).
A browser knows no ``cid:`` URL, so the chart is handed to it as a data: URL, the same
bytes the email attaches. The screenshot is kept as test-output/email-preview.png.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Browser, Page

from cv_analytics.inline_images import with_data_urls
from cv_reporter import chart
from cv_reporter.rendering import EmailData, render_weekly_report
from tests.support.report_samples import sample_summary

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-output" / "email-preview.png"
# A mail client's reading pane, and a phone.
DESKTOP = {"width": 700, "height": 900}
PHONE = {"width": 375, "height": 800}


@pytest.fixture(scope="module")
def report() -> EmailData:
    return render_weekly_report(sample_summary())


def _open(browser: Browser, email: EmailData, *, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_content(with_data_urls(email.html, email.images), wait_until="load")
    return page


@pytest.fixture(scope="module")
def desktop(chromium: Browser, report: EmailData) -> Iterator[Page]:
    page = _open(chromium, report, viewport=DESKTOP)
    yield page
    page.close()


def test_email_preview_screenshot_is_not_blank(desktop: Page) -> None:
    """The whole email renders as a picture with content, kept as test-output/email-preview.png."""
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    png = desktop.screenshot(path=SCREENSHOT, full_page=True)

    with Image.open(io.BytesIO(png)) as screenshot:
        grey = screenshot.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20
        assert screenshot.height > DESKTOP["height"]


def test_email_preview_shows_key_figures(desktop: Page) -> None:
    """Totals, the change, the per-day figures and the top queries are visible on the page."""
    figures = [
        "CV Analytics Weekly Report",
        "Week 2025-W47",
        "36",  # queries
        "80.6%",  # answer rate
        "\u25b2 +36 (new)",  # change in queries
        "Fri 21 Nov",
        "91.7%",  # Friday's answer rate
        "Do you know Python?",  # top query
        "What about Rust?",  # no match
        "380 ms",  # latency p50
    ]
    visible = desktop.locator("body").inner_text()

    assert [figure for figure in figures if figure not in visible] == []


def test_email_preview_chart_loads_at_its_size(desktop: Page) -> None:
    """The chart loads (the PNG decodes) and shows at its CSS width from a 2x bitmap."""
    natural, shown = desktop.evaluate(
        "(() => { const img = document.images[0];"
        " return [[img.naturalWidth, img.naturalHeight], [img.width, img.height]]; })()"
    )

    assert natural == [chart.WIDTH * chart.SCALE, chart.HEIGHT * chart.SCALE]
    assert shown == [chart.WIDTH, chart.HEIGHT]


def test_email_preview_chart_is_drawn(desktop: Page) -> None:
    """The chart as shown on screen holds the query bars' blue, not an empty box."""
    with Image.open(io.BytesIO(desktop.locator("img").screenshot())) as shot:
        colours = shot.convert("RGB").getcolors(maxcolors=1 << 16) or []

    bar_pixels = sum(count for count, (r, g, b) in colours if b > 180 and r < 60 and 80 < g < 130)
    assert bar_pixels > 1000


def test_email_preview_fits_a_phone_without_sideways_scrolling(chromium: Browser, report: EmailData) -> None:
    """On a 375 px screen the card and the chart shrink to fit: nothing scrolls sideways."""
    page = _open(chromium, report, viewport=PHONE)
    try:
        scroll_width, image_width = page.evaluate(
            "[document.documentElement.scrollWidth, document.images[0].getBoundingClientRect().width]"
        )
    finally:
        page.close()

    assert scroll_width <= PHONE["width"]
    assert 0 < image_width < chart.WIDTH
