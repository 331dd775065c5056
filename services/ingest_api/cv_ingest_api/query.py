"""The worker stand-in over HTTP: ``POST /query`` and ``GET /query?q=``, as the production worker serves them.

Public, like the worker's endpoint: no bearer key (the chat page a visitor uses has none)
and, unlike the worker, no rate limit, since it only runs locally. Its events go into the
same outbox as ``/v1/events``, with the same MessageGroupId (the requestId) and the
worker's MessageDeduplicationId, so the pipeline sees what it would see in production.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cv_analytics.events import MAX_SESSION_ID_CHARS, parse_event
from cv_analytics.standin import ProfileSource, Visitor, WorkerStandIn
from cv_analytics.standin.matcher import MatchType
from cv_ingest_api.outbox import OutboxFull
from cv_ingest_api.routes import outgoing_message  # the same shape, group and dedup id as /v1/events
from cv_ingest_api.sender import OutboxSender
from cv_ingest_api.settings import IngestSettings

log = logging.getLogger(__name__)

query_router = APIRouter(tags=["worker stand-in"])


class QuestionIn(BaseModel):
    query: str = Field(
        description="The visitor's question (10-200 characters once cleaned).",
        examples=["Do you have Python experience?"],
    )


class WorkerAnswer(BaseModel):
    query: str
    assistantReply: str
    matchType: MatchType
    matchScore: int = Field(ge=0, le=100, description="round(similarity × 100)")


class WorkerError(BaseModel):
    error: str
    suggestion: str | None = None
    query: str | None = None
    currentTime: str | None = None
    timezone: str | None = None


class BodyProblem(BaseModel):
    detail: str


_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        # FastAPI answers {"detail": ...} itself for a body it cannot decode at all.
        "model": WorkerError | BodyProblem,
        "description": "Not a question the worker takes (see the README), or a body that is not JSON.",
    },
    403: {"model": WorkerError, "description": "Outside the configured business hours."},
    500: {"model": WorkerError, "description": "The stand-in failed, e.g. the profile file became invalid."},
}

SessionHeader = Annotated[
    str | None,
    Header(alias="x-session-id", max_length=MAX_SESSION_ID_CHARS, description="Else `anonymous`."),
]


def build_standin(settings: IngestSettings, sender: OutboxSender) -> WorkerStandIn:
    def emit(event: dict[str, Any]) -> None:
        # The stand-in's own events must keep the contract: a failure here is a bug (500).
        parsed = parse_event(event)
        try:
            sender.outbox.add([outgoing_message(parsed, event)])
        except (OutboxFull, sqlite3.Error) as exc:
            # The worker sends fire-and-forget: a lost event is logged, the visitor still answered.
            log.error("worker stand-in: %s event %s not queued: %s", parsed.eventType, parsed.requestId, exc)
            return
        sender.wake()

    return WorkerStandIn(
        profiles=ProfileSource(settings.worker_profile_path),
        hours=settings.worker_opening_hours(),
        emit=emit,
    )


def _standin(request: Request) -> WorkerStandIn:
    state = request.app.state
    if getattr(state, "standin", None) is None:
        state.standin = build_standin(state.settings, state.sender)
    standin: WorkerStandIn = state.standin
    return standin


async def _answer(request: Request, raw_query: str, session_id: str | None) -> JSONResponse:
    visitor = Visitor(
        session_id=session_id,
        user_agent=request.headers.get("user-agent"),
        referer=request.headers.get("referer"),
    )
    answer = await run_in_threadpool(_standin(request).answer, raw_query, visitor)
    body = {key: value for key, value in answer.body.items() if value is not None}
    return JSONResponse(body, status_code=answer.status)


@query_router.post("/query", response_model=WorkerAnswer, responses=_RESPONSES)
async def ask(request: Request, question: QuestionIn, x_session_id: SessionHeader = None) -> JSONResponse:
    """Ask the stand-in a question; answers and emits analytics events like the production worker."""
    return await _answer(request, question.query, x_session_id)


@query_router.get("/query", response_model=WorkerAnswer, responses=_RESPONSES)
async def ask_by_url(
    request: Request,
    q: Annotated[str, Query(description="The question.", examples=["Tell me about Kubernetes"])] = "",
    x_session_id: SessionHeader = None,
) -> JSONResponse:
    """The same as ``POST /query``, with the question in ``?q=``."""
    return await _answer(request, q, x_session_id)
