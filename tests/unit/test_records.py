"""Correlating a query and its response into one record, in any order, any number of times.

Each event's write (``record_update``) is applied in memory with ``RecordUpdate.applied_to``,
which does what the store's UpdateItem does (tests/functional/test_processor.py checks that
DynamoDB agrees). Status and latency are read-side: ``with_read_fields`` shows them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cv_analytics.aws.dynamodb import (
    MAX_HALF_BYTES,
    MAX_ITEM_BYTES,
    AnalyticsStore,
    RawEventStore,
    UnstorableItem,
    item_size,
    to_attribute,
)
from cv_analytics.events import (
    MAX_HEADER_CHARS,
    MAX_QUERY_CHARS,
    MAX_REASONING_CHARS,
    MAX_SESSION_ID_CHARS,
    MAX_SOURCES,
    QueryEvent,
    ResponseEvent,
    parse_event,
)
from cv_analytics.records import (
    DATING_ATTRIBUTES,
    QUERY_ATTRIBUTES,
    READ_ONLY_ATTRIBUTES,
    RESPONSE_ATTRIBUTES,
    AnalyticsRecord,
    RecordUpdate,
    Status,
    UndatableEvent,
    derive,
    query_half,
    record_update,
    response_half,
    with_read_fields,
)
from tests.support.events import load_event

TTL_DAYS = 90
SUNDAY_LAST_MOMENT_MS = 1763942399900  # Sunday 2025-11-23 23:59:59.900 UTC, in 2025-W47
MONDAY_FIRST_MOMENT_MS = 1763942400300  # Monday 2025-11-24 00:00:00.300 UTC, in 2025-W48


def _query(**changes: Any) -> QueryEvent:
    event = parse_event({**load_event("query_event"), **changes})
    assert isinstance(event, QueryEvent)
    return event


def _response(**changes: Any) -> ResponseEvent:
    event = parse_event({**load_event("response_event"), **changes})
    assert isinstance(event, ResponseEvent)
    return event


def _apply(item: dict[str, Any], event: QueryEvent | ResponseEvent) -> dict[str, Any]:
    """``item`` after ``event``'s write, as stored."""
    return record_update(event, ttl_days=TTL_DAYS).applied_to(item)


def _merge(*events: QueryEvent | ResponseEvent) -> dict[str, Any]:
    """The stored record after ``events`` are written in this order."""
    item: dict[str, Any] = {}
    for event in events:
        item = _apply(item, event)
    return item


def _read(*events: QueryEvent | ResponseEvent) -> dict[str, Any]:
    """The record after ``events``, as a reader sees it (status and latency derived)."""
    return with_read_fields(_merge(*events))


# --- each half alone --------------------------------------------------------------------------


def test_merge_query_only_awaits_response():
    """A query alone gives an awaiting_response record anchored on the query time."""
    item = _read(_query())

    assert item["status"] == Status.AWAITING_RESPONSE.value == "awaiting_response"
    assert (item["week"], item["timestamp"]) == ("2025-W47", 1763560992345)
    assert "latencyMs" not in item
    assert "matchType" not in item


def test_merge_response_only_awaits_query():
    """A response alone gives an awaiting_query record, its week taken from the response time."""
    item = _read(_response(timestamp=MONDAY_FIRST_MOMENT_MS))

    assert item["status"] == "awaiting_query"
    assert (item["week"], item["timestamp"]) == ("2025-W48", MONDAY_FIRST_MOMENT_MS)
    assert "latencyMs" not in item
    assert "query" not in item


def test_merge_query_only_skips_absent_optional_fields():
    """Optional fields the worker did not send are not written as None; nor are status or latency."""
    event = parse_event(load_event("query_event_minimal"))

    item = _merge(event)

    assert item == {
        "requestId": "test-query-001",
        "query": "Do you have Python experience?",
        "queryTimestamp": 1698765432000,
        "week": "2023-W44",
        "timestamp": 1698765432000,
        "expiresAt": 1698765432 + TTL_DAYS * 86_400,
    }


# --- both halves ------------------------------------------------------------------------------


def test_merge_query_then_response_answered():
    """Query then response gives an answered record with every field of both halves."""
    item = _read(_query(), _response())

    assert item == {
        "requestId": "5b1f4c2e-9a7d-4e3b-8c61-2f0d9e7a4b35",
        "query": "Have you led teams building C# microservices on Azure?",
        "queryTimestamp": 1763560992345,
        "querySessionId": "7c9e2b14-3f8a-4d6e-b5a0-1e2f3a4b5c6d",
        "userAgent": load_event("query_event")["metadata"]["userAgent"],
        "referer": "https://cv.example.com/",
        "responseTimestamp": 1763560994218,
        "responseSessionId": "7c9e2b14-3f8a-4d6e-b5a0-1e2f3a4b5c6d",
        "matchType": "full",
        "matchScore": 91,
        "matchQuality": 0.91,
        "reasoning": 'Excellent match: "C#" with 0.91 similarity',
        "vectorMatches": 5,
        "sourcesUsed": ["C#", ".NET", "Azure", "Microservices"],
        "week": "2025-W47",
        "timestamp": 1763560992345,
        "sessionId": "7c9e2b14-3f8a-4d6e-b5a0-1e2f3a4b5c6d",
        "status": "answered",
        "latencyMs": 1873,
        "expiresAt": 1763560992 + TTL_DAYS * 86_400,
    }


