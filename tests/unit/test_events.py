"""The worker's analytics events: what is accepted unchanged and what is rejected, and why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cv_analytics.events import (
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_REQUEST,
    MAX_HEADER_CHARS,
    MAX_METADATA_BYTES,
    MAX_METADATA_KEYS,
    MAX_NESTING_DEPTH,
    MAX_QUERY_CHARS,
    MAX_REASONING_CHARS,
    MAX_SESSION_ID_CHARS,
    MAX_SOURCE_CHARS,
    MAX_SOURCES,
    MAX_VECTOR_MATCHES,
    MIN_TIMESTAMP_MS,
    InvalidEvent,
    QueryEvent,
    ResponseEvent,
    parse_event,
    parse_events,
)
from tests.support.events import load_event


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

    assert json.loads(parse_event(raw).model_dump_json(exclude_none=True)) == raw


def test_parse_event_keeps_extra_metadata_keys():
    """Metadata keys the model does not name survive parsing and serialisation."""
    raw = load_event("query_event")
    raw["metadata"]["country"] = "GB"

    event = parse_event(raw)

    assert event.metadata is not None
    assert event.metadata.model_extra == {"country": "GB"}
    assert json.loads(event.model_dump_json(exclude_none=True))["metadata"]["country"] == "GB"


def test_parse_event_keeps_unknown_top_level_keys():
    """Top-level keys the model does not name survive parsing and serialisation."""
    raw = _response(workerVersion="2.4.1")

    event = parse_event(raw)

    assert event.model_extra == {"workerVersion": "2.4.1"}
    assert json.loads(event.model_dump_json(exclude_none=True)) == raw


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
    """A timestamp at or before the epoch is rejected (it is before the 2020 lower bound)."""
    error = _rejection(_response(timestamp=timestamp))

    assert _locations(error) == [("response", "timestamp")]
    assert error.errors[0]["type"] == "greater_than_equal"


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


# --- limits: every accepted event can be queued and stored for good ----------------------------

NOW_MS = 1_764_500_000_000  # 2025-11-30, the clock these tests pretend it is
DAY_MS = 86_400_000


def _compact_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _rejected_at(raw: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, now_ms=NOW_MS)
    return [(tuple(item["loc"]), item["type"]) for item in caught.value.errors]


def test_parse_event_timestamp_lower_bound_accepted():
    """2020-01-01T00:00:00Z exactly is the earliest timestamp accepted."""
    event = parse_event(_query(timestamp=MIN_TIMESTAMP_MS), now_ms=NOW_MS)

    assert event.timestamp == 1_577_836_800_000


def test_parse_event_timestamp_before_lower_bound_rejected():
    """One millisecond before 2020 is rejected at timestamp."""
    assert _rejected_at(_query(timestamp=MIN_TIMESTAMP_MS - 1)) == [
        (("query", "timestamp"), "greater_than_equal")
    ]


def test_parse_event_timestamp_one_day_ahead_accepted():
    """A clock up to one day fast is tolerated."""
    assert parse_event(_query(timestamp=NOW_MS + DAY_MS), now_ms=NOW_MS).timestamp == NOW_MS + DAY_MS


def test_parse_event_timestamp_past_one_day_ahead_rejected():
    """One millisecond beyond now + 1 day is rejected, naming the field."""
    assert _rejected_at(_query(timestamp=NOW_MS + DAY_MS + 1)) == [
        (("query", "timestamp"), "timestamp_in_future")
    ]


@pytest.mark.parametrize("timestamp", [2**63, 10**30, 10**400], ids=["2**63", "10**30", "10**400"])
def test_parse_event_timestamp_huge_rejected(timestamp):
    """Timestamps that overflowed the week and TTL arithmetic are rejected at timestamp."""
    [(loc, _)] = [problem for problem in _rejected_at(_response(timestamp=timestamp))]

    assert loc == ("response", "timestamp")


def test_parse_event_timestamp_float_1e30_rejected():
    """1e30 arrives as a JSON float and is no integer timestamp."""
    assert _rejected_at('{"eventType":"query","requestId":"r","timestamp":1e30,"query":"hi"}') == [
        (("query", "timestamp"), "int_type")
    ]


def test_parse_event_old_event_accepted_years_later():
    """The lower bound is fixed: a 2023 event redriven in 2030 is judged as on arrival."""
    in_2030 = 1_893_456_000_000

    assert parse_event(load_event("query_event_minimal"), now_ms=in_2030).timestamp == 1698765432000


def test_parse_event_without_clock_uses_current_time():
    """Without now_ms the real clock bounds the future: a year ahead is rejected."""
    import time

    error = _rejection(_query(timestamp=time.time_ns() // 1_000_000 + 365 * DAY_MS))

    assert error.errors[0]["type"] == "timestamp_in_future"


@pytest.mark.parametrize(
    ("field", "limit", "make"),
    [
        ("query", MAX_QUERY_CHARS, lambda text: _query(query=text)),
        ("sessionId", MAX_SESSION_ID_CHARS, lambda text: _query(sessionId=text)),
        ("reasoning", MAX_REASONING_CHARS, lambda text: _response(reasoning=text)),
    ],
    ids=["query", "sessionId", "reasoning"],
)
def test_parse_event_string_at_limit_accepted(field, limit, make):
    """query (4,000), sessionId (512) and reasoning (4,000) accept exactly their limit."""
    event = parse_event(make("é" * limit), now_ms=NOW_MS)

    assert getattr(event, field) == "é" * limit


@pytest.mark.parametrize(
    ("loc", "limit", "make"),
    [
        (("query", "query"), MAX_QUERY_CHARS, lambda text: _query(query=text)),
        (("query", "sessionId"), MAX_SESSION_ID_CHARS, lambda text: _query(sessionId=text)),
        (("response", "reasoning"), MAX_REASONING_CHARS, lambda text: _response(reasoning=text)),
        (
            ("query", "metadata", "userAgent"),
            MAX_HEADER_CHARS,
            lambda text: _query(metadata={"userAgent": text}),
        ),
        (("query", "metadata", "referer"), MAX_HEADER_CHARS, lambda text: _query(metadata={"referer": text})),
    ],
    ids=["query", "sessionId", "reasoning", "userAgent", "referer"],
)
def test_parse_event_string_past_limit_rejected(loc, limit, make):
    """One character past a string's limit is rejected at that field."""
    assert _rejected_at(make("x" * (limit + 1))) == [(loc, "string_too_long")]


