"""What `cv-analytics chat` prints for each kind of answer from /query."""

from __future__ import annotations

import httpx

from cv_analytics_cli.chat import describe, new_session_id


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("POST", "http://api/query"))


def test_describe_answer_shows_reply_match_and_score():
    """A 200 prints the reply and then its match type and score."""
    text = describe(
        _response(200, {"query": "q", "assistantReply": "Yes.", "matchType": "full", "matchScore": 91})
    )
    assert text == "bot> Yes.\n     [match full, score 91]"


def test_describe_refusal_shows_status_error_and_suggestion():
    """A 400 prints the status, the worker's error and its suggestion."""
    text = describe(_response(400, {"error": "Not technical.", "suggestion": "Ask about Python."}))
    assert text == "bot> (400) Not technical.\n     Ask about Python."


def test_describe_framework_error_shows_its_detail():
    """FastAPI's own errors carry `detail`; that is shown when there is no `error`."""
    assert describe(_response(422, {"detail": "bad body"})) == "bot> (422) bad body"


def test_describe_non_json_answer_shows_the_text():
    """A proxy's plain-text error page still says something."""
    response = httpx.Response(502, text="Bad gateway", request=httpx.Request("POST", "http://api/query"))
    assert describe(response) == "bot> (502) Bad gateway"


def test_new_session_id_is_fresh_each_time():
    """Two chats get two session ids."""
    assert new_session_id() != new_session_id()
    assert new_session_id().startswith("chat-")
