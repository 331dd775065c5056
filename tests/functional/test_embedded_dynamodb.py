"""The embedded AWS with DynamoDB in a process of its own, and its lightened UpdateItem."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from cv_analytics.aws.clients import aws_client
from cv_analytics.embedded import EmbeddedAws
from tests.support.network import free_port

_KEY = {"AttributeName": "requestId", "AttributeType": "S"}


@pytest.fixture(scope="module")
def split_aws() -> Iterator[EmbeddedAws]:
    """One emulator for the module: DynamoDB on a port of its own, the rest on the main one."""
    aws = EmbeddedAws(port=free_port(), dynamodb_port=0)
    aws.start()
    yield aws
    aws.stop()


@pytest.fixture
def split_env(split_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> EmbeddedAws:
    """This process's boto3 pointed at the split emulator, as `up` exports it."""
    for name, value in split_aws.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return split_aws


def _table(name: str | None = None) -> str:
    name = name or f"t{uuid.uuid4().hex[:10]}"
    aws_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "requestId", "KeyType": "HASH"}],
        AttributeDefinitions=[_KEY],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _at(endpoint: str, service: str):
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(service, endpoint_url=endpoint)


def test_embedded_aws_split_tables_live_in_the_dynamodb_process(split_env):
    """GIVEN the split emulator's environment WHEN a table is created THEN DynamoDB's own
    process holds it."""
    name = _table()
    assert name in _at(split_env.dynamodb_endpoint, "dynamodb").list_tables()["TableNames"]


def test_embedded_aws_split_main_endpoint_refuses_dynamodb_naming_its_endpoint(split_env):
    """GIVEN the split emulator WHEN DynamoDB is asked at the main endpoint THEN it refuses,
    naming the variable and endpoint to use."""
    with pytest.raises(ClientError) as refused:
        _at(split_env.endpoint, "dynamodb").list_tables()
    error = refused.value.response["Error"]
    assert error["Code"] == "WrongEndpointException"
    assert f"AWS_ENDPOINT_URL_DYNAMODB={split_env.dynamodb_endpoint}" in error["Message"]


def test_embedded_aws_split_other_services_stay_on_the_main_endpoint(split_env):
    """GIVEN the split emulator WHEN SQS is used through the environment THEN the main process
    answers it."""
    url = aws_client("sqs").create_queue(QueueName=f"q{uuid.uuid4().hex[:10]}")["QueueUrl"]
    assert url in _at(split_env.endpoint, "sqs").list_queues().get("QueueUrls", [])


def test_embedded_aws_split_environment_names_both_endpoints(split_aws):
    """The exported environment points boto3 at both processes."""
    environment = split_aws.environment()
    assert environment["AWS_ENDPOINT_URL"] == split_aws.endpoint
    assert environment["AWS_ENDPOINT_URL_DYNAMODB"] == split_aws.dynamodb_endpoint
    assert split_aws.dynamodb_endpoint != split_aws.endpoint


def test_embedded_aws_single_export_drops_a_stale_dynamodb_endpoint(monkeypatch):
    """GIVEN a DynamoDB endpoint left in the environment WHEN a single-process emulator is
    exported THEN the variable is removed, so DynamoDB goes where everything else goes."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    EmbeddedAws(port=free_port()).export_environment()
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in os.environ


def test_embedded_aws_split_stop_ends_both_children():
    """GIVEN a split emulator WHEN stop() returns THEN both child processes have exited."""
    aws = EmbeddedAws(port=free_port(), dynamodb_port=0)
    aws.start()
    processes = list(aws._processes)
    aws.stop()
    assert len(processes) == 2 and all(process.poll() is not None for process in processes)
    assert aws.pids == []


def _update(name: str, request_id: str, *, query: str, week: str) -> None:
    aws_client("dynamodb").update_item(
        TableName=name,
        Key={"requestId": {"S": request_id}},
        UpdateExpression="SET #q = :q, #w = if_not_exists(#w, :w)",
        ExpressionAttributeNames={"#q": "query", "#w": "week"},
        ExpressionAttributeValues={":q": {"S": query}, ":w": {"S": week}},
    )


def test_lightened_update_item_repeated_expression_keeps_if_not_exists(split_env):
    """GIVEN one expression used again (its shape checks skipped) WHEN it updates an item
    THEN SET overwrites and if_not_exists keeps the first value, as DynamoDB does."""
    name = _table()
    _update(name, "r-1", query="first", week="2025-W47")
    _update(name, "r-1", query="second", week="2025-W48")
    _update(name, "r-2", query="other", week="2025-W49")
    client = aws_client("dynamodb")
    item = client.get_item(TableName=name, Key={"requestId": {"S": "r-1"}})["Item"]
    assert item["query"] == {"S": "second"} and item["week"] == {"S": "2025-W47"}
    assert client.get_item(TableName=name, Key={"requestId": {"S": "r-2"}})["Item"]["week"] == {
        "S": "2025-W49"
    }


def test_lightened_update_item_same_text_with_overlapping_names_is_refused(split_env):
    """GIVEN an expression that passed its shape checks WHEN the same text comes with names
    that set one attribute twice THEN it is refused, as moto refuses it unlightened."""
    name = _table()
    _update(name, "r-1", query="first", week="2025-W47")
    with pytest.raises(ClientError) as refused:
        aws_client("dynamodb").update_item(
            TableName=name,
            Key={"requestId": {"S": "r-1"}},
            UpdateExpression="SET #q = :q, #w = if_not_exists(#w, :w)",
            ExpressionAttributeNames={"#q": "query", "#w": "query"},
            ExpressionAttributeValues={":q": {"S": "x"}, ":w": {"S": "y"}},
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_lightened_update_item_key_attribute_is_refused_every_time(split_env):
    """GIVEN an expression that sets the key WHEN it is sent twice THEN both are refused."""
    name = _table()
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            aws_client("dynamodb").update_item(
                TableName=name,
                Key={"requestId": {"S": "r-1"}},
                UpdateExpression="SET #k = :k",
                ExpressionAttributeNames={"#k": "requestId"},
                ExpressionAttributeValues={":k": {"S": "r-2"}},
            )
        assert refused.value.response["Error"]["Code"] == "ValidationException"


_PIPELINE_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "SENDER_EMAIL",
    "RECIPIENT_EMAIL",
    "INGEST_OUTBOX_PATH",
    "INGEST_API_KEYS",
)


def test_local_pipeline_embedded_puts_its_tables_in_the_dynamodb_process(monkeypatch):
    """GIVEN no AWS_ENDPOINT_URL WHEN the local pipeline starts THEN its tables are in
    DynamoDB's own emulator process, which the environment names for every client."""
    import cv_processor.handler
    import cv_reporter.handler
    from cv_analytics_cli.local import LocalPipeline

    for name in _PIPELINE_VARIABLES:  # set first, so that teardown restores each one
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    dynamodb_port = free_port()
    pipeline = LocalPipeline(
        api_port=free_port(), aws_port=free_port(), dynamodb_port=dynamodb_port, schedule=False
    )
    try:
        pipeline.start()
        assert pipeline.dynamodb_endpoint == f"http://127.0.0.1:{dynamodb_port}"
        tables = _at(pipeline.dynamodb_endpoint, "dynamodb").list_tables()["TableNames"]
        assert pipeline.resources.analytics_table in tables
    finally:
        pipeline.stop()
        cv_processor.handler.use(None)
        cv_reporter.handler.use(None)