def test_parse_event_user_agent_at_limit_accepted():
    """A 2,048-character userAgent is accepted."""
    event = parse_event(_query(metadata={"userAgent": "u" * MAX_HEADER_CHARS}), now_ms=NOW_MS)

    assert event.metadata is not None and len(event.metadata.userAgent) == MAX_HEADER_CHARS


def test_parse_event_sources_used_at_limits_accepted():
    """100 sourcesUsed entries of 200 characters each are accepted."""
    sources = ["s" * MAX_SOURCE_CHARS] * MAX_SOURCES

    event = parse_event(_response(metadata={"sourcesUsed": sources}), now_ms=NOW_MS)

    assert event.metadata is not None and event.metadata.sourcesUsed == sources


def test_parse_event_sources_used_too_many_rejected():
    """101 sourcesUsed entries are rejected at sourcesUsed."""
    assert _rejected_at(_response(metadata={"sourcesUsed": ["Python"] * (MAX_SOURCES + 1)})) == [
        (("response", "metadata", "sourcesUsed"), "too_long")
    ]


def test_parse_event_sources_used_entry_too_long_rejected():
    """A 201-character sourcesUsed entry is rejected, named by its index."""
    assert _rejected_at(_response(metadata={"sourcesUsed": ["Python", "s" * (MAX_SOURCE_CHARS + 1)]})) == [
        (("response", "metadata", "sourcesUsed", 1), "string_too_long")
    ]


def test_parse_event_vector_matches_limit():
    """vectorMatches accepts 10,000 and rejects 10,001."""
    assert parse_event(_response(vectorMatches=MAX_VECTOR_MATCHES), now_ms=NOW_MS).vectorMatches == 10_000
    assert _rejected_at(_response(vectorMatches=MAX_VECTOR_MATCHES + 1)) == [
        (("response", "vectorMatches"), "less_than_equal")
    ]


def test_parse_event_metadata_key_count_limit():
    """metadata takes 64 keys; a 65th is rejected at metadata."""
    keys = {f"k{n}": n for n in range(MAX_METADATA_KEYS)}

    assert parse_event(_query(metadata=keys), now_ms=NOW_MS).metadata is not None
    assert _rejected_at(_query(metadata={**keys, "one-more": 1})) == [
        (("query", "metadata"), "too_many_keys")
    ]


