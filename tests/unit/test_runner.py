"""The runner: Lambda's SQS event source, EventBridge's schedule, and the two invokers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from cv_analytics.runner.invokers import (
    RIE_INVOKE_PATH,
    HttpInvoker,
    InProcessInvoker,
    InvocationError,
)
from cv_analytics.runner.schedule import (
    ScheduleSource,
    UnsupportedSchedule,
    next_fire_time,
    scheduled_event,
)
from cv_analytics.runner.sqs_source import failed_ids, sqs_record
from tests.support.events import load_event

WEEKLY = "cron(0 7 ? * MON *)"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/cv-analytics-weekly-report"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:cv-analytics-queue.fifo"
RIE_URL = "http://reporter:8080" + RIE_INVOKE_PATH


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# === sqs_source ===============================================================================


def _received(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The ReceiveMessage message that Lambda turned into ``record``."""
    message = {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "MD5OfBody": record["md5OfBody"],
        "Body": record["body"],
        "Attributes": dict(record["attributes"]),
    }
    return {**message, **changes}


def _records(*ids: str) -> list[dict[str, Any]]:
    return [{"messageId": message_id} for message_id in ids]


def test_sqs_record_matches_lambda_event():
    """A received FIFO message becomes exactly the record Lambda delivers for it."""
    expected = load_event("sqs_batch_query_response")["Records"][0]

    record = sqs_record(_received(expected), queue_arn=QUEUE_ARN, region="us-east-1")

    assert record == expected


def test_sqs_record_computes_md5_when_missing():
    """Without MD5OfBody the record carries the MD5 of the body, as SQS computes it."""
    expected = load_event("sqs_batch_query_response")["Records"][1]
    message = _received(expected)
    del message["MD5OfBody"]

    record = sqs_record(message, queue_arn=QUEUE_ARN, region="us-east-1")

    assert record["md5OfBody"] == expected["md5OfBody"] == "1a427d147423e504d149f42b267d2690"


def test_sqs_record_message_attributes_camel_cased():
    """Message attributes are re-spelled the way Lambda spells them."""
    expected = load_event("sqs_batch_query_response")["Records"][0]
    message = _received(
        expected, MessageAttributes={"origin": {"StringValue": "worker", "DataType": "String"}}
    )

    record = sqs_record(message, queue_arn=QUEUE_ARN, region="us-east-1")

    assert record["messageAttributes"] == {
        "origin": {
            "stringValue": "worker",
            "binaryValue": None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }


def test_sqs_record_without_attributes():
    """A message received without system attributes gets an empty attributes map."""
    expected = load_event("sqs_batch_query_response")["Records"][0]
    message = _received(expected)
    del message["Attributes"]

    assert sqs_record(message, queue_arn=QUEUE_ARN, region="us-east-1")["attributes"] == {}


def test_failed_ids_empty_report():
    """An empty batchItemFailures list means every message succeeded."""
    assert failed_ids({"batchItemFailures": []}, _records("m1", "m2")) == set()


def test_failed_ids_some_failures():
    """Reported identifiers are exactly the failed messages."""
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}

    assert failed_ids(response, _records("m1", "m2", "m3")) == {"m2", "m3"}


