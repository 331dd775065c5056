"""HTTP routes: event intake and health probes."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cv_analytics.aws.sqs import OutgoingMessage
from cv_analytics.events import InvalidEvent, parse_events
from cv_ingest_api.deps import PublisherDep
from cv_ingest_api.settings import MAX_BODY_BYTES

events_router = APIRouter(prefix="/v1", tags=["events"])
health_router = APIRouter(tags=["health"])


@events_router.post("/events", status_code=status.HTTP_202_ACCEPTED)
async def ingest_events(request: Request, publisher: PublisherDep) -> JSONResponse:
    """Accept one worker event or a list of up to 100; they reach SQS in the background."""
    body = await _read_limited(request)
    if isinstance(body, JSONResponse):
        return body
    try:
        payload = json.loads(body)
        events = parse_events(payload)
    except json.JSONDecodeError as exc:
        return _unprocessable([{"loc": ["body"], "msg": f"body is not JSON: {exc}", "type": "json_invalid"}])
    except InvalidEvent as exc:
        return _unprocessable([_error_detail(error) for error in exc.errors])
    originals = payload if isinstance(payload, list) else [payload]
    messages = [_message(event, original) for event, original in zip(events, originals, strict=True)]
    if not publisher.submit(messages):
        return JSONResponse(
            {"detail": "event buffer is full; retry later"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"accepted": len(messages)}, status_code=status.HTTP_202_ACCEPTED)


async def _read_limited(request: Request) -> bytes | JSONResponse:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return _too_large()
    return bytes(body)


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"detail": f"request body exceeds {MAX_BODY_BYTES} bytes"},
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
    )


def _unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _error_detail(error: dict[str, Any]) -> dict[str, Any]:
    return {"loc": ["body", *error["loc"]], "msg": error["msg"], "type": error["type"]}


def _message(event: Any, original: dict[str, Any]) -> OutgoingMessage:
    # The event is forwarded exactly as the caller sent it; validation only vouches for it.
    # One group per requestId: a query and its response stay in order, different
    # requests are processed in parallel, and a stuck message holds up only its own request.
    return OutgoingMessage(
        body=json.dumps(original, ensure_ascii=False, separators=(",", ":")),
        group_id=event.requestId,
        deduplication_id=event.deduplication_id,
    )


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@health_router.get("/readyz")
async def readyz(publisher: PublisherDep) -> JSONResponse:
    """Ready: the queue answers, so accepted events can leave the buffer."""
    try:
        await run_in_threadpool(lambda: publisher.sender().is_reachable())
    except (BotoCoreError, ClientError) as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": str(exc), "pending": publisher.pending},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONResponse({"status": "ready", "pending": publisher.pending})
