"""A realistic week of chatbot traffic, for trying the pipeline out.

Generated events follow the worker's format exactly. The mix includes what real
traffic has: repeated questions in different spellings, queries that never get a
response (the worker returns early), weak and failed matches, and responses that
arrive before their query.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from cv_analytics.events import MAX_EVENTS_PER_REQUEST
from cv_analytics.weeks import IsoWeek

# (question, skill it matches or None, how well the CV covers it: 0..1)
_QUESTIONS: tuple[tuple[str, str | None, float], ...] = (
    ("Do you have Python experience?", "Python", 0.93),
    ("  do you have PYTHON   experience? ", "Python", 0.92),
    ("What AWS services have you used?", "AWS", 0.88),
    ("Have you worked with C#?", "C#", 0.91),
    ("Tell me about your Terraform work", "Terraform", 0.84),
    ("Do you know React?", "React", 0.71),
    ("Any experience with Kubernetes?", "Kubernetes", 0.62),
    ("Have you used DynamoDB in production?", "DynamoDB", 0.86),
    ("What is your experience with TypeScript?", "TypeScript", 0.79),
    ("Can you lead a team?", "Leadership", 0.66),
    ("Do you know Rust?", None, 0.31),
    ("Have you built mobile apps with Flutter?", None, 0.22),
    ("What's your experience with SAP ABAP?", None, 0.12),
    ("Are you available for relocation?", None, 0.40),
)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Safari/17.6",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
)
_UNANSWERED_SHARE = 0.12
_RESPONSE_FIRST_SHARE = 0.1


@dataclass(frozen=True)
class DemoTraffic:
    events: list[dict[str, Any]]
    queries: int
    responses: int


def generate_week(*, week: IsoWeek, queries: int, seed: int = 7) -> DemoTraffic:
    """``queries`` query events spread over ``week``, with their responses, in send order."""
    rng = random.Random(seed)
    sessions = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(max(1, queries // 3))]
    events: list[dict[str, Any]] = []
    responses = 0
    for _ in range(queries):
        pair = _exchange(rng, week=week, session=rng.choice(sessions))
        responses += len(pair) - 1
        events.extend(pair)
    return DemoTraffic(events=events, queries=queries, responses=responses)


def _exchange(rng: random.Random, *, week: IsoWeek, session: str) -> list[dict[str, Any]]:
    question, skill, similarity = rng.choice(_QUESTIONS)
    request_id = str(uuid.UUID(int=rng.getrandbits(128)))
    offset = timedelta(seconds=rng.uniform(0, 7 * 24 * 3600 - 60))
    asked_at = int((week.start + offset).timestamp() * 1000)
    query = {
        "eventType": "query",
        "requestId": request_id,
        "timestamp": asked_at,
        "query": question,
        "sessionId": session,
        "metadata": {"userAgent": rng.choice(_USER_AGENTS), "referer": "https://cv.example.com/"},
    }
    if rng.random() < _UNANSWERED_SHARE:
        return [query]
    response = _response(
        rng, request_id=request_id, session=session, asked_at=asked_at, skill=skill, similarity=similarity
    )
    return [response, query] if rng.random() < _RESPONSE_FIRST_SHARE else [query, response]


def _response(
    rng: random.Random, *, request_id: str, session: str, asked_at: int, skill: str | None, similarity: float
) -> dict[str, Any]:
    similarity = min(1.0, max(0.0, similarity + rng.uniform(-0.05, 0.05)))
    match_type = "full" if similarity > 0.8 else "partial" if similarity > 0.5 else "none"
    sources = [skill] if skill and match_type != "none" else []
    return {
        "eventType": "response",
        "requestId": request_id,
        "timestamp": asked_at + rng.randint(400, 4000),
        "matchType": match_type,
        "matchScore": round(similarity * 100),
        "reasoning": f'Match: "{skill or "nothing relevant"}" with {similarity:.2f} similarity',
        "vectorMatches": len(sources) * rng.randint(1, 5),
        "sessionId": session,
        "metadata": {"matchQuality": round(similarity, 2), "sourcesUsed": sources},
    }


def chunks(
    events: list[dict[str, Any]], size: int = MAX_EVENTS_PER_REQUEST
) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def api_key_from_environment() -> str | None:
    """The key a local client uses: INGEST_API_KEY, else the first of the server's INGEST_API_KEYS."""
    if key := os.environ.get("INGEST_API_KEY"):
        return key
    keys = [key.strip() for key in os.environ.get("INGEST_API_KEYS", "").split(",") if key.strip()]
    return keys[0] if keys else None


def send(
    events: list[dict[str, Any]],
    *,
    api_url: str,
    api_key: str | None = None,
    chunk_size: int = 25,
    progress: Callable[[int], None] = lambda n: None,
    client: httpx.Client | None = None,
) -> int:
    """POST ``events`` to the ingest API in chunks; returns how many were accepted."""
    http = client or httpx.Client(timeout=30)
    key = api_key or api_key_from_environment()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    accepted = 0
    for chunk in chunks(events, chunk_size):
        response = http.post(f"{api_url.rstrip('/')}/v1/events", json=chunk, headers=headers)
        response.raise_for_status()
        accepted += response.json()["accepted"]
        progress(len(chunk))
    return accepted
