"""The report email as one multipart/alternative MIME message, and reading it back."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from cv_analytics.aws.ses import OutgoingEmail
from cv_analytics.mailbox import CapturedEmail, _from_raw

SUBJECT = "CV Analytics Weekly Report - Week 2025-W47"
TEXT = "CV Analytics - Week 2025-W47\n\nTotal queries: 12\nPython: 5 (+2)\n"
HTML = "<html><body><h1>Week 2025-W47</h1><p>Total queries: 12</p></body></html>\n"


def _email(**changes: str) -> OutgoingEmail:
    fields = {
        "sender": "CV Analytics <reports@example.com>",
        "recipient": "owner@example.com",
        "subject": SUBJECT,
        "html": HTML,
        "text": TEXT,
    }
    return OutgoingEmail(**{**fields, **changes})


def _parsed(email: OutgoingEmail) -> EmailMessage:
    message = message_from_bytes(email.to_mime(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _captured(email: OutgoingEmail) -> CapturedEmail:
    # moto keeps the raw message as the UTF-8 text of what was sent.
    return _from_raw("0100019a-example", email.to_mime().decode("utf-8"))


# --- to_mime ----------------------------------------------------------------------------------


def test_to_mime_is_multipart_alternative():
    """The message is multipart/alternative with a text part then an HTML part."""
    message = _parsed(_email())

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]


def test_to_mime_parts_carry_both_bodies():
    """The text and HTML parts hold the rendered bodies unchanged."""
    message = _parsed(_email())

    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert (text_part.get_content(), html_part.get_content()) == (TEXT, HTML)


def test_to_mime_headers():
    """Subject, From and To are set from the email."""
    message = _parsed(_email())

    assert (message["Subject"], message["From"], message["To"]) == (
        SUBJECT,
        "CV Analytics <reports@example.com>",
        "owner@example.com",
    )


def test_to_mime_non_ascii_subject_encoded():
    """A non-ASCII subject is RFC 2047-encoded on the wire and decodes back unchanged."""
    email = _email(subject="Python ▲ 2 this week")

    assert b"\xe2\x96\xb2" not in email.to_mime().split(b"\n\n", 1)[0]
    assert _parsed(email)["Subject"] == "Python ▲ 2 this week"


def test_to_mime_non_ascii_body_declared_utf8():
    """Both parts declare UTF-8, so a '▲' in the bodies is not guessed at by the reader."""
    message = _parsed(_email(text="Python ▲ 2\n", html="<p>Python ▲ 2</p>\n"))

    assert [part.get_content_charset() for part in message.iter_parts()] == ["utf-8", "utf-8"]


def test_to_mime_non_ascii_bodies_intact_as_bytes():
    """Read as bytes, as a mail server reads it, the sent message keeps '▲' in both bodies."""
    message = _parsed(_email(text="Python ▲ 2\n", html="<p>Python ▲ 2</p>\n"))

    contents = [part.get_content() for part in message.iter_parts()]

    assert contents == ["Python ▲ 2\n", "<p>Python ▲ 2</p>\n"]


# --- _from_raw: reading back what the emulator captured --------------------------------------


def test_from_raw_reads_back_every_field():
    """Parsing the sent MIME gives back id, subject, sender, recipients and both bodies."""
    assert _captured(_email()) == CapturedEmail(
        message_id="0100019a-example",
        sender="CV Analytics <reports@example.com>",
        recipients=("owner@example.com",),
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
    )


def test_from_raw_non_ascii_subject_survives():
    """A '▲' in the subject reads back as '▲'."""
    assert _captured(_email(subject="Python ▲ 2 this week")).subject == "Python ▲ 2 this week"


def test_from_raw_splits_recipients():
    """A To header with several addresses gives one recipient each."""
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = "reports@example.com"
    message["To"] = "owner@example.com, Second Reader <second@example.com>"
    message.set_content(TEXT)

    captured = _from_raw("id-1", message.as_string())

    assert captured.recipients == ("owner@example.com", "Second Reader <second@example.com>")
    assert captured.html == ""


def test_from_raw_non_ascii_bodies_survive():
    """A '▲' in the text and HTML bodies reads back as '▲'."""
    captured = _captured(_email(text="Python ▲ 2\n", html="<p>Python ▲ 2</p>\n"))

    assert (captured.text, captured.html) == ("Python ▲ 2\n", "<p>Python ▲ 2</p>\n")
