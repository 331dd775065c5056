"""The streaming week reader: DynamoDB items decoded straight into the report's tallies."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from cv_analytics.aggregation import ComparisonTally, WeekTally, summarise_week
from cv_analytics.aws.dynamodb import from_item, to_attribute
from cv_analytics.aws.week_reader import (
    COMPARISON_ATTRIBUTES,
    WEEK_ATTRIBUTES,
    WeekReader,
    add_comparison_item,
    add_week_item,
    items_as_sent,
)
from cv_analytics.records import AnalyticsRecord, derive
from cv_analytics.resources import week_index
from cv_analytics.weeks import IsoWeek

WEEK = IsoWeek(2025, 47)
PREVIOUS_WEEK = WEEK.previous()
_DERIVED_ON_READ = ("status", "latencyMs", "sessionId")
_ANSWERED = {"queryTimestamp": {"N": "1000"}, "responseTimestamp": {"N": "1120"}}


def _item(week: IsoWeek, number: int, *, halves: dict[str, Any]) -> dict[str, Any]:
    """A record as the store writes it (halves plus derived fields), in low-level form."""
    plain = {"requestId": f"{week}-{number}", **halves, **derive(halves, ttl_days=90)}
    return {name: to_attribute(value) for name, value in plain.items() if value is not None}


def _halves(week: IsoWeek) -> st.SearchStrategy[dict[str, Any]]:
    start = int(week.start.timestamp() * 1000)
    moment = st.integers(start, start + 6 * 86_400_000)
    text = st.sampled_from(["Python?", " python?", "Go", "Rust ", "", "Straße"])
    query = st.fixed_dictionaries(
        {"queryTimestamp": moment},
        optional={"query": text, "querySessionId": st.sampled_from(["anonymous", "s1", "s2", ""])},
    )
    response = st.fixed_dictionaries(
        {"responseTimestamp": moment},
        optional={
            "responseSessionId": st.sampled_from(["s2", "s3"]),
            "matchType": st.sampled_from(["full", "partial", "none"]),
            "matchScore": st.integers(0, 100),
            "sourcesUsed": st.lists(text, min_size=1, max_size=3),
        },
    )
    both = st.tuples(query, response).map(lambda pair: pair[0] | pair[1])
    return st.one_of(query, response, both)


def _weeks() -> st.SearchStrategy[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    def items(week: IsoWeek) -> st.SearchStrategy[list[dict[str, Any]]]:
        return st.lists(_halves(week), max_size=25).map(
            lambda halves: [_item(week, number, halves=h) for number, h in enumerate(halves)]
        )

    return st.tuples(items(WEEK), items(PREVIOUS_WEEK))


def _materialised(current: list[dict[str, Any]], previous: list[dict[str, Any]]) -> Any:
    """Today's path: every attribute deserialised into AnalyticsRecords, then the lists summarised."""
    return summarise_week(
        week=WEEK,
        records=[AnalyticsRecord.from_item(from_item(item)) for item in current],
        previous=[AnalyticsRecord.from_item(from_item(item)) for item in previous],
    )


def _streamed(current: list[dict[str, Any]], previous: list[dict[str, Any]]) -> Any:
    """The reader's path: only the projected attributes, decoded into tallies."""
    tally, last = WeekTally(), ComparisonTally()
    for item in current:
        add_week_item(tally, {k: v for k, v in item.items() if k in WEEK_ATTRIBUTES})
    for item in previous:
        add_comparison_item(last, {k: v for k, v in item.items() if k in COMPARISON_ATTRIBUTES})
    return tally.summary(week=WEEK, previous=last)


@given(weeks=_weeks())
def test_add_items_projected_stream_equals_materialised_summary(weeks) -> None:
    """Projected items streamed into tallies give the summary the materialised records give."""
    current, previous = weeks

    assert _streamed(current, previous) == _materialised(current, previous)


@given(weeks=_weeks())
def test_add_items_without_derived_fields_derive_them_from_timestamps(weeks) -> None:
    """Records that no longer store status, latency or session give the same summary."""
    current, previous = weeks
    bare = [[{k: v for k, v in item.items() if k not in _DERIVED_ON_READ} for item in week] for week in weeks]

    assert _streamed(*bare) == _materialised(current, previous)


def test_add_week_item_status_follows_timestamps_not_a_stale_stored_status() -> None:
    """A record whose response landed but whose derived fields were not rewritten yet counts
    as answered, as records.derive will store it."""
    tally = WeekTally()
    stale = {"status": {"S": "awaiting_response"}, "queryTimestamp": {"N": "1000"}}
    add_week_item(tally, stale | {"responseTimestamp": {"N": "1400"}})
    summary = tally.summary(week=WEEK, previous=ComparisonTally())

    assert (summary.totals.answered, summary.totals.unanswered, summary.latency.p50) == (1, 0, 400)


def test_add_week_item_without_timestamps_raises() -> None:
    """A record with neither half cannot be counted and says so."""
    with pytest.raises(ValueError, match="neither a query nor a response"):
        add_week_item(WeekTally(), {"query": {"S": "Python?"}})


