"""Sending the report through SES, as one multipart/alternative message."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


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

    def __init__(self, *, client: Any) -> None:
        self._client = client

    def send(self, email: OutgoingEmail) -> str:
        response = self._client.send_raw_email(
            Source=email.sender,
            Destinations=[email.recipient],
            RawMessage={"Data": email.to_mime()},
        )
        return response["MessageId"]
