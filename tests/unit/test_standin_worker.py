"""One question through the worker stand-in: the answer, and exactly which events it emits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cv_analytics.events import QueryEvent, ResponseEvent, parse_event
from cv_analytics.standin import OpeningHours, ProfileSource, Visitor, WorkerStandIn
from cv_analytics.standin.worker import NO_RESULTS_REPLY

PROFILE = """
[owner]
name = "Ann Example"

[[skills]]
name = "Python"
category = "Languages"
years = 5
level = "Advanced"
summary = "APIs and tooling."

[[skills]]
name = "C#"
aliases = [".NET"]

[[skills]]
name = "Team lead"
"""
SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
VISITOR = Visitor(session_id="s-1", user_agent="Mozilla/5.0", referer="https://cv.example.com/")


@pytest.fixture
def profile_path(tmp_path) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


@pytest.fixture
def emitted() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def standin(profile_path, emitted) -> WorkerStandIn:
    return WorkerStandIn(profiles=ProfileSource(profile_path), hours=OpeningHours(), emit=emitted.append)


def test_answer_match_emits_query_then_response_with_the_workers_fields(standin, emitted):
    """A full match answers 200 and emits the query and the response event, sharing a requestId."""
    answer = standin.answer("Do you have Python experience?", VISITOR)
    assert answer.status == 200
    assert answer.body["matchType"] == "full"
    assert answer.body["matchScore"] == 100
    query, response = emitted
    assert isinstance(parse_event(query), QueryEvent)
    assert isinstance(parse_event(response), ResponseEvent)
    assert response["requestId"] == query["requestId"]
    assert query["metadata"] == {"userAgent": "Mozilla/5.0", "referer": "https://cv.example.com/"}
    assert {key: response[key] for key in response if key not in ("requestId", "timestamp")} == {
        "eventType": "response",
        "matchType": "full",
        "matchScore": 100,
        "reasoning": 'Excellent match: "Python" with 1.00 similarity',
        "vectorMatches": 1,
        "sessionId": "s-1",
        "metadata": {"matchQuality": 1.0, "sourcesUsed": ["Python"]},
    }


def test_answer_keys_are_in_the_workers_order(standin, emitted):
    """The JSON reads as the worker's JSON.stringify would write it."""
    standin.answer("Do you have Python experience?", VISITOR)
    assert list(emitted[0]) == ["eventType", "requestId", "timestamp", "sessionId", "query", "metadata"]
    assert list(emitted[1]) == [
        "eventType", "requestId", "timestamp", "matchType", "matchScore", "reasoning",
        "vectorMatches", "sessionId", "metadata",
    ]  # fmt: skip


def test_answer_reply_names_the_skill_and_its_facts(standin):
    """The reply is built from the profile: owner, skill, years, level, summary."""
    reply = standin.answer("Do you have Python experience?", VISITOR).body["assistantReply"]
    assert reply == "Yes — Ann Example has Python (5 years, Advanced, Languages). APIs and tooling."


def test_answer_without_session_header_is_anonymous(standin, emitted):
    """No x-session-id: sessionId "anonymous" in both events, and no metadata headers."""
    standin.answer("Do you have Python experience?", Visitor())
    assert [event["sessionId"] for event in emitted] == ["anonymous", "anonymous"]
    assert emitted[0]["metadata"] == {}


def test_answer_refused_input_is_400_and_emits_nothing(standin, emitted):
    """A question the input check refuses sends no event at all."""
    answer = standin.answer("Python?", VISITOR)
    assert answer.status == 400
    assert emitted == []


def test_answer_refused_question_type_is_400_after_the_query_event(standin, emitted):
    """A salary question: the query event only, and the worker's error with a suggestion."""
    answer = standin.answer("What salary do you expect?", VISITOR)
    assert answer.status == 400
    assert set(answer.body) == {"error", "suggestion", "query"}
    assert [event["eventType"] for event in emitted] == ["query"]


def test_answer_outside_business_hours_is_403_after_the_query_event(profile_path, emitted):
    """Closed: 403 with the time and zone, the query event only."""
    hours = OpeningHours.parse(hours="08:00-20:00", days="mon-fri", zone="Europe/London")
    standin = WorkerStandIn(
        profiles=ProfileSource(profile_path), hours=hours, emit=emitted.append, clock=lambda: SATURDAY_NOON
    )
    answer = standin.answer("Do you have Python experience?", VISITOR)
    assert answer.status == 403
    assert answer.body["currentTime"] == "2026-12-05T12:00:00.000Z"
    assert [event["eventType"] for event in emitted] == ["query"]


def test_answer_bypass_phrase_is_answered_outside_hours(profile_path, emitted):
    """ "I am the candidate" skips the hours check, as in the worker."""
    hours = OpeningHours.parse(hours="08:00-20:00", days="mon-fri", zone="UTC")
    standin = WorkerStandIn(
        profiles=ProfileSource(profile_path), hours=hours, emit=emitted.append, clock=lambda: SATURDAY_NOON
    )
    assert standin.answer("I am the candidate: Python?", VISITOR).status == 200
    assert [event["eventType"] for event in emitted] == ["query", "response"]


def test_answer_no_match_is_200_none_without_a_response_event(standin, emitted):
    """Nothing retrieved: the "couldn't find" reply, matchType none, the query stays unanswered."""
    answer = standin.answer("Do you know Haskell?", VISITOR)
    assert answer.status == 200
    assert answer.body["assistantReply"] == NO_RESULTS_REPLY
    assert answer.body["matchType"] == "none"
    assert [event["eventType"] for event in emitted] == ["query"]


def test_answer_weak_match_emits_a_none_response(standin, emitted):
    """Retrieved at exactly 0.5 (`lead` of `team lead`): the worker sends a `Weak match` response."""
    answer = standin.answer("Have you been a lead?", VISITOR)
    assert answer.body["matchType"] == "none"
    response = emitted[1]
    assert response["matchType"] == "none"
    assert response["matchScore"] == 50
    assert response["reasoning"] == 'Weak match: "Team lead" with 0.50 similarity'


def test_answer_broken_profile_is_500_after_the_query_event(standin, profile_path, emitted):
    """The profile file became invalid: 500, the query event only."""
    profile_path.write_text("[[skills]]\nname = 3\n", encoding="utf-8")
    answer = standin.answer("Do you have Python experience?", VISITOR)
    assert answer.status == 500
    assert answer.body == {"error": "Query failed"}
    assert [event["eventType"] for event in emitted] == ["query"]


def test_answer_long_headers_are_cut_to_what_the_contract_stores(standin, emitted):
    """A user agent over 2,048 characters is cut, so the query event stays valid."""
    standin.answer("Do you have Python experience?", Visitor(user_agent="x" * 5_000))
    assert len(emitted[0]["metadata"]["userAgent"]) == 2_048
    parse_event(emitted[0])