def test_add_week_item_skills_not_strings_raises() -> None:
    """A skill list holding something other than strings is rejected with the value shown."""
    item = _ANSWERED | {"sourcesUsed": {"L": [{"N": "1"}]}}

    with pytest.raises(ValueError, match="list of strings"):
        add_week_item(WeekTally(), item)


def test_add_week_item_decimal_score_truncates_like_the_record_path() -> None:
    """A non-integral score counts as its integer part, as AnalyticsRecord.from_item has it."""
    tally = WeekTally()
    add_week_item(tally, _ANSWERED | {"matchScore": {"N": "90.9"}})

    assert tally.summary(week=WEEK, previous=ComparisonTally()).average_match_score == 90


def test_add_week_item_string_set_of_skills_counts_each() -> None:
    """Skills stored as a string set (SS) count like a list."""
    tally = WeekTally()
    add_week_item(tally, _ANSWERED | {"sourcesUsed": {"SS": ["Go", "Rust"]}})
    summary = tally.summary(week=WEEK, previous=ComparisonTally())

    assert [(trend.skill, trend.count) for trend in summary.top_skills] == [("Go", 1), ("Rust", 1)]


def _query_request(week: IsoWeek, attributes: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    names = {f"#a{number}": name for number, name in enumerate(attributes)}
    return {
        "TableName": "analytics",
        "IndexName": week_index(),
        "KeyConditionExpression": "#week = :week",
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": {"#week": "week", **names},
        "ExpressionAttributeValues": {":week": {"S": str(week)}},
        **extra,
    }


def test_week_reader_queries_projected_pages_of_both_weeks() -> None:
    """The reader follows every page of the week with the report's projection, then reads
    last week with the smaller comparison projection: Queries only."""
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    answered = _ANSWERED | {"query": {"S": "Go?"}}
    more = {"Key": {"requestId": {"S": "r1"}}}
    with Stubber(client) as stub:
        stub.add_response(
            "query",
            {"Items": [answered], "LastEvaluatedKey": more["Key"]},
            _query_request(WEEK, WEEK_ATTRIBUTES),
        )
        stub.add_response(
            "query",
            {"Items": [answered]},
            _query_request(WEEK, WEEK_ATTRIBUTES, ExclusiveStartKey=more["Key"]),
        )
        stub.add_response(
            "query", {"Items": [answered]}, _query_request(PREVIOUS_WEEK, COMPARISON_ATTRIBUTES)
        )
        summary = WeekReader(client=client, table_name="analytics").summarise(WEEK)
        stub.assert_no_pending_responses()

    assert (summary.totals.answered, summary.changes.answered.previous, summary.latency.p50) == (2, 1, 120)


def _parsed(body: dict[str, Any], *, hook: bool, status_code: int = 200) -> dict[str, Any]:
    """A Query response parsed as botocore's endpoint does, with or without the hook first."""
    from botocore.parsers import create_parser

    shape = botocore.session.get_session().get_service_model("dynamodb").operation_model("Query").output_shape
    response = {"body": json.dumps(body).encode(), "headers": {}, "status_code": status_code}
    customized: dict[str, Any] = {}
    if hook:
        items_as_sent(response_dict=response, customized_response_dict=customized)
    return create_parser("json").parse(response, shape) | customized


def test_items_as_sent_gives_botocore_result_for_every_non_binary_type() -> None:
    """Items read by json.loads equal botocore's parse: strings, numbers, lists, maps, sets,
    booleans and nulls, with the paging key and counts still parsed by botocore."""
    item = {
        "query": {"S": "Straße?"},
        "matchScore": {"N": "90.5"},
        "sourcesUsed": {"L": [{"S": "Go"}, {"N": "1"}, {"NULL": True}]},
        "meta": {"M": {"ok": {"BOOL": False}, "tags": {"SS": ["a", "b"]}, "ids": {"NS": ["1", "2"]}}},
    }
    body = {"Items": [item, {"status": {"S": "answered"}}], "Count": 2, "ScannedCount": 2}
    body["LastEvaluatedKey"] = {"requestId": {"S": "r2"}}

    assert _parsed(body, hook=True) == _parsed(body, hook=False)


def test_items_as_sent_leaves_binary_values_to_botocore() -> None:
    """A response holding a binary value is parsed by botocore alone, which decodes it."""
    body = {"Items": [{"blob": {"B": "aGk="}}], "Count": 1, "ScannedCount": 1}

    assert _parsed(body, hook=True)["Items"] == [{"blob": {"B": b"hi"}}]


def test_items_as_sent_leaves_error_responses_alone() -> None:
    """An error response's body is not touched, so botocore reports the error as usual."""
    response = {"body": b'{"__type": "ValidationException", "Items": []}', "headers": {}, "status_code": 400}
    customized: dict[str, Any] = {}
    items_as_sent(response_dict=response, customized_response_dict=customized)

    assert (customized, response["body"]) == ({}, b'{"__type": "ValidationException", "Items": []}')
