"""Images an HTML email shows by Content-ID, carried in the message itself.

Gmail and Outlook block or proxy images fetched from the web, and a data: URL in an email
is dropped by most clients, so the report's chart travels as a part of the message,
``<img src="cid:...">`` naming its Content-ID (RFC 2392). A browser knows no ``cid:``
URL: ``with_data_urls`` turns them into data: URLs to preview the HTML outside a mail client.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Dot-atoms on both sides of the "@", as a Message-ID: no brackets, spaces or quotes, so
# the id reads the same in the header, in the <img> tag and in a URL.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_CONTENT_ID = re.compile(f"{_ATOM}@{_ATOM}")
_SUBTYPES = ("png", "gif", "jpeg")
# Only src attributes as the template writes them: visitor text is escaped (" becomes
# &#34;), so a query that mentions "cid:" is never taken for a reference.
_REFERENCE = re.compile(r'src="cid:([^"]*)"')


@dataclass(frozen=True, slots=True)
class InlineImage:
    content_id: str
    """Without angle brackets, e.g. ``daily-2025-W47@cv-analytics``."""
    data: bytes
    filename: str
    subtype: str = "png"

    def __post_init__(self) -> None:
        if not _CONTENT_ID.fullmatch(self.content_id):
            raise ValueError(f"not a Content-ID (expected left@right, no brackets): {self.content_id!r}")
        if self.subtype not in _SUBTYPES:
            raise ValueError(f"image/{self.subtype} is not shown inline by mail clients; use {_SUBTYPES}")
        if not self.data:
            raise ValueError(f"image {self.content_id} is empty")

    @property
    def src(self) -> str:
        """What an ``<img src>`` names to show this image in the email."""
        return f"cid:{self.content_id}"

    def data_url(self) -> str:
        return f"data:image/{self.subtype};base64,{base64.b64encode(self.data).decode('ascii')}"


def referenced_content_ids(html: str) -> set[str]:
    """The Content-IDs that ``<img src="cid:...">`` tags of ``html`` name."""
    return set(_REFERENCE.findall(html))


def check_references(html: str, images: Iterable[InlineImage]) -> None:
    """Raise ValueError unless ``html`` shows every image and names no image it lacks."""
    attached = [image.content_id for image in images]
    if len(set(attached)) != len(attached):
        raise ValueError(f"two images share a Content-ID: {sorted(attached)}")
    named = referenced_content_ids(html)
    if missing := sorted(named - set(attached)):
        raise ValueError(f"the HTML shows images that are not attached: {missing}")
    if unused := sorted(set(attached) - named):
        raise ValueError(f"attached images the HTML never shows: {unused}")


def with_data_urls(html: str, images: Iterable[InlineImage]) -> str:
    """``html`` with each ``src="cid:..."`` of ``images`` replaced by the image as a data: URL."""
    urls = {image.content_id: image.data_url() for image in images}

    def replace(match: re.Match[str]) -> str:
        url = urls.get(match[1])
        return match[0] if url is None else f'src="{url}"'

    return _REFERENCE.sub(replace, html)
