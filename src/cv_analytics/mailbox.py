"""Reading the emails an emulator captured instead of delivering.

moto keeps them in ``/moto-api/data.json`` (under ``ses``); LocalStack serves them at
``/_aws/ses``. Both keep our multipart message whole, which is parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx


@dataclass(frozen=True)
class CapturedEmail:
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str


class MailboxUnavailable(RuntimeError):
    pass


def fetch_emails(endpoint: str, *, client: httpx.Client | None = None) -> list[CapturedEmail]:
    """Every email captured by the emulator at ``endpoint``, oldest first."""
    http = client or httpx.Client(timeout=10)
    base = endpoint.rstrip("/")
    try:
        localstack = http.get(f"{base}/_aws/ses")
        if localstack.status_code == 200 and "messages" in localstack.json():
            return [_from_localstack(item) for item in localstack.json()["messages"]]
        moto = http.get(f"{base}/moto-api/data.json")
        moto.raise_for_status()
    except (httpx.HTTPError, ValueError) as exc:
        raise MailboxUnavailable(f"no emulator mailbox at {endpoint}: {exc}") from exc
    ses = moto.json().get("ses", {})
    raw = [_from_raw(item["id"], item["raw_data"]) for item in ses.get("RawMessage", [])]
    simple = [_from_moto_simple(item) for item in ses.get("Message", [])]
    return raw + simple


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
        recipients=tuple(a.strip() for a in str(message.get("To", "")).split(",") if a.strip()),
        subject=str(message.get("Subject", "")),
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else ""
