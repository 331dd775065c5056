"""HTTP routes: event intake and health probes."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter

from cv_analytics.aws.sqs import OutgoingMessage
from cv_analytics.events import MAX_EVENTS_PER_REQUEST, AnalyticsEvent, QueryEvent, ResponseEvent
from cv_ingest_api.body import EventsBody, JsonBody
from cv_ingest_api.deps import ApiKeyDep, SenderDep
from cv_ingest_api.outbox import OutboxFull
from cv_ingest_api.settings import MAX_BODY_BYTES

events_router = APIRouter(prefix="/v1", tags=["events"])
health_router = APIRouter(tags=["health"])

# The body is parsed here, not by FastAPI (the caller's JSON is forwarded byte-for-byte in
# meaning), so its schema is declared by hand from the same models parse_events uses.
_REQUEST_BODY = TypeAdapter(
    AnalyticsEvent | Annotated[list[AnalyticsEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]
).json_schema(ref_template="#/components/schemas/{model}")
EVENT_SCHEMAS: dict[str, Any] = _REQUEST_BODY.pop("$defs", {})


class Accepted(BaseModel):
    accepted: int


class Problem(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    detail: list[FieldError]


def _answer(
    description: str, model: type[BaseModel] = Problem, *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"model": model, "description": description}
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return answer


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _answer("No or unknown bearer key.", headers={"WWW-Authenticate": "Bearer"}),
    413: _answer(f"Body over {MAX_BODY_BYTES} bytes."),
    415: _answer("Content-Encoding other than identity."),
    422: _answer("Not UTF-8 JSON, or an event is invalid; `loc` names the field.", ValidationProblem),
    503: _answer("The outbox is full; nothing was taken.", headers={"Retry-After": "Seconds to wait."}),
}


@events_router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[ApiKeyDep],
    responses=_RESPONSES,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_BODY}}}
    },
)
async def ingest_events(payload: JsonBody, events: EventsBody, sender: SenderDep) -> Accepted:
    """Accept one worker event or a list of up to 100. They are on disk before the 202,
    and reach SQS in the background."""
    originals = payload if isinstance(payload, list) else [payload]
    messages = [outgoing_message(event, original) for event, original in zip(events, originals, strict=True)]
    try:
        await run_in_threadpool(sender.outbox.add, messages)
    except OutboxFull as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"{exc}; retry later", headers={"Retry-After": "1"}
        ) from exc
    sender.wake()
    return Accepted(accepted=len(messages))


def outgoing_message(event: QueryEvent | ResponseEvent, original: dict[str, Any]) -> OutgoingMessage:
    # The event is forwarded exactly as the caller sent it; validation only vouches for it.
    return OutgoingMessage(
        body=json.dumps(original, ensure_ascii=False, separators=(",", ":")),
        group_id=event.message_group_id,
        deduplication_id=event.deduplication_id,
    )


@health_router.get("/healthz", responses={503: {"description": "The outbox sender is not running."}})
async def healthz(sender: SenderDep) -> JSONResponse:
    """Alive: the process answers and its outbox sender runs."""
    if not sender.running:
        return JSONResponse({"status": "sender stopped"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ok"})


@health_router.get("/readyz", responses={503: {"description": "Not ready; the body says why."}})
async def readyz(sender: SenderDep) -> JSONResponse:
    """Ready: the sender runs, the outbox has room and the last SQS call succeeded.

    Answered from what the sender keeps in memory; it never waits on SQS."""
    report = sender.status()
    ready = (
        report["sender"] == "running"
        and report["last_send_ok"] is not False
        and report["pending"] < sender.outbox.capacity
    )
    code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse({"status": "ready" if ready else "unavailable", **report}, status_code=code)