def _typed_items(name: str, client) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "requestId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            _KEY,
            {"AttributeName": "week", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "week-index",
                "KeySchema": [{"AttributeName": "week", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {  # a numeric sort key whose order as text differs (9 < 10 < 100; ties broken by requestId)
                "IndexName": "week-ts-index",
                "KeySchema": [
                    {"AttributeName": "week", "KeyType": "HASH"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(30):
        item = {
            "requestId": {"S": f"r-{n:02d}"},
            "week": {"S": "2025-W47"},
            "ts": {"N": str([9, 10, 100, -3, 2.5][n % 5] * (n // 5 + 1))},
            "score": {"N": str(n * 1.5)},
            "payload": {"B": bytes([n, 0, 255])},
            "tags": {"SS": ["a", f"t{n}"]},
            "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "2"}, {"BOOL": n % 2 == 0}, {"NULL": True}]}}},
            "text": {"S": "é" * (n + 1)},
        }
        client.put_item(TableName=name, Item=item)


def _unordered_sets(items: list[dict]) -> list[dict]:
    """Items with their sets (SS, NS, BS) sorted: DynamoDB sets have no order."""
    return [
        {name: {kind: sorted(value)} if kind in ("SS", "NS", "BS") else {kind: value}
         for name, typed in item.items() for kind, value in typed.items()}
        for item in items
    ]  # fmt: skip


QUERIES = {
    "top-level names, week index": {
        "IndexName": "week-index",
        "ProjectionExpression": "requestId, score, payload, tags, nested, #t, absent",
    },
    "numeric sort key, forwards": {"IndexName": "week-ts-index", "ProjectionExpression": "requestId, ts"},
    "numeric sort key, backwards": {
        "IndexName": "week-ts-index",
        "ProjectionExpression": "requestId, ts, #t",
        "ScanIndexForward": False,
    },
    "nested paths (moto's own projection)": {
        "IndexName": "week-index",
        "ProjectionExpression": "requestId, nested.list[0], tags",
    },
    "no projection": {"IndexName": "week-ts-index"},
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_lightened_query_answers_as_moto_does(split_aws, query):
    """GIVEN items of every attribute type WHEN they are queried page by page from the kit's
    emulator and from moto as released THEN both give the same pages (sets in any order)."""
    plain = EmbeddedAws(port=free_port(), plain_dynamodb=True)
    plain.start()
    try:
        pages = []
        for endpoint in (split_aws.dynamodb_endpoint, plain.endpoint):
            client = _at(endpoint, "dynamodb")
            name = f"t{uuid.uuid4().hex[:10]}"
            _typed_items(name, client)
            names = {"#w": "week"} | ({"#t": "text"} if "#t" in query.get("ProjectionExpression", "") else {})
            paginated = client.get_paginator("query").paginate(
                TableName=name,
                KeyConditionExpression="#w = :w",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":w": {"S": "2025-W47"}},
                PaginationConfig={"PageSize": 7},
                **query,
            )
            pages.append([(_unordered_sets(page["Items"]), page["Count"]) for page in paginated])
        lightened, released = pages
        assert lightened == released and sum(count for _, count in lightened) == 30
    finally:
        plain.stop()