def test_merge_order_does_not_matter():
    """Response-then-query converges on exactly the record query-then-response gives."""
    assert _merge(_response(), _query()) == _merge(_query(), _response())


@pytest.mark.parametrize(
    "order",
    sorted(set(itertools.permutations(["query", "query", "response", "response"]))),
    ids="-".join,
)
def test_merge_every_arrival_order_with_redelivery_converges(order):
    """Each event twice, in every order, stores exactly the record one query then one response does."""
    events = {"query": _query(), "response": _response()}

    assert _merge(*(events[kind] for kind in order)) == _merge(_query(), _response())


def test_merge_stores_no_status_or_latency():
    """Status and latency are derived when read, never stored."""
    item = _merge(_query(), _response())

    assert not set(READ_ONLY_ATTRIBUTES) & set(item)


@pytest.mark.parametrize("kind", ["query", "response"])
def test_merge_removes_status_stored_by_earlier_versions(kind):
    """A record that still holds a stored status and latency loses them on its next write."""
    legacy = _merge(_query()) | {"status": "awaiting_response", "latencyMs": 5}
    event = _query() if kind == "query" else _response()

    item = _apply(legacy, event)

    assert not set(READ_ONLY_ATTRIBUTES) & set(item)


def test_merge_latency_is_response_minus_query():
    """latencyMs is the response timestamp minus the query timestamp."""
    item = _read(_response(timestamp=1698765432100), _query(timestamp=1698765432000))

    assert item["latencyMs"] == 100


@pytest.mark.parametrize("order", ["query-first", "response-first"])
def test_merge_week_from_query_when_response_crosses_week(order):
    """A query at Sunday 23:59:59.900 answered on Monday belongs to the query's week."""
    query = _query(timestamp=SUNDAY_LAST_MOMENT_MS)
    response = _response(timestamp=MONDAY_FIRST_MOMENT_MS)
    events = (query, response) if order == "query-first" else (response, query)

    item = _read(*events)

    assert (item["week"], item["timestamp"], item["latencyMs"]) == (
        "2025-W47",
        SUNDAY_LAST_MOMENT_MS,
        400,
    )


def test_merge_late_query_moves_record_to_query_week():
    """A response-only record filed under the response's week moves when its query arrives."""
    item = _merge(_response(timestamp=MONDAY_FIRST_MOMENT_MS))
    assert item["week"] == "2025-W48"

    item = with_read_fields(_apply(item, _query(timestamp=SUNDAY_LAST_MOMENT_MS)))

    assert (item["week"], item["timestamp"], item["status"]) == (
        "2025-W47",
        SUNDAY_LAST_MOMENT_MS,
        "answered",
    )


def test_merge_late_query_moves_expiry_to_query_time():
    """The query re-dates the expiry too: it counts from the query, as if it had come first."""
    query = _query(timestamp=SUNDAY_LAST_MOMENT_MS)
    item = _merge(_response(timestamp=MONDAY_FIRST_MOMENT_MS), query)

    assert item["expiresAt"] == SUNDAY_LAST_MOMENT_MS // 1000 + TTL_DAYS * 86_400


# --- redelivery -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["query", "response"])
def test_merge_same_event_twice_alone_is_idempotent(kind):
    """Redelivering a lone event leaves its record unchanged."""
    event = _query() if kind == "query" else _response()
    once = _merge(event)

    assert _merge(event, event) == once


@pytest.mark.parametrize("replayed", ["query", "response"])
def test_merge_replay_after_answer_is_idempotent(replayed):
    """Redelivering either event after the record is answered changes nothing."""
    query, response = _query(), _response()
    answered = _merge(query, response)

    again = _merge(query, response, query if replayed == "query" else response)

    assert again == answered


# --- session and expiry -----------------------------------------------------------------------


@pytest.mark.parametrize("order", ["query-first", "response-first"])
def test_merge_session_prefers_query(order):
    """When both halves carry a session, the query's wins whatever the order."""
    query, response = _query(sessionId="from-query"), _response(sessionId="from-response")
    events = (query, response) if order == "query-first" else (response, query)

    assert _merge(*events)["sessionId"] == "from-query"


