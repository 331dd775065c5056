"""The worker's analytics events: what is accepted unchanged and what is rejected, and why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cv_analytics.events import (
    MAX_EVENTS_PER_REQUEST,
    InvalidEvent,
    QueryEvent,
    ResponseEvent,
    parse_event,
    parse_events,
)
from tests.helpers import load_event


def _response(**changes: Any) -> dict[str, Any]:
    return {**load_event("response_event_minimal"), **changes}


def _query(**changes: Any) -> dict[str, Any]:
    return {**load_event("query_event_minimal"), **changes}


def _rejection(raw: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    return caught.value


def _locations(error: InvalidEvent) -> list[tuple[Any, ...]]:
    return [tuple(item["loc"]) for item in error.errors]


# --- the documented examples and the full worker format ---------------------------------------


def test_parse_event_minimal_query_example():
    """The author's documented query example parses into a QueryEvent with its values."""
    event = parse_event(json.dumps(load_event("query_event_minimal")))

    assert isinstance(event, QueryEvent)
    assert (event.requestId, event.timestamp, event.query) == (
        "test-query-001",
        1698765432000,
        "Do you have Python experience?",
    )
    assert (event.sessionId, event.metadata) == (None, None)


def test_parse_event_minimal_response_example():
    """The author's documented response example parses into a ResponseEvent with its values."""
    event = parse_event(json.dumps(load_event("response_event_minimal")))

    assert isinstance(event, ResponseEvent)
    assert (event.requestId, event.timestamp, event.matchType, event.matchScore) == (
        "test-query-001",
        1698765432100,
        "full",
        95,
    )
    assert event.reasoning == "Direct Python experience matches query"
    assert (event.vectorMatches, event.performance, event.metadata) == (None, None, None)


def test_parse_event_full_query_reads_metadata():
    """A full query keeps its session and its userAgent/referer metadata."""
    event = parse_event(load_event("query_event"))

    assert isinstance(event, QueryEvent)
    assert event.sessionId == "7c9e2b14-3f8a-4d6e-b5a0-1e2f3a4b5c6d"
    assert event.metadata is not None
    assert event.metadata.referer == "https://cv.example.com/"
    assert event.metadata.userAgent.startswith("Mozilla/5.0 (Macintosh;")


def test_parse_event_full_response_reads_metadata():
    """A full response keeps vectorMatches, matchQuality and sourcesUsed in order."""
    event = parse_event(load_event("response_event"))

    assert isinstance(event, ResponseEvent)
    assert event.vectorMatches == 5
    assert event.metadata is not None
    assert event.metadata.matchQuality == 0.91
    assert event.metadata.sourcesUsed == ["C#", ".NET", "Azure", "Microservices"]


def test_parse_event_full_response_round_trips_unchanged():
    """Serialising a parsed full response gives back exactly the worker's JSON."""
    raw = load_event("response_event")

    assert json.loads(parse_event(raw).to_json()) == raw


def test_parse_event_keeps_extra_metadata_keys():
    """Metadata keys the model does not name survive parsing and serialisation."""
    raw = load_event("query_event")
    raw["metadata"]["country"] = "GB"

    event = parse_event(raw)

    assert event.metadata is not None
    assert event.metadata.model_extra == {"country": "GB"}
    assert json.loads(event.to_json())["metadata"]["country"] == "GB"


def test_parse_event_keeps_unknown_top_level_keys():
    """Top-level keys the model does not name survive parsing and serialisation."""
    raw = _response(workerVersion="2.4.1")

    event = parse_event(raw)

    assert event.model_extra == {"workerVersion": "2.4.1"}
    assert json.loads(event.to_json()) == raw


def test_parse_event_accepts_bytes():
    """A raw SQS body given as bytes parses like text."""
    event = parse_event(json.dumps(load_event("query_event_minimal")).encode("utf-8"))

    assert event.requestId == "test-query-001"


# --- timestamp: an integer number of epoch milliseconds -----------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    ["1698765432100", 1698765432100.0, 1698765432100.5, True],
    ids=["string", "integral-float", "fractional-float", "bool"],
)
def test_parse_event_timestamp_not_int_rejected(timestamp):
    """Only a JSON integer is a timestamp: no string, float or bool coercion."""
    error = _rejection(_response(timestamp=timestamp))

    assert _locations(error) == [("response", "timestamp")]
    assert error.errors[0]["type"] == "int_type"


@pytest.mark.parametrize("timestamp", [0, -1698765432100], ids=["zero", "negative"])
def test_parse_event_timestamp_not_positive_rejected(timestamp):
    """A timestamp at or before the epoch is rejected."""
    error = _rejection(_response(timestamp=timestamp))

    assert _locations(error) == [("response", "timestamp")]
    assert error.errors[0]["type"] == "greater_than"


