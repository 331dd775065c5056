"""The report's HTML as mail clients need it: inline styles only, the chart by Content-ID."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from cv_reporter import chart
from cv_reporter.rendering import EmailData, render_weekly_report
from tests.support.report_samples import empty_summary, sample_summary

# Rows and line breaks take no styles that matter: Outlook ignores them on <tr>.
UNSTYLED = {"html", "head", "meta", "title", "tr", "br"}
# Where Outlook falls back to Times New Roman unless the element names its own font.
TEXT_ELEMENTS = {"td", "th", "p", "h1", "h2"}


@dataclass
class _Element:
    tag: str
    attributes: dict[str, str | None]


@dataclass
class _Elements(HTMLParser):
    """Every start tag of a document, with its attributes, and the text of each <td>."""

    elements: list[_Element] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    _in_cell: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(_Element(tag, dict(attrs)))
        if tag == "td":
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1] += data


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


BUSY = render_weekly_report(sample_summary())
EMPTY = render_weekly_report(empty_summary())
WEEKS = pytest.mark.parametrize("email", [BUSY, EMPTY], ids=["busy-week", "empty-week"])


@WEEKS
def test_render_weekly_report_html_has_no_style_block_or_class(email: EmailData) -> None:
    """No <style>, no stylesheet link, no class: nothing a client may strip carries a style."""
    parsed = _elements(email.html)

    assert {"style", "link", "script"} & {element.tag for element in parsed.elements} == set()
    assert [element.tag for element in parsed.elements if "class" in element.attributes] == []


@WEEKS
def test_render_weekly_report_every_styled_element_carries_style(email: EmailData) -> None:
    """Every element that shows something has its own non-empty style attribute."""
    parsed = _elements(email.html)

    unstyled = [
        element.tag
        for element in parsed.elements
        if element.tag not in UNSTYLED and not element.attributes.get("style")
    ]
    assert unstyled == []


@WEEKS
def test_render_weekly_report_every_text_element_names_its_font(email: EmailData) -> None:
    """Cells, paragraphs and headings each name the font (Outlook does not inherit it)."""
    parsed = _elements(email.html)

    fontless = [
        element.tag
        for element in parsed.elements
        if element.tag in TEXT_ELEMENTS and "font-family:" not in (element.attributes.get("style") or "")
    ]
    assert fontless == []


def test_render_weekly_report_img_shows_attached_chart_at_its_size() -> None:
    """The one <img> names the attached chart by cid: with the chart's width and height."""
    [image] = [element for element in _elements(BUSY.html).elements if element.tag == "img"]
    [attached] = BUSY.images

    assert image.attributes["src"] == f"cid:{attached.content_id}"
    assert (image.attributes["width"], image.attributes["height"]) == (str(chart.WIDTH), str(chart.HEIGHT))
    assert image.attributes["alt"]


def test_render_weekly_report_loads_nothing_from_the_web() -> None:
    """No src or href points outside the message."""
    external = [
        value
        for element in _elements(BUSY.html).elements
        for name, value in element.attributes.items()
        if name in {"src", "href", "background"} and value and not value.startswith("cid:")
    ]
    assert external == []


def test_render_weekly_report_empty_week_has_no_chart() -> None:
    """An empty week attaches no image and shows no <img>."""
    assert EMPTY.images == ()
    assert "img" not in {element.tag for element in _elements(EMPTY.html).elements}


def test_render_weekly_report_html_lists_each_day() -> None:
    """The per-day table gives each day's queries, answers and answer rate (Friday: 12, 11, 91.7%)."""
    cells = _elements(BUSY.html).cells
    friday = cells.index("Fri 21 Nov")

    assert cells[friday : friday + 4] == ["Fri 21 Nov", "12", "11", "91.7%"]
    assert cells[cells.index("Wed 19 Nov") : cells.index("Wed 19 Nov") + 4] == ["Wed 19 Nov", "0", "0", "n/a"]


def test_render_weekly_report_text_lists_each_day() -> None:
    """The text body gives the same per-day figures, one line per day."""
    assert "  Fri 21 Nov:  12 / 11 / 91.7%\n" in BUSY.text
    assert "  Wed 19 Nov:  0 / 0 / n/a\n" in BUSY.text
