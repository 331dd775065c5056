"""Sending the report through SES, as one multipart/alternative message."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

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

    def to_mime(self) -> bytes:
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.sender
        message["To"] = self.recipient
        # Quoted-printable keeps the message 7-bit clean, as SES recommends.
        message.set_content(self.text, cte="quoted-printable")
        message.add_alternative(self.html, subtype="html", cte="quoted-printable")
        return message.as_bytes()


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