def test_merge_session_falls_back_to_response():
    """A query without a session takes the response's."""
    query = parse_event(load_event("query_event_minimal"))
    response = _response(requestId="test-query-001", sessionId="from-response")

    assert _merge(query, response)["sessionId"] == "from-response"


def test_merge_no_session_anywhere_leaves_it_out():
    """With no session on either half, sessionId is absent rather than None."""
    item = _merge(
        parse_event(load_event("query_event_minimal")),
        parse_event(load_event("response_event_minimal")),
    )

    assert "sessionId" not in item


def test_derive_expires_at_from_query_anchor():
    """expiresAt is the query's epoch seconds plus ttl_days whole days."""
    item = {"queryTimestamp": 1698765432999, "responseTimestamp": 1698765499999}

    assert derive(item, ttl_days=14)["expiresAt"] == 1698765432 + 14 * 86_400


def test_derive_expires_at_from_response_without_query():
    """Without a query, expiresAt counts from the response's epoch seconds."""
    assert derive({"responseTimestamp": 1698765432100}, ttl_days=90)["expiresAt"] == (
        1698765432 + 90 * 86_400
    )


@given(
    arrivals=st.permutations(["q1", "q2", "r1", "r2"]),
    query_session=st.sampled_from([None, "", "from-query"]),
    response_session=st.sampled_from([None, "", "from-response"]),
    response_delay=st.integers(-86_400_000, 8 * 86_400_000),
)
def test_merge_any_order_matches_derive(arrivals, query_session, response_delay, response_session):
    """Whatever the order, sessions and delay, the stored record holds what derive says of its halves."""
    query = _query(sessionId=query_session, timestamp=SUNDAY_LAST_MOMENT_MS)
    response = _response(sessionId=response_session, timestamp=SUNDAY_LAST_MOMENT_MS + response_delay)
    events = {"q1": query, "q2": query, "r1": response, "r2": response}

    item = with_read_fields(_merge(*(events[name] for name in arrivals)))

    expected = {k: v for k, v in derive(item, ttl_days=TTL_DAYS).items() if v is not None}
    assert {k: item[k] for k in item if k in expected or k in DATING_ATTRIBUTES} == expected


def test_record_update_query_sets_dating_outright():
    """A query writes its half and the dating fields unconditionally."""
    update = record_update(_query(), ttl_days=TTL_DAYS)

    assert set(update.set) == set(QUERY_ATTRIBUTES) | set(DATING_ATTRIBUTES)
    assert update.set_if_absent == {}


def test_record_update_response_sets_dating_only_where_absent():
    """A response writes its half outright and the dating fields only where the record has none."""
    update = record_update(_response(), ttl_days=TTL_DAYS)

    assert set(update.set) == set(RESPONSE_ATTRIBUTES)
    assert set(update.set_if_absent) == set(DATING_ATTRIBUTES)


def test_record_update_removes_read_only_attributes():
    """Every update removes the status and latency that earlier versions stored."""
    assert record_update(_query(), ttl_days=TTL_DAYS).remove == READ_ONLY_ATTRIBUTES


def test_record_update_naming_an_attribute_twice_rejected():
    """An update may not both set and remove (or twice set) one attribute: DynamoDB refuses that."""
    with pytest.raises(ValueError, match="written twice"):
        RecordUpdate(request_id="r", set={"week": "2025-W47"}, set_if_absent={"week": "2025-W48"})


def test_record_update_undatable_timestamp_rejected():
    """A timestamp that gives no ISO week raises UndatableEvent, before anything is written."""
    event = _query().model_copy(update={"timestamp": 10**20})

    with pytest.raises(UndatableEvent, match="week cannot be derived"):
        record_update(event, ttl_days=TTL_DAYS)


def test_with_read_fields_ignores_stale_stored_status():
    """A stored status from an earlier version is replaced by the one the halves give."""
    stale = _merge(_query(), _response()) | {"status": "awaiting_response"}

    assert with_read_fields(stale)["status"] == "answered"


def test_derive_without_either_half_rejected():
    """A record with neither timestamp cannot be derived."""
    with pytest.raises(ValueError, match="a record needs a query or a response"):
        derive({"requestId": "orphan"}, ttl_days=90)


# --- who owns which attribute -----------------------------------------------------------------


def test_query_half_owns_exactly_query_attributes():
    """A query writes only the attributes listed as the query's."""
    assert tuple(query_half(_query())) == QUERY_ATTRIBUTES


def test_response_half_owns_exactly_response_attributes():
    """A response writes only the attributes listed as the response's."""
    assert tuple(response_half(_response())) == RESPONSE_ATTRIBUTES


def test_attribute_ownership_disjoint():
    """No half writes another's attributes, and nothing read-only is among them."""
    owners = [
        set(QUERY_ATTRIBUTES),
        set(RESPONSE_ATTRIBUTES),
        set(DATING_ATTRIBUTES),
        set(READ_ONLY_ATTRIBUTES),
    ]

    assert sum(len(owner) for owner in owners) == len(set().union(*owners))


