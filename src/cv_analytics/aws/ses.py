"""Sending the report through SES, as one multipart/alternative message.

With inline images the HTML alternative becomes multipart/related: the HTML first, then
each image with its Content-ID, so clients show them in place and list no attachment.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from cv_analytics.inline_images import InlineImage, check_references

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

# A lost answer to SendRawEmail is not a failed send: retrying it mails the report
# again. The client that sends makes one attempt and leaves the decision to its caller.
SEND_ONCE = Config(retries={"mode": "standard", "total_max_attempts": 1})

# Failures that prove SES did not take the email: it answered with an error, or the
# request never left because no connection was made.
_DEFINITE_FAILURES = (ClientError, EndpointConnectionError, ConnectTimeoutError)


class SendOutcomeUnknown(RuntimeError):
    """The request may have reached SES, but no answer came back: the email may be sent."""


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    sender: str
    recipient: str
    subject: str
    html: str
    text: str
    images: tuple[InlineImage, ...] = ()
    """Shown by the HTML as ``<img src="cid:...">``; each must be shown, none may be missing."""

    def __post_init__(self) -> None:
        check_references(self.html, self.images)

    def to_mime(self) -> bytes:
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.sender
        message["To"] = self.recipient
        # Quoted-printable keeps the message 7-bit clean, as SES recommends; images go base64.
        message.set_content(self.text, cte="quoted-printable")
        message.add_alternative(self.html, subtype="html", cte="quoted-printable")
        if self.images:
            _, html_part = message.iter_parts()
            _attach_related(html_part, self.images)
        return message.as_bytes()


def _attach_related(html_part: MIMEPart, images: tuple[InlineImage, ...]) -> None:
    """Turn the HTML part into multipart/related holding it and ``images``."""
    for image in images:
        html_part.add_related(
            image.data,
            maintype="image",
            subtype=image.subtype,
            cid=f"<{image.content_id}>",
            disposition="inline",
            filename=image.filename,
        )
    # RFC 2387 requires the root part's type on multipart/related; Python leaves it out.
    html_part.set_param("type", "text/html")


class Mailer:
    """SES SendRawEmail keeps both bodies everywhere (SendEmail loses Text on some emulators)."""

    def __init__(self, *, client: SESClient | None = None) -> None:
        # An injected client must be built with SEND_ONCE too: botocore's retries resend.
        self._ses = client

    @property
    def _client(self) -> SESClient:
        if self._ses is None:
            from cv_analytics.aws.clients import aws_client

            self._ses = aws_client("ses", config=SEND_ONCE)
        return self._ses

    def send(self, email: OutgoingEmail) -> str:
        """The SES MessageId; raises SendOutcomeUnknown when SES may have taken it unanswered."""
        raw = email.to_mime()
        try:
            response = self._client.send_raw_email(
                Source=email.sender, Destinations=[email.recipient], RawMessage={"Data": raw}
            )
        except _DEFINITE_FAILURES:
            raise
        except Exception as exc:  # a read timeout, a dropped connection, anything unforeseen
            raise SendOutcomeUnknown(f"no answer from SES ({type(exc).__name__}: {exc})") from exc
        return response["MessageId"]