def test_failed_ids_unknown_identifier_fails_batch():
    """An identifier that is not in the batch fails the whole batch, as Lambda does."""
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "elsewhere"}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_missing_identifier_fails_batch():
    """A failure entry without itemIdentifier (a bad key name) fails the whole batch."""
    response = {"batchItemFailures": [{"messageId": "m2"}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_empty_identifier_fails_batch():
    """An empty-string itemIdentifier fails the whole batch."""
    response = {"batchItemFailures": [{"itemIdentifier": ""}]}

    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


def test_failed_ids_none_response():
    """A function that returns nothing succeeded for the whole batch."""
    assert failed_ids(None, _records("m1", "m2")) == set()


def test_failed_ids_dict_without_report():
    """A response without batchItemFailures reports no failures."""
    assert failed_ids({"statusCode": 200}, _records("m1")) == set()


@pytest.mark.parametrize("response", [["m1"], "m1", 0], ids=["list", "string", "number"])
def test_failed_ids_non_dict_response(response):
    """A response that is not an object is an unusable report, so the whole batch is retried."""
    assert failed_ids(response, _records("m1", "m2")) == {"m1", "m2"}


# === schedule: next_fire_time and the payload =================================================


def test_next_fire_time_weekly_from_sunday():
    """From Sunday noon the weekly rule next fires on Monday at 07:00 UTC."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 23, 12)) == _utc(2025, 11, 24, 7)


def test_next_fire_time_weekly_one_second_before():
    """From Monday 06:59:59 it fires one second later, the same morning."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 24, 6, 59, 59)) == _utc(2025, 11, 24, 7)


def test_next_fire_time_weekly_at_fire_time_is_next_week():
    """At Monday 07:00:00 exactly the next firing is strictly later: the following Monday."""
    assert next_fire_time(WEEKLY, after=_utc(2025, 11, 24, 7)) == _utc(2025, 12, 1, 7)


def test_next_fire_time_weekly_just_after_fire_time_is_next_week():
    """Half a second after 07:00:00 the next firing is the following Monday."""
    after = _utc(2025, 11, 24, 7, 0, 0, 500000)

    assert next_fire_time(WEEKLY, after=after) == _utc(2025, 12, 1, 7)


def test_next_fire_time_weekly_across_year_boundary():
    """From New Year's Eve 2026 the rule next fires on Monday 2027-01-04."""
    assert next_fire_time(WEEKLY, after=_utc(2026, 12, 31, 12)) == _utc(2027, 1, 4, 7)


def test_next_fire_time_evaluates_in_utc():
    """Monday 08:30 at UTC+02:00 is 06:30 UTC, so the rule still fires at 07:00 UTC that day."""
    after = datetime(2025, 11, 24, 8, 30, tzinfo=timezone(timedelta(hours=2)))

    fire = next_fire_time(WEEKLY, after=after)

    assert fire == _utc(2025, 11, 24, 7)
    assert fire.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("expression", "step"),
    [
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(2 days)", timedelta(days=2)),
    ],
)
def test_next_fire_time_rate(expression, step):
    """A rate expression fires one period after ``after``."""
    after = _utc(2025, 11, 24, 7, 3, 20)

    assert next_fire_time(expression, after=after) == after + step


def test_next_fire_time_zero_rate_rejected():
    """rate(0 minutes) never fires strictly after anything, so it is unsupported."""
    after = _utc(2025, 11, 24, 7)
    try:
        fire = next_fire_time("rate(0 minutes)", after=after)
    except UnsupportedSchedule:
        return
    assert fire > after


@pytest.mark.parametrize(
    "expression",
    ["at(2025-11-24T07:00:00)", "0 7 * * 1", "rate(5 weeks)", "rate(five minutes)", ""],
)
def test_next_fire_time_unsupported_expression_raises(expression):
    """An expression that is not an EventBridge rate() or cron() is refused."""
    with pytest.raises(UnsupportedSchedule, match="not an EventBridge schedule expression"):
        next_fire_time(expression, after=_utc(2025, 11, 24))


def test_scheduled_event_matches_eventbridge_payload():
    """The payload is EventBridge's Scheduled Event for the rule, apart from its random id."""
    expected = load_event("scheduled_event")

    event = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))

    assert {**event, "id": expected["id"]} == expected
    assert uuid.UUID(event["id"]).version == 4


def test_scheduled_event_account_and_region_from_arn():
    """Account and region come from the rule's ARN."""
    arn = "arn:aws:events:eu-west-2:000000000000:rule/other"

    event = scheduled_event(rule_arn=arn, fired_at=_utc(2025, 11, 24, 7))

    assert (event["account"], event["region"], event["resources"]) == (
        "000000000000",
        "eu-west-2",
        [arn],
    )