def test_parse_event_timestamp_missing_rejected():
    """A response without a timestamp is rejected, naming the missing field."""
    raw = _response()
    del raw["timestamp"]

    error = _rejection(raw)

    assert _locations(error) == [("response", "timestamp")]
    assert error.errors[0]["type"] == "missing"


# --- response fields --------------------------------------------------------------------------


@pytest.mark.parametrize("match_type", ["full", "partial", "none"])
def test_parse_event_match_type_allowed(match_type):
    """Each of the worker's three match types is accepted."""
    assert parse_event(_response(matchType=match_type)).matchType == match_type


@pytest.mark.parametrize("match_type", ["exact", "FULL", "", None])
def test_parse_event_match_type_unknown_rejected(match_type):
    """Any other match type is rejected at matchType."""
    error = _rejection(_response(matchType=match_type))

    assert _locations(error) == [("response", "matchType")]


@pytest.mark.parametrize("score", [0, 100])
def test_parse_event_match_score_bounds_accepted(score):
    """matchScore accepts both ends of 0-100."""
    assert parse_event(_response(matchScore=score)).matchScore == score


@pytest.mark.parametrize(
    ("score", "error_type"),
    [(-1, "greater_than_equal"), (101, "less_than_equal"), (95.0, "int_type"), ("95", "int_type")],
)
def test_parse_event_match_score_invalid_rejected(score, error_type):
    """matchScore outside 0-100, or not an integer, is rejected at matchScore."""
    error = _rejection(_response(matchScore=score))

    assert _locations(error) == [("response", "matchScore")]
    assert error.errors[0]["type"] == error_type


@pytest.mark.parametrize("quality", [0, 0.0, 0.5, 1, 1.0])
def test_parse_event_match_quality_in_range_accepted(quality):
    """matchQuality accepts any similarity from 0 to 1 inclusive."""
    event = parse_event(_response(metadata={"matchQuality": quality}))

    assert event.metadata is not None
    assert event.metadata.matchQuality == quality


@pytest.mark.parametrize(
    ("quality", "error_type"), [(-0.01, "greater_than_equal"), (1.01, "less_than_equal")]
)
def test_parse_event_match_quality_out_of_range_rejected(quality, error_type):
    """matchQuality outside 0-1 is rejected at metadata.matchQuality."""
    error = _rejection(_response(metadata={"matchQuality": quality}))

    assert _locations(error) == [("response", "metadata", "matchQuality")]
    assert error.errors[0]["type"] == error_type


def test_parse_event_sources_used_non_strings_rejected():
    """Every sourcesUsed entry must be a string; each bad entry is named by index."""
    error = _rejection(_response(metadata={"sourcesUsed": ["Python", 3, None]}))

    assert _locations(error) == [
        ("response", "metadata", "sourcesUsed", 1),
        ("response", "metadata", "sourcesUsed", 2),
    ]


def test_parse_event_sources_used_not_list_rejected():
    """sourcesUsed given as one string (not a list) is rejected."""
    error = _rejection(_response(metadata={"sourcesUsed": "Python"}))

    assert _locations(error) == [("response", "metadata", "sourcesUsed")]
    assert error.errors[0]["type"] == "list_type"


def test_parse_event_sources_used_empty_list_accepted():
    """An empty sourcesUsed list is valid (no technology was matched)."""
    event = parse_event(_response(metadata={"sourcesUsed": []}))

    assert event.metadata is not None
    assert event.metadata.sourcesUsed == []


# --- requestId: it becomes part of SQS ids ------------------------------------------------------


def test_parse_event_request_id_max_length_accepted():
    """A 100-character requestId is the longest accepted."""
    assert parse_event(_query(requestId="a" * 100)).requestId == "a" * 100


@pytest.mark.parametrize(
    ("request_id", "error_type"),
    [
        ("", "string_too_short"),
        ("a" * 101, "string_too_long"),
        ("test query 001", "string_pattern_mismatch"),
        ("test-query-001\n", "string_pattern_mismatch"),
        ("\ttest-query-001", "string_pattern_mismatch"),
        ("tést-query-001", "string_pattern_mismatch"),
        (1001, "string_type"),
    ],
    ids=["empty", "101-chars", "space", "trailing-newline", "tab", "non-ascii", "number"],
)
def test_parse_event_request_id_invalid_rejected(request_id, error_type):
    """A requestId that could not be part of an SQS deduplication id is rejected."""
    error = _rejection(_query(requestId=request_id))

    assert _locations(error) == [("query", "requestId")]
    assert error.errors[0]["type"] == error_type


# --- query fields -----------------------------------------------------------------------------


