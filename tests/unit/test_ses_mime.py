"""The report email as one multipart/alternative MIME message, and reading it back."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage

import httpx
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from cv_analytics.aws.ses import Mailer, OutgoingEmail, SendOutcomeUnknown
from cv_analytics.mailbox import CapturedEmail, MailboxUnavailable, _from_raw, fetch_emails, fetch_messages

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


# --- fetch_messages: the two emulators' mailboxes ------------------------------------------

ENDPOINT = "http://emulator.test:4566"


def _emulator(routes: dict[str, tuple[int, object]]) -> httpx.Client:
    """An httpx client whose transport answers ``routes`` (path -> status, JSON) and 404 otherwise."""

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = routes.get(request.url.path, (404, {"error": "not found"}))
        return httpx.Response(status, content=json.dumps(body).encode())

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_fetch_messages_reads_localstack_raw_messages_without_moto():
    """On LocalStack the SES endpoint alone is read, and a raw message parses to both bodies."""
    raw = _email().to_mime().decode()
    client = _emulator({"/_aws/ses": (200, {"messages": [{"Id": "ls-1", "RawData": raw}]})})
    [message] = fetch_messages(ENDPOINT, client=client)
    assert message.headline() == (SUBJECT, ("owner@example.com",))
    assert message.parse().text == TEXT and message.parse().message_id == "ls-1"


def test_fetch_messages_reads_moto_ses_part_in_order():
    """On moto only the ``ses`` part of data.json is used, raw messages in capture order."""
    raws = [{"id": f"m-{n}", "raw_data": _email(subject=f"s{n}").to_mime().decode()} for n in range(3)]
    data = {"sqs": {"Message": [{"body": "x" * 1000}]}, "ses": {"RawMessage": raws}}
    client = _emulator({"/_aws/ses": (404, {}), "/moto-api/data.json": (200, data)})
    messages = fetch_messages(ENDPOINT, client=client)
    assert [m.headline()[0] for m in messages] == ["s0", "s1", "s2"]


def test_fetch_messages_without_mailbox_is_unavailable():
    """An endpoint with neither mailbox raises MailboxUnavailable naming the endpoint."""
    with pytest.raises(MailboxUnavailable, match=r"emulator\.test"):
        fetch_messages(ENDPOINT, client=_emulator({}))


# --- Mailer: which failures prove nothing was sent ------------------------------------------


class _FailingSes:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_raw_email(self, **_: object) -> dict[str, str]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "MessageRejected", "Message": "no"}}, "SendRawEmail"),
        ConnectTimeoutError(endpoint_url="https://email.example"),
    ],
    ids=["ses-error-answer", "never-connected"],
)
def test_mailer_definite_failure_is_raised_as_is(error):
    """An SES error answer or a failed connect proves nothing was sent: raised unchanged."""
    with pytest.raises(type(error)):
        Mailer(client=_FailingSes(error)).send(_email())


def test_mailer_lost_answer_is_outcome_unknown():
    """A read timeout after the request went out may hide a sent email: SendOutcomeUnknown."""
    with pytest.raises(SendOutcomeUnknown, match="ReadTimeoutError"):
        Mailer(client=_FailingSes(ReadTimeoutError(endpoint_url="https://email.example"))).send(_email())


def test_send_once_client_makes_one_attempt_and_keeps_timeouts(monkeypatch):
    """The reporter's SES client config disables retries but keeps the kit's timeouts."""
    from cv_analytics.aws.clients import aws_client
    from cv_analytics.aws.ses import SEND_ONCE

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = aws_client("ses", config=SEND_ONCE).meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (5, 30)


def test_fetch_emails_for_recipient_keeps_only_their_emails():
    """``recipient=`` returns just the emails addressed to it, fully parsed."""
    raws = [
        {"id": "m-1", "raw_data": _email(recipient="a@example.com").to_mime().decode()},
        {"id": "m-2", "raw_data": _email(recipient="b@example.com").to_mime().decode()},
    ]
    client = _emulator({"/moto-api/data.json": (200, {"ses": {"RawMessage": raws}})})
    [email] = fetch_emails(ENDPOINT, recipient="b@example.com", client=client)
    assert (email.message_id, email.text) == ("m-2", TEXT)