def test_scheduled_event_time_in_utc_whole_seconds():
    """The time is written in UTC with a Z and no fraction of a second."""
    fired_at = datetime(2025, 11, 24, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    assert scheduled_event(rule_arn=RULE_ARN, fired_at=fired_at)["time"] == "2025-11-24T07:00:00Z"


def test_scheduled_event_ids_unique():
    """Each firing gets its own event id."""
    first = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))
    second = scheduled_event(rule_arn=RULE_ARN, fired_at=_utc(2025, 11, 24, 7))

    assert first["id"] != second["id"]


# === schedule: ScheduleSource.run on a simulated clock =========================================


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class SimulatedStop(threading.Event):
    """A stop event whose waits pass simulated time instantly; it sets itself at ``until``."""

    def __init__(self, clock: FakeClock, *, until: datetime, max_waits: int = 10_000) -> None:
        super().__init__()
        self._clock = clock
        self._until = until
        self._waits_left = max_waits  # a broken loop ends the test instead of hanging it

    def wait(self, timeout: float | None = None) -> bool:
        self._clock.now += timedelta(seconds=timeout or 0)
        self._waits_left -= 1
        if self._clock.now >= self._until or self._waits_left == 0:
            self.set()
        return self.is_set()


class FakeEvents:
    """describe_rule for one rule whose state may depend on the simulated time."""

    def __init__(
        self, clock: FakeClock, state: str | Callable[[datetime], str], expression: str = WEEKLY
    ) -> None:
        self._clock = clock
        self._state = state
        self._expression = expression
        self.reads = 0

    def describe_rule(self, *, Name: str) -> dict[str, Any]:
        self.reads += 1
        state = self._state(self._clock()) if callable(self._state) else self._state
        return {
            "Name": Name,
            "Arn": f"arn:aws:events:us-east-1:123456789012:rule/{Name}",
            "ScheduleExpression": self._expression,
            "State": state,
        }


class RecordingInvoker:
    name = "reporter"

    def __init__(self, clock: FakeClock, *, failures: int = 0) -> None:
        self._clock = clock
        self._failures = failures
        self.calls: list[tuple[datetime, dict[str, Any]]] = []

    def invoke(self, payload: dict[str, Any]) -> Any:
        self.calls.append((self._clock(), payload))
        if len(self.calls) <= self._failures:
            raise InvocationError("reporter raised RuntimeError: SES throttled")
        return {"week": "2025-W47"}


def _run(
    *,
    start: datetime,
    until: datetime,
    state: str | Callable[[datetime], str] = "ENABLED",
    recheck_seconds: float = 60.0,
    failures: int = 0,
) -> tuple[RecordingInvoker, FakeEvents]:
    clock = FakeClock(start)
    events = FakeEvents(clock, state)
    invoker = RecordingInvoker(clock, failures=failures)
    source = ScheduleSource(
        events=events, rule_name="cv-analytics-weekly-report", invoker=invoker, clock=clock
    )
    source.run(SimulatedStop(clock, until=until), recheck_seconds=recheck_seconds)
    return invoker, events


def test_schedule_source_fires_once_at_due_time():
    """Running across Monday 07:00 fires the reporter once, at 07:00, with the rule's event."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6, 59, 58), until=_utc(2025, 11, 24, 7, 10))

    assert [fired_at for fired_at, _ in invoker.calls] == [_utc(2025, 11, 24, 7)]
    payload = invoker.calls[0][1]
    expected = load_event("scheduled_event")
    assert {**payload, "id": expected["id"]} == expected


def test_schedule_source_does_not_fire_before_due_time():
    """Stopping before 07:00 means the reporter is never called."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6), until=_utc(2025, 11, 24, 6, 59, 59))

    assert invoker.calls == []


