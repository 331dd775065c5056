"""Reading the emails an emulator captured instead of delivering.

moto keeps them in ``/moto-api/data.json`` (under ``ses``, beside every other model it
tracks); LocalStack serves them alone at ``/_aws/ses``. Both keep our multipart message
whole. Thousands of messages make moto's document tens of megabytes, built in one piece
before its first byte: so the download streams with a read timeout that allows for
that, and a message is parsed only when someone looks at it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import Any

import httpx

# The wait for moto to build its document (seconds of CPU on a big stack), and between
# chunks after that; a body that keeps flowing is never cut off, however large.
DEFAULT_READ_TIMEOUT = 120.0
_CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class CapturedEmail:
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class CapturedMessage:
    """One message as the emulator holds it; ``parse()`` reads it into a CapturedEmail."""

    kind: str  # "raw", "localstack" or "moto-simple"
    item: dict[str, Any] = field(repr=False)

    def headline(self) -> tuple[str, tuple[str, ...]]:
        """Subject and recipients, from the headers alone (a tenth of the cost of ``parse``)."""
        if self.kind != "raw":
            email = self.parse()
            return email.subject, email.recipients
        headers = BytesHeaderParser(policy=policy.default).parsebytes(self.item["raw_data"].encode("utf-8"))
        return str(headers.get("Subject", "")), _addresses(str(headers.get("To", "")))

    def parse(self) -> CapturedEmail:
        if self.kind == "raw":
            return _from_raw(self.item["id"], self.item["raw_data"])
        if self.kind == "localstack":
            return _from_localstack(self.item)
        return _from_moto_simple(self.item)


class MailboxUnavailable(RuntimeError):
    pass


def fetch_messages(
    endpoint: str, *, client: httpx.Client | None = None, read_timeout: float = DEFAULT_READ_TIMEOUT
) -> list[CapturedMessage]:
    """Every message captured by the emulator at ``endpoint``, oldest first, unparsed."""
    timeout = httpx.Timeout(_CONNECT_TIMEOUT, read=read_timeout)
    http = client or httpx.Client(timeout=timeout)
    base = endpoint.rstrip("/")
    try:
        localstack = http.get(f"{base}/_aws/ses")
        if localstack.status_code == 200 and "messages" in (body := localstack.json()):
            return [CapturedMessage("localstack", item) for item in body["messages"]]
        ses = _moto_ses(http, f"{base}/moto-api/data.json")
    except (httpx.HTTPError, ValueError) as exc:
        raise MailboxUnavailable(f"no emulator mailbox at {endpoint}: {exc!r}") from exc
    raw = [CapturedMessage("raw", item) for item in ses.get("RawMessage", [])]
    simple = [CapturedMessage("moto-simple", item) for item in ses.get("Message", [])]
    return raw + simple


def fetch_emails(
    endpoint: str,
    *,
    recipient: str | None = None,
    client: httpx.Client | None = None,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> list[CapturedEmail]:
    """Every email captured by the emulator at ``endpoint`` (only those to ``recipient``, if
    given: the others are never parsed), oldest first."""
    messages = fetch_messages(endpoint, client=client, read_timeout=read_timeout)
    if recipient is not None:
        messages = [m for m in messages if recipient in m.headline()[1]]
    return [message.parse() for message in messages]


def _moto_ses(http: httpx.Client, url: str) -> dict[str, Any]:
    """The ``ses`` part of moto's model dump, streamed in rather than read in one call."""
    with http.stream("GET", url) as response:
        response.raise_for_status()
        body = b"".join(response.iter_bytes())
    ses: dict[str, Any] = json.loads(body).get("ses", {})
    return ses


def _from_localstack(item: dict[str, Any]) -> CapturedEmail:
    if item.get("RawData"):
        return _from_raw(item.get("Id", ""), item["RawData"])
    body = item.get("Body", {})
    return CapturedEmail(
        message_id=item.get("Id", ""),
        sender=item.get("Source", ""),
        recipients=tuple(item.get("Destination", {}).get("ToAddresses", [])),
        subject=item.get("Subject", ""),
        text=body.get("text_part") or "",
        html=body.get("html_part") or "",
    )


def _from_moto_simple(item: dict[str, Any]) -> CapturedEmail:
    return CapturedEmail(
        message_id=item.get("id", ""),
        sender=item.get("source", ""),
        recipients=tuple(item.get("destinations", {}).get("ToAddresses", [])),
        subject=item.get("subject", ""),
        text="",
        html=item.get("body", ""),
    )


def _from_raw(message_id: str, raw: str) -> CapturedEmail:
    # Parse bytes, not text: a str parse would not decode 8-bit parts correctly.
    message = message_from_bytes(raw.encode("utf-8"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return CapturedEmail(
        message_id=message_id,
        sender=str(message.get("From", "")),
        recipients=_addresses(str(message.get("To", ""))),
        subject=str(message.get("Subject", "")),
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )


def _addresses(header: str) -> tuple[str, ...]:
    return tuple(address.strip() for address in header.split(",") if address.strip())


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else ""
