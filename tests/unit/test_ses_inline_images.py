"""The report email with its chart: multipart/related inside multipart/alternative, by Content-ID."""

from __future__ import annotations

import base64
import io
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from PIL import Image

from cv_analytics.aws.ses import OutgoingEmail
from cv_analytics.inline_images import InlineImage, with_data_urls
from cv_analytics.mailbox import _from_raw
from cv_reporter import chart
from cv_reporter.rendering import EmailData, render_weekly_report
from tests.support.report_samples import empty_summary, sample_summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY = InlineImage(content_id="tiny@cv-analytics", data=PNG_SIGNATURE + b"rest", filename="tiny.png")


def _outgoing(email: EmailData) -> OutgoingEmail:
    return OutgoingEmail(
        sender="reports@example.com",
        recipient="owner@example.com",
        subject=email.subject,
        html=email.html,
        text=email.text,
        images=email.images,
    )


def _parsed(email: EmailData) -> EmailMessage:
    message = message_from_bytes(_outgoing(email).to_mime(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _tree(part: EmailMessage) -> object:
    """The MIME structure as nested (content type, [children]) pairs."""
    if not part.is_multipart():
        return part.get_content_type()
    return (part.get_content_type(), [_tree(child) for child in part.iter_parts()])  # type: ignore[arg-type]


def _related(message: EmailMessage) -> EmailMessage:
    _, related = message.iter_parts()
    assert isinstance(related, EmailMessage)
    return related


def _image_part(message: EmailMessage) -> EmailMessage:
    _, image = _related(message).iter_parts()
    assert isinstance(image, EmailMessage)
    return image


@pytest.fixture(scope="module")
def report() -> EmailData:
    return render_weekly_report(sample_summary())


def test_to_mime_report_nests_related_html_and_chart_in_alternative(report: EmailData) -> None:
    """Text, then multipart/related holding the HTML first and the PNG chart after it."""
    assert _tree(_parsed(report)) == (
        "multipart/alternative",
        ["text/plain", ("multipart/related", ["text/html", "image/png"])],
    )


def test_to_mime_related_part_names_html_as_its_root(report: EmailData) -> None:
    """multipart/related carries type="text/html", as RFC 2387 requires."""
    assert _related(_parsed(report)).get_param("type") == "text/html"


def test_to_mime_chart_content_id_matches_img_src(report: EmailData) -> None:
    """The chart's Content-ID is exactly what the HTML's <img src="cid:..."> names."""
    message = _parsed(report)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    sources = re.findall(r'<img src="([^"]+)"', str(html.get_content()))

    assert sources == [f"cid:{_image_part(message)['Content-ID'].strip('<>')}"]


def test_to_mime_chart_is_inline_not_an_attachment(report: EmailData) -> None:
    """The chart is marked inline, with a file name, so clients show it in place."""
    image = _image_part(_parsed(report))

    assert (image.get_content_disposition(), image.get_filename()) == (
        "inline",
        "queries-per-day-2025-W47.png",
    )


def test_to_mime_chart_decodes_as_png_of_chart_size(report: EmailData) -> None:
    """The attached bytes decode as a PNG at the chart's size."""
    data = _image_part(_parsed(report)).get_content()
    assert isinstance(data, bytes)

    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("PNG", (chart.WIDTH * chart.SCALE, chart.HEIGHT * chart.SCALE))


def test_to_mime_chart_is_base64_on_the_wire(report: EmailData) -> None:
    """The PNG travels base64-encoded, so the raw message stays 7-bit as SES wants."""
    raw = _outgoing(report).to_mime()

    assert max(raw) < 0x80
    assert base64.b64encode(report.images[0].data[:48]) in raw.replace(b"\n", b"")


def test_to_mime_empty_week_has_no_related_part() -> None:
    """An empty week's email carries no chart: plain multipart/alternative."""
    assert _tree(_parsed(render_weekly_report(empty_summary()))) == (
        "multipart/alternative",
        ["text/plain", "text/html"],
    )


def test_from_raw_reads_html_inside_related(report: EmailData) -> None:
    """Reading the sent message back finds the HTML inside multipart/related."""
    captured = _from_raw("id-1", _outgoing(report).to_mime().decode("ascii"))

    assert (captured.html, captured.text) == (report.html, report.text)


def test_outgoing_email_refuses_html_showing_a_missing_image() -> None:
    """An <img src="cid:..."> without its image attached is refused before sending."""
    with pytest.raises(ValueError, match="not attached"):
        OutgoingEmail(
            sender="a@x.org", recipient="b@x.org", subject="s", text="t", html='<img src="cid:a@b">'
        )


def test_outgoing_email_refuses_image_the_html_never_shows() -> None:
    """An attached image the HTML never names is refused: recipients would see an attachment."""
    with pytest.raises(ValueError, match="never shows"):
        OutgoingEmail(
            sender="a@x.org", recipient="b@x.org", subject="s", text="t", html="<p>h</p>", images=(TINY,)
        )


def test_outgoing_email_escaped_visitor_text_is_not_an_image_reference() -> None:
    """A query quoting src="cid:..." reaches the HTML escaped and is not taken for an image."""
    html = "<td>src=&#34;cid:x@y&#34;</td>"

    email = OutgoingEmail(sender="a@x.org", recipient="b@x.org", subject="s", text="t", html=html)

    assert email.images == ()


@pytest.mark.parametrize("content_id", ["<tiny@cv-analytics>", "tiny", "ti ny@cv-analytics", "tiny@"])
def test_inline_image_malformed_content_id_refused(content_id: str) -> None:
    """A Content-ID must be left@right without brackets or spaces."""
    with pytest.raises(ValueError, match="not a Content-ID"):
        InlineImage(content_id=content_id, data=b"x", filename="x.png")


def test_inline_image_empty_data_refused() -> None:
    """An image without bytes is refused."""
    with pytest.raises(ValueError, match="empty"):
        InlineImage(content_id="a@b", data=b"", filename="x.png")


def test_with_data_urls_replaces_each_cid_source() -> None:
    """For a browser preview each src="cid:..." becomes the image as a data: URL."""
    html = f'<img src="{TINY.src}"><img src="cid:other@elsewhere">'

    previewed = with_data_urls(html, [TINY])

    encoded = base64.b64encode(TINY.data).decode()
    assert previewed == f'<img src="data:image/png;base64,{encoded}"><img src="cid:other@elsewhere">'