def _metadata_of_bytes(size: int) -> dict[str, Any]:
    metadata = {"note": ""}
    metadata["note"] = "m" * (size - _compact_bytes(metadata))
    return metadata


def test_parse_event_metadata_at_byte_limit_accepted():
    """metadata of exactly 32 KiB as compact JSON is accepted."""
    metadata = _metadata_of_bytes(MAX_METADATA_BYTES)

    assert _compact_bytes(metadata) == 32_768
    assert parse_event(_query(metadata=metadata), now_ms=NOW_MS).metadata is not None


def test_parse_event_metadata_over_byte_limit_rejected():
    """metadata one byte over 32 KiB is rejected at metadata."""
    assert _rejected_at(_query(metadata=_metadata_of_bytes(MAX_METADATA_BYTES + 1))) == [
        (("query", "metadata"), "too_large")
    ]


def _event_of_bytes(size: int) -> dict[str, Any]:
    event = _query(padding="")
    event["padding"] = "p" * (size - _compact_bytes(event))
    return event


def test_parse_event_at_event_byte_limit_accepted():
    """An event of exactly 64 KiB as compact JSON (unknown fields included) is accepted."""
    event = _event_of_bytes(MAX_EVENT_BYTES)

    assert _compact_bytes(event) == 65_536
    assert parse_event(event, now_ms=NOW_MS).model_extra == {"padding": event["padding"]}


def test_parse_event_over_event_byte_limit_rejected():
    """An event one byte over 64 KiB is rejected as a whole."""
    assert _rejected_at(_event_of_bytes(MAX_EVENT_BYTES + 1)) == [(("query",), "too_large")]


def test_parse_event_limits_keep_sqs_and_dynamodb_in_reach():
    """The largest accepted event fits one SQS message four times over; two fit a DynamoDB item."""
    assert 4 * MAX_EVENT_BYTES <= 256 * 1024
    assert 2 * MAX_EVENT_BYTES < 400_000


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('{"x": NaN}', ("query", "x")),
        ('{"x": {"deep": [1, Infinity]}}', ("query", "x", "deep", 1)),
        ('{"metadata": {"score": -Infinity}}', ("query", "metadata", "score")),
    ],
    ids=["extra-field", "nested-extra", "metadata"],
)
def test_parse_event_non_finite_number_rejected(text, loc):
    """NaN and ±Infinity are rejected wherever they appear, naming the spot."""
    body = json.dumps(_query())[:-1] + ", " + text[1:-1] + "}"

    assert _rejected_at(body) == [(loc, "finite_number")]


def test_parse_event_non_finite_match_quality_reported_once():
    """NaN in matchQuality is one error at that field, not a type error as well."""
    assert _rejected_at(_response(metadata={"matchQuality": float("nan")})) == [
        (("response", "metadata", "matchQuality"), "finite_number")
    ]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"query": "hi \ud800"}, ("query", "query")),
        ({"x": "\udfff"}, ("query", "x")),
        ({"metadata": {"tags": ["ok", "bad \ud83d"]}}, ("query", "metadata", "tags", 1)),
    ],
    ids=["query", "extra-field", "nested"],
)
def test_parse_event_lone_surrogate_value_rejected(changes, loc):
    """A string holding a lone surrogate (not encodable as UTF-8) is rejected at its field."""
    assert _rejected_at(_query(**changes)) == [(loc, "lone_surrogate")]


def test_parse_event_lone_surrogate_key_rejected_with_printable_location():
    """A key holding a lone surrogate is rejected; its location is escaped so it can be reported."""
    [(loc, kind)] = _rejected_at(_query(metadata={"k\ud800": 1}))

    assert (loc, kind) == (("query", "metadata", "k\\ud800"), "lone_surrogate")
    assert ".".join(map(str, loc)).encode("utf-8")


def test_parse_event_lone_surrogate_from_json_escape_rejected():
    """The JSON escape \\ud800 decodes to a lone surrogate and is rejected."""
    body = json.dumps(_query())[:-1] + ', "x": "\\ud800"}'

    assert _rejected_at(body) == [(("query", "x"), "lone_surrogate")]


def test_parse_event_paired_surrogates_accepted():
    """An emoji written as a JSON surrogate pair is an ordinary character."""
    body = json.dumps(_query(query="Python? \U0001f40d"))

    assert parse_event(body, now_ms=NOW_MS).query == "Python? \U0001f40d"


