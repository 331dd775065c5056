"""One question through the worker stand-in: the production worker's steps, early returns and events.

The steps and what each sends, as the worker's query handler does them:

1. input check (``check_input``) — refused: **400**, no event;
2. **query event** (``requestId`` a new UUID, ``sessionId`` the ``x-session-id`` header or
   ``anonymous``, ``metadata.userAgent``/``referer`` from the headers);
3. question type (``check_question_type``) — refused: **400**;
4. business hours (``OpeningHours``) — closed: **403**;
5. search (``matcher.match``) — nothing retrieved: **200** with the worker's "couldn't find"
   reply (``matchType`` ``none``), no response event: the query stays unanswered;
6. **response event** (``matchType``, ``matchScore``, ``reasoning``, ``vectorMatches``,
   ``sessionId``, ``metadata.matchQuality``/``sourcesUsed``) and the **200** answer.

Anything that fails after step 1 (e.g. the profile file became invalid) answers **500** and
sends nothing more. Sending is the caller's ``emit``; like the worker's fire-and-forget
logger, a failure to send must not change the answer, so ``emit`` handles its own errors.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cv_analytics.events import MAX_HEADER_CHARS
from cv_analytics.standin import matcher
from cv_analytics.standin.profile import ProfileSource, SkillProfile
from cv_analytics.standin.questions import (
    OpeningHours,
    Refusal,
    bypasses_hours,
    check_input,
    check_question_type,
)

log = logging.getLogger(__name__)

NO_RESULTS_REPLY = (
    "I couldn't find any relevant skills for that query. Could you try rephrasing your question?"
)
ANONYMOUS = "anonymous"

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Visitor:
    session_id: str | None = None
    user_agent: str | None = None
    referer: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class WorkerStandIn:
    profiles: ProfileSource
    hours: OpeningHours
    emit: Emit
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def answer(self, raw_query: str, visitor: Visitor) -> Answer:
        checked = check_input(raw_query)
        if isinstance(checked, Refusal):
            return Answer(400, {"error": checked.error})
        request_id, session_id = str(uuid.uuid4()), visitor.session_id or ANONYMOUS
        self.emit(query_event(request_id, session_id, checked, visitor))
        try:
            return self._after_query_event(raw_query, checked, request_id, session_id)
        except Exception:
            log.exception("worker stand-in failed on request %s", request_id)
            return Answer(500, {"error": "Query failed"})

    def _after_query_event(self, raw_query: str, query: str, request_id: str, session_id: str) -> Answer:
        if refusal := check_question_type(query):
            body = {"error": refusal.error, "suggestion": refusal.suggestion, "query": query}
            return Answer(400, body)
        now = self.clock()
        if not (bypasses_hours(raw_query) or self.hours.is_open(now)):
            body = {
                "error": self.hours.closed_message(),
                "currentTime": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "timezone": self.hours.description,
            }
            return Answer(403, body)
        profile = self.profiles.current()
        result = matcher.match(profile, query)
        if result.top is None:
            unanswered: dict[str, Any] = {
                "query": query,
                "assistantReply": NO_RESULTS_REPLY,
                "matchType": "none",
                "matchScore": matcher.match_score(result.best_similarity),
            }
            return Answer(200, unanswered)
        self.emit(response_event(request_id, session_id, result))
        return Answer(200, _reply(query, profile, result))


def query_event(request_id: str, session_id: str, query: str, visitor: Visitor) -> dict[str, Any]:
    """The worker's createQueryEvent, keys in its order; absent headers are left out, as
    JSON.stringify leaves out undefined. Headers are cut to what the event contract stores."""
    metadata = {
        name: value[:MAX_HEADER_CHARS]
        for name, value in (("userAgent", visitor.user_agent), ("referer", visitor.referer))
        if value
    }
    return {
        "eventType": "query",
        "requestId": request_id,
        "timestamp": now_ms(),
        "sessionId": session_id,
        "query": query,
        "metadata": metadata,
    }


def response_event(request_id: str, session_id: str, result: matcher.MatchResult) -> dict[str, Any]:
    """The worker's logResponseEvent: labelled from the top result; performance is not sent."""
    top = result.top
    similarity = top.similarity if top else 0.0
    return {
        "eventType": "response",
        "requestId": request_id,
        "timestamp": now_ms(),
        "matchType": matcher.match_type(similarity) if top else "none",
        "matchScore": matcher.match_score(similarity),
        "reasoning": matcher.reasoning(top),
        "vectorMatches": len(result.retrieved),
        "sessionId": session_id,
        "metadata": {
            "matchQuality": similarity,
            "sourcesUsed": [m.skill.name for m in result.retrieved],
        },
    }


def _reply(query: str, profile: SkillProfile, result: matcher.MatchResult) -> dict[str, Any]:
    top = result.top
    assert top is not None
    kind = matcher.match_type(top.similarity)
    return {
        "query": query,
        "assistantReply": assistant_reply(profile, result),
        "matchType": kind,
        "matchScore": matcher.match_score(top.similarity),
    }


def assistant_reply(profile: SkillProfile, result: matcher.MatchResult) -> str:
    """A short, templated answer from the retrieved skills (the worker asks an LLM instead)."""
    top = result.top
    if top is None:
        return NO_RESULTS_REPLY
    skill, kind = top.skill, matcher.match_type(top.similarity)
    facts = ", ".join(
        part
        for part in (f"{skill.years} years" if skill.years is not None else None, skill.level, skill.category)
        if part
    )
    about = f"{skill.name}" + (f" ({facts})" if facts else "")
    summary = f" {skill.summary.strip()}" if skill.summary.strip() else ""
    others = [m.skill.name for m in result.retrieved[1:]]
    related = f" Related: {', '.join(others)}." if others else ""
    if kind == "full":
        return f"Yes — {profile.owner.name} has {about}.{summary}{related}"
    if kind == "partial":
        return f"Not exactly, but the closest is {about}.{summary}{related}"
    return f"Nothing close in {profile.owner.name}'s skills; the nearest is {skill.name}."