def test_schedule_source_disabled_rule_never_fires():
    """While the rule is DISABLED, passing its fire time does not call the reporter."""
    invoker, _ = _run(start=_utc(2025, 11, 24, 6, 59), until=_utc(2025, 11, 24, 7, 10), state="DISABLED")

    assert invoker.calls == []


def test_schedule_source_disabled_rule_reread_every_recheck():
    """A disabled rule is re-read once per recheck_seconds (11 minutes / 60 s = 11 reads)."""
    _, events = _run(start=_utc(2025, 11, 24, 6, 59), until=_utc(2025, 11, 24, 7, 10), state="DISABLED")

    assert events.reads == 11


def test_schedule_source_rule_enabled_while_running_fires():
    """A rule enabled at 06:30 while the runner is up fires at 07:00 without a restart."""
    enabled_at = _utc(2025, 11, 24, 6, 30)

    invoker, _ = _run(
        start=_utc(2025, 11, 24, 6),
        until=_utc(2025, 11, 24, 7, 10),
        state=lambda now: "ENABLED" if now >= enabled_at else "DISABLED",
    )

    assert [fired_at for fired_at, _ in invoker.calls] == [_utc(2025, 11, 24, 7)]


def test_schedule_source_invocation_failure_not_fatal():
    """A failed report does not stop the schedule: the next week still fires."""
    invoker, _ = _run(
        start=_utc(2025, 11, 24, 6, 59),
        until=_utc(2025, 12, 1, 7, 10),
        recheck_seconds=3600.0,
        failures=1,
    )

    assert [fired_at for fired_at, _ in invoker.calls] == [
        _utc(2025, 11, 24, 7),
        _utc(2025, 12, 1, 7),
    ]


def test_schedule_source_stop_interrupts_wait():
    """Setting a real stop event ends run() at once, even in the middle of a 60 s recheck wait."""
    clock = FakeClock(_utc(2025, 11, 24))
    events = FakeEvents(clock, "DISABLED")
    source = ScheduleSource(
        events=events, rule_name="cv-analytics-weekly-report", invoker=RecordingInvoker(clock)
    )
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,), kwargs={"recheck_seconds": 60.0}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 2.0
    while events.reads == 0 and time.monotonic() < deadline:
        time.sleep(0.005)

    stop.set()
    thread.join(timeout=1.0)

    assert events.reads == 1
    assert not thread.is_alive()


# === invokers: in process ======================================================================


def test_in_process_invoker_passes_json_copy():
    """The handler gets an equal copy: mutating it leaves the caller's payload untouched."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append(event)
        event["Records"].append({"messageId": "injected"})

    payload = {"Records": [{"messageId": "m1"}]}
    InProcessInvoker(name="processor", handler=handler, timeout_seconds=30).invoke(payload)

    assert payload == {"Records": [{"messageId": "m1"}]}
    assert seen[0] is not payload


def test_in_process_invoker_payload_round_trips_through_json():
    """Values are what JSON makes of them (a tuple arrives as a list), as on Lambda."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append(event)

    InProcessInvoker(name="processor", handler=handler, timeout_seconds=30).invoke({"a": (1, 2)})

    assert seen == [{"a": [1, 2]}]


def test_in_process_invoker_returns_handler_result():
    """The handler's result comes back (as JSON would carry it)."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    invoker = InProcessInvoker(name="processor", handler=handler, timeout_seconds=30)

    assert invoker.invoke({"Records": []}) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}


def test_in_process_invoker_context_reports_remaining_time():
    """The context counts down from the function's timeout and names the function."""
    contexts: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        contexts.append((context.get_remaining_time_in_millis(), context))

    InProcessInvoker(name="reporter", handler=handler, timeout_seconds=30).invoke({})

    remaining, context = contexts[0]
    assert 29_000 < remaining <= 30_000
    assert context.function_name == "reporter"
    assert context.invoked_function_arn == "arn:aws:lambda:local:local:function:reporter"
    assert context.log_group_name == "/aws/lambda/reporter"