# --- reading the record back ------------------------------------------------------------------


def test_analytics_record_from_item_answered():
    """A merged answered item reads back as the record the reporter expects, status and latency derived."""
    item = _merge(_response(), _query())

    assert AnalyticsRecord.from_item(item) == AnalyticsRecord(
        request_id="5b1f4c2e-9a7d-4e3b-8c61-2f0d9e7a4b35",
        week="2025-W47",
        timestamp=1763560992345,
        status=Status.ANSWERED,
        query="Have you led teams building C# microservices on Azure?",
        session_id="7c9e2b14-3f8a-4d6e-b5a0-1e2f3a4b5c6d",
        match_type="full",
        match_score=91,
        reasoning='Excellent match: "C#" with 0.91 similarity',
        vector_matches=5,
        sources_used=("C#", ".NET", "Azure", "Microservices"),
        latency_ms=1873,
        user_agent=load_event("query_event")["metadata"]["userAgent"],
        referer="https://cv.example.com/",
    )


def test_analytics_record_from_item_unanswered():
    """An unanswered item reads back with no match fields and an empty sourcesUsed."""
    record = AnalyticsRecord.from_item(_merge(parse_event(load_event("query_event_minimal"))))

    assert record == AnalyticsRecord(
        request_id="test-query-001",
        week="2023-W44",
        timestamp=1698765432000,
        status=Status.AWAITING_RESPONSE,
        query="Do you have Python experience?",
    )
    assert (record.has_query, record.answered) == (True, False)


def test_analytics_record_from_item_response_only_has_no_query():
    """A response-only item is a record without a query."""
    record = AnalyticsRecord.from_item(_merge(_response()))

    assert (record.status, record.has_query, record.answered) == (
        Status.AWAITING_QUERY,
        False,
        False,
    )


# --- storability: checked before the first write ----------------------------------------------

_WIDE = "\U0001f40d"  # four bytes in UTF-8: the worst case per character


def _largest_query() -> QueryEvent:
    return _query(
        query=_WIDE * MAX_QUERY_CHARS,
        sessionId=_WIDE * MAX_SESSION_ID_CHARS,
        metadata={"userAgent": _WIDE * MAX_HEADER_CHARS, "referer": _WIDE * MAX_HEADER_CHARS},
    )


def _largest_response() -> ResponseEvent:
    return _response(
        reasoning=_WIDE * MAX_REASONING_CHARS,
        sessionId=_WIDE * MAX_SESSION_ID_CHARS,
        metadata={"matchQuality": 0.5, "sourcesUsed": [_WIDE * 70] * MAX_SOURCES},
    )


def test_analytics_check_largest_halves_fit():
    """Query and response halves with every field at its limit pass the half-item check."""
    store = AnalyticsStore(client=None, table_name="unused")

    assert store.check(record_update(_largest_query(), ttl_days=TTL_DAYS)) <= MAX_HALF_BYTES
    assert store.check(record_update(_largest_response(), ttl_days=TTL_DAYS)) <= MAX_HALF_BYTES


def test_analytics_check_two_largest_halves_fit_one_item():
    """The two largest halves merged, derived fields included, stay under 400 KB."""
    merged = _merge(_largest_query(), _largest_response())

    assert item_size({name: to_attribute(value) for name, value in merged.items()}) < MAX_ITEM_BYTES


def test_raw_check_largest_event_fits():
    """The largest accepted event, stored verbatim with its keys, fits one raw item."""
    event = _largest_query()
    store = RawEventStore(client=None, table_name="unused", ttl_days=7)

    assert store.check(event=event, body=event.model_dump_json(exclude_none=True)) < MAX_ITEM_BYTES


def test_raw_check_body_over_item_limit_unstorable():
    """A raw body that would push the item over 400,000 bytes is refused before any write."""
    store = RawEventStore(client=None, table_name="unused", ttl_days=7)

    with pytest.raises(UnstorableItem, match="the limit is 400000"):
        store.check(event=_query(), body=" " * MAX_ITEM_BYTES)


def test_item_size_follows_dynamodb_rules():
    """Names and UTF-8 values count; lists and maps add 3 bytes plus 1 per element; numbers 21."""
    item = {
        "s": {"S": "é"},  # 1 + 2
        "n": {"N": "5"},  # 1 + 21
        "b": {"BOOL": True},  # 1 + 1
        "l": {"L": [{"S": "ab"}]},  # 1 + 3 + 1 + 2
        "m": {"M": {"k": {"NULL": True}}},  # 1 + 3 + 1 + 1 + 1
    }

    assert item_size(item) == 3 + 22 + 2 + 7 + 7
