"""The request body of ``POST /v1/events``: read within its size limit, decoded as strict
JSON, checked against the event contract. FastAPI carries every refusal (HTTPException
for 413 and 415, RequestValidationError for 422), declared once as dependencies.

The body is read here rather than by FastAPI's own body parsing because it is forwarded
as the caller sent it, and because ``json.loads`` lets through what the pipeline cannot
carry. Each such problem becomes a pydantic-style error (``loc``/``msg``/``type``) naming
where it is, so the API answers 422 instead of failing later: text that is not UTF-8, NaN
and Infinity, numbers too large to store, nesting deeper than any real event, and strings
SQS or DynamoDB refuse (lone surrogates, the non-characters U+FFFE and U+FFFF).
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from cv_analytics.events import InvalidEvent, QueryEvent, ResponseEvent, parse_events
from cv_ingest_api.settings import MAX_BODY_BYTES

# A DynamoDB number has at most 38 significant digits; an epoch-ms timestamp has 13.
MAX_INTEGER_DIGITS = 38
# A list of events, an event, metadata, a value inside it: 4. Leave room for extra fields.
MAX_DEPTH = 16
# Characters the forwarded body would carry raw and SQS refuses (json.dumps escapes control
# characters, not these); lone surrogates cannot even be encoded as UTF-8.
_FORBIDDEN_CHARACTERS = re.compile("[\ud800-\udfff\ufffe\uffff]")


class InvalidBody(ValueError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(error["msg"] for error in errors))
        self.errors = errors


def _error(loc: list[str | int], msg: str, kind: str) -> InvalidBody:
    return InvalidBody([{"loc": ["body", *loc], "msg": msg, "type": kind}])


def _constant(name: str) -> Any:
    raise _error([], f"{name} is not a JSON number", "json_invalid")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _error([], f"integer has more than {MAX_INTEGER_DIGITS} digits", "int_too_large")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _error([], f"number {text[:40]} is out of range", "float_too_large")
    return value


def parse_json(body: bytes) -> Any:
    """Decode ``body`` as strict UTF-8 JSON; raises InvalidBody with the offending location."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error([], f"body is not UTF-8: {exc.reason} at byte {exc.start}", "unicode_decode") from exc
    try:
        payload = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise _error([], f"body is not JSON: {exc}", "json_invalid") from exc
    except RecursionError as exc:
        raise _error([], f"JSON nested deeper than {MAX_DEPTH} levels", "json_too_deep") from exc
    _check_tree(payload)
    return payload


def _check_tree(payload: Any) -> None:
    """Walk the decoded value (iteratively: depth is what is being checked)."""
    stack: list[tuple[Any, list[str | int]]] = [(payload, [])]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            raise _error(loc[:MAX_DEPTH], f"JSON nested deeper than {MAX_DEPTH} levels", "json_too_deep")
        if isinstance(value, str):
            _check_string(value, loc)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, [*loc, key])
                stack.append((item, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((item, [*loc, index]) for index, item in enumerate(value))


def _check_string(value: str, loc: list[str | int]) -> None:
    if match := _FORBIDDEN_CHARACTERS.search(value):
        character = f"U+{ord(match.group()):04X}"
        raise _error(_printable(loc), f"character {character} cannot be stored or queued", "string_character")


def _printable(loc: list[str | int]) -> list[str | int]:
    """A key holding a lone surrogate cannot go into a JSON answer either."""
    return [
        part.encode("utf-8", "backslashreplace").decode() if isinstance(part, str) else part for part in loc
    ]


async def strict_json(request: Request) -> Any:
    """The request body, read within the size limit and decoded as strict JSON.

    FastAPI carries each refusal: 415 and 413 as HTTPException, undecodable text as
    RequestValidationError (422, ``loc`` naming the spot)."""
    _require_identity_encoding(request)
    body = await _read_limited(request)
    try:
        return parse_json(body)
    except InvalidBody as exc:
        raise RequestValidationError(exc.errors) from exc


JsonBody = Annotated[Any, Depends(strict_json)]


async def valid_events(payload: JsonBody) -> list[QueryEvent | ResponseEvent]:
    """The body's events, each checked against the event contract (422 naming the field)."""
    try:
        return parse_events(payload)
    except InvalidEvent as exc:
        raise RequestValidationError(_event_errors(exc)) from exc


EventsBody = Annotated[list[QueryEvent | ResponseEvent], Depends(valid_events)]


def _require_identity_encoding(request: Request) -> None:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Encoding {encoding!r} is not supported; send identity",
        )


async def _read_limited(request: Request) -> bytes:
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"request body exceeds {MAX_BODY_BYTES} bytes"
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _event_errors(exc: InvalidEvent) -> list[dict[str, Any]]:
    """The contract's errors in FastAPI's shape (under ``body``), without echoing the input."""
    if not exc.errors:
        return [{"loc": ["body"], "msg": exc.reason, "type": "value_error"}]
    return [
        {"loc": ["body", *error["loc"]], "msg": str(error["msg"]), "type": str(error["type"])}
        for error in exc.errors
    ]