def test_parse_event_empty_query_rejected():
    """A query event with an empty question is rejected at query."""
    error = _rejection(_query(query=""))

    assert _locations(error) == [("query", "query")]


# --- what cannot be an event at all -----------------------------------------------------------


def test_parse_event_invalid_json_rejected():
    """A body that is not JSON is rejected with a reason saying so, and no field errors."""
    error = _rejection('{"eventType": "query", ')

    assert error.reason.startswith("body is not JSON: ")
    assert str(error) == error.reason
    assert error.errors == []


def test_parse_event_unknown_event_type_rejected():
    """An eventType other than query/response is rejected, naming both valid types."""
    error = _rejection(_query(eventType="click"))

    assert error.errors[0]["type"] == "union_tag_invalid"
    assert error.reason == (
        "invalid event: <root>: Input tag 'click' found using 'eventType' does not match"
        " any of the expected tags: 'query', 'response'"
    )


def test_parse_event_missing_event_type_rejected():
    """An object without eventType is rejected at the root."""
    raw = _query()
    del raw["eventType"]

    error = _rejection(raw)

    assert error.errors[0]["type"] == "union_tag_not_found"
    assert _locations(error) == [()]


def test_parse_event_json_array_rejected():
    """A JSON array is not one event."""
    error = _rejection(json.dumps([load_event("query_event_minimal")]))

    assert error.reason.startswith("invalid event: ")
    assert len(error.errors) == 1


def test_parse_event_every_bad_field_named():
    """Every invalid field of one event is reported, each with its location."""
    error = _rejection(_response(matchType="exact", matchScore=101, timestamp="soon"))

    assert sorted(_locations(error)) == [
        ("response", "matchScore"),
        ("response", "matchType"),
        ("response", "timestamp"),
    ]
    assert "response.matchScore: Input should be less than or equal to 100" in error.reason


# --- parse_events: one object or a batch of 1-100 ---------------------------------------------


def test_parse_events_single_object():
    """One event object gives a list of one event."""
    events = parse_events(load_event("query_event_minimal"))

    assert [type(event) for event in events] == [QueryEvent]
    assert events[0].requestId == "test-query-001"


def test_parse_events_list_keeps_order():
    """A list of events is parsed in order."""
    events = parse_events([load_event("response_event"), load_event("query_event")])

    assert [event.eventType for event in events] == ["response", "query"]


def test_parse_events_empty_list_rejected():
    """An empty list is rejected: a request must carry at least one event."""
    with pytest.raises(InvalidEvent) as caught:
        parse_events([])

    assert [item["type"] for item in caught.value.errors] == ["too_short"]


def test_parse_events_at_limit_accepted():
    """Exactly MAX_EVENTS_PER_REQUEST (100) events are accepted."""
    events = parse_events([_query(requestId=f"r-{n}") for n in range(MAX_EVENTS_PER_REQUEST)])

    assert len(events) == 100
    assert events[-1].requestId == "r-99"


def test_parse_events_over_limit_rejected():
    """101 events are rejected as a whole."""
    with pytest.raises(InvalidEvent) as caught:
        parse_events([_query(requestId=f"r-{n}") for n in range(101)])

    assert [item["type"] for item in caught.value.errors] == ["too_long"]


def test_parse_events_bad_item_located_by_index():
    """An invalid event inside a list is named by its position and field."""
    with pytest.raises(InvalidEvent) as caught:
        parse_events([_query(), _response(matchScore=-5)])

    assert [tuple(item["loc"]) for item in caught.value.errors] == [(1, "response", "matchScore")]


# --- deduplication id -------------------------------------------------------------------------


def test_deduplication_id_query_matches_worker_format():
    """A query's deduplication id is <requestId>-query-<timestamp>, as the worker sends it."""
    assert parse_event(load_event("query_event_minimal")).deduplication_id == (
        "test-query-001-query-1698765432000"
    )


def test_deduplication_id_response_matches_worker_format():
    """A response's deduplication id is <requestId>-response-<timestamp>."""
    assert parse_event(load_event("response_event_minimal")).deduplication_id == (
        "test-query-001-response-1698765432100"
    )


def test_deduplication_id_matches_sqs_fixture():
    """The ids in the recorded SQS batch are the ones the parsed bodies compute."""
    records = load_event("sqs_batch_query_response")["Records"]

    assert [parse_event(r["body"]).deduplication_id for r in records] == [
        r["attributes"]["MessageDeduplicationId"] for r in records
    ]


def test_parse_event_match_quality_bool_rejected():
    """A boolean matchQuality is a sender bug, reported on that field."""
    event = load_event("response_event")
    event["metadata"]["matchQuality"] = True
    with pytest.raises(InvalidEvent, match="matchQuality"):
        parse_event(event)