@pytest.mark.parametrize("number", [10**38 - 1, -(10**38) + 1, 9.99e125, 1e-130, 0.0, -0.0])
def test_parse_event_extra_number_in_dynamodb_range_accepted(number):
    """Numbers DynamoDB can store (38 digits; magnitude 1e-130 to 1e126) are accepted anywhere."""
    event = parse_event(_query(x={"n": number}), now_ms=NOW_MS)

    assert event.model_extra == {"x": {"n": number}}


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        (10**38, "number_too_large"),
        (-(10**38), "number_too_large"),
        (1e126, "number_out_of_range"),
        (1e-131, "number_out_of_range"),
    ],
    ids=["39-digits", "negative-39-digits", "1e126", "1e-131"],
)
def test_parse_event_extra_number_outside_dynamodb_range_rejected(number, kind):
    """A number DynamoDB could not store is rejected, even in an unknown field."""
    assert _rejected_at(_query(x={"n": number})) == [(("query", "x", "n"), kind)]


def test_parse_event_performance_number_outside_range_rejected():
    """Declared number fields get the same bound: performance.totalTime of 10**40 is rejected."""
    assert _rejected_at(_response(performance={"totalTime": 10**40})) == [
        (("response", "performance", "totalTime"), "number_too_large")
    ]


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_parse_event_nesting_at_limit_accepted():
    """32 levels of nesting, the event itself included, are accepted."""
    event = parse_event(_query(x=_nested(MAX_NESTING_DEPTH - 1)), now_ms=NOW_MS)

    assert event.model_extra is not None


def test_parse_event_nesting_past_limit_rejected():
    """A 33rd level is rejected, located at the array that is too deep."""
    [(loc, kind)] = _rejected_at(_query(x=_nested(MAX_NESTING_DEPTH)))

    assert kind == "too_deep"
    assert loc == ("query", "x", *([0] * (MAX_NESTING_DEPTH - 1)))


def test_parse_event_text_nested_beyond_recursion_rejected():
    """JSON text nested 100,000 deep is an InvalidEvent, not a RecursionError."""
    error = _rejection("[" * 100_000 + "]" * 100_000)

    assert error.kind == "invalid-event"
    assert [item["type"] for item in error.errors] == ["json_too_deep"]


def test_parse_event_text_with_5000_digit_integer_rejected():
    """A 5,000-digit integer (beyond Python's decoding limit) is an InvalidEvent, not ValueError."""
    error = _rejection('{"eventType":"query","x":' + "9" * 5000 + "}")

    assert error.kind == "invalid-event"
    assert [item["type"] for item in error.errors] == ["number_too_large"]


def test_parse_event_not_json_kind():
    """Text that is not JSON is reported with kind not-json."""
    assert _rejection("not json").kind == "not-json"


def test_parse_event_field_error_kind():
    """A JSON object that breaks a rule is reported with kind invalid-event."""
    assert _rejection(_query(query="")).kind == "invalid-event"


def test_parse_event_limit_and_field_errors_reported_together():
    """A limit problem and an ordinary field error in one event are both named."""
    found = _rejected_at(_response(x=float("inf"), matchScore=101))

    assert sorted(found) == [
        (("response", "matchScore"), "less_than_equal"),
        (("response", "x"), "finite_number"),
    ]


def test_parse_event_limit_errors_encode_as_utf8_reason():
    """The reason text of a rejected event is valid UTF-8 (it travels as an SQS attribute)."""
    error = _rejection(_query(query="\ud800", x=float("nan")))

    assert error.reason.encode("utf-8")
    assert "query.x: Input should be a finite number" in error.reason


def test_parse_events_limit_located_by_index():
    """In a batch, a limit problem is named by position and field."""
    with pytest.raises(InvalidEvent) as caught:
        parse_events([_query(), _query(x=float("nan"))], now_ms=NOW_MS)

    assert [tuple(item["loc"]) for item in caught.value.errors] == [(1, "query", "x")]


@pytest.mark.parametrize(
    "name", ["query_event", "query_event_minimal", "response_event", "response_event_minimal"]
)
def test_parse_event_worker_fixtures_within_limits(name):
    """Every recorded worker message is still accepted, with the limits applied."""
    assert parse_event(json.dumps(load_event(name)), now_ms=NOW_MS).requestId