def test_in_process_invoker_wraps_handler_exception():
    """A handler exception becomes an InvocationError naming the function and the error."""
    boom = ValueError("table not found")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise boom

    invoker = InProcessInvoker(name="processor", handler=handler, timeout_seconds=30)

    with pytest.raises(InvocationError) as caught:
        invoker.invoke({})

    assert str(caught.value) == "processor raised ValueError: table not found"
    assert caught.value.__cause__ is boom


def test_in_process_invoker_unserialisable_result_raises_invocation_error():
    """A result JSON cannot carry is a function error (Lambda's Runtime.MarshalError)."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"sentAt": datetime(2025, 11, 24, 7, tzinfo=UTC)}

    invoker = InProcessInvoker(name="reporter", handler=handler, timeout_seconds=30)

    with pytest.raises(InvocationError):
        invoker.invoke({})


# === invokers: over the Runtime Interface Emulator ============================================


def _http_invoker(handler: Callable[[httpx.Request], httpx.Response], *, url: str = RIE_URL) -> HttpInvoker:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpInvoker(name="reporter", url=url, timeout_seconds=30, client=client)


@pytest.mark.parametrize(
    "url", ["http://reporter:8080", "http://reporter:8080/", RIE_URL], ids=["base", "slash", "full"]
)
def test_http_invoker_posts_payload_to_rie_path(url):
    """The payload is POSTed as JSON to the emulator's invoke path, whatever URL form is given."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"week": "2025-W47"})

    _http_invoker(handler, url=url).invoke({"week": "2025-W47"})

    (request,) = requests
    assert (request.method, str(request.url)) == ("POST", RIE_URL)
    assert json.loads(request.content) == {"week": "2025-W47"}


def test_http_invoker_returns_json_result():
    """The function's JSON result is returned decoded."""
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    invoker = _http_invoker(lambda request: httpx.Response(200, json=result))

    assert invoker.invoke({"Records": []}) == result


def test_http_invoker_null_result():
    """A function that returned None answers 'null', which comes back as None."""
    invoker = _http_invoker(lambda request: httpx.Response(200, content=b"null"))

    assert invoker.invoke({"Records": []}) is None


def test_http_invoker_error_document_raises():
    """The emulator's 200 with an error document is a function error."""
    document = {"errorMessage": "table not found", "errorType": "ResourceNotFoundException"}
    invoker = _http_invoker(lambda request: httpx.Response(200, json=document))

    with pytest.raises(InvocationError, match=r"reporter failed: .*table not found"):
        invoker.invoke({})


def test_http_invoker_function_error_header_raises():
    """X-Amz-Function-Error marks a function error even when the body looks ordinary."""
    invoker = _http_invoker(
        lambda request: httpx.Response(
            200, json={"message": "partial"}, headers={"X-Amz-Function-Error": "Unhandled"}
        )
    )

    with pytest.raises(InvocationError, match="reporter failed"):
        invoker.invoke({})


def test_http_invoker_http_500_raises():
    """An HTTP error status is an InvocationError quoting the status and body."""
    invoker = _http_invoker(lambda request: httpx.Response(500, text="emulator crashed"))

    with pytest.raises(InvocationError, match="reporter answered HTTP 500: emulator crashed"):
        invoker.invoke({})


def test_http_invoker_connection_error_raises():
    """An unreachable emulator is an InvocationError naming the URL."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(InvocationError, match=f"reporter unreachable at {RIE_URL}"):
        _http_invoker(refuse).invoke({})


def test_http_invoker_non_json_answer_raises_invocation_error():
    """A 200 that is not JSON (not an emulator at that URL) is an InvocationError."""
    invoker = _http_invoker(lambda request: httpx.Response(200, text="<html>nginx</html>"))

    with pytest.raises(InvocationError):
        invoker.invoke({})
