"""The functions' CloudWatch metrics: the EMF lines each invocation prints to stdout."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cv_analytics.runner.invokers import LocalLambdaContext
from tests.support.events import load_event, query_event, response_event

QUERY_AT = 1_763_980_000_000


@pytest.fixture(autouse=True)
def _metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CvAnalyticsTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cv-analytics-processor")


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every EMF object printed: its namespace, dimensions and metrics (name -> values)."""
    found = []
    for line in text.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        names = [metric["Name"] for metric in directive["Metrics"]]
        found.append(
            {
                "namespace": directive["Namespace"],
                "dimensions": {name: blob[name] for name in directive["Dimensions"][0]},
                "metrics": {name: _values(blob[name]) for name in names},
            }
        )
    return found


def _values(value: Any) -> list[float]:
    """EMF holds one value or a list of them; Powertools writes lists."""
    return value if isinstance(value, list) else [value]


def _sqs_event(bodies: list[str]) -> dict[str, Any]:
    [template, _] = load_event("sqs_batch_query_response")["Records"]
    records = []
    for body in bodies:
        message_id = uuid.uuid4().hex
        attributes = template["attributes"] | {"MessageGroupId": "g", "MessageDeduplicationId": message_id}
        records.append(template | {"messageId": message_id, "body": body, "attributes": attributes})
    return {"Records": records}


def _invoke_processor(bodies: list[str]) -> dict[str, Any]:
    import cv_processor.handler as handler

    context = LocalLambdaContext(function_name="processor", timeout_seconds=30)
    result: dict[str, Any] = handler.lambda_handler(_sqs_event(bodies), context)
    return result


def test_processor_metrics_count_recorded_events_and_latency(stack, capsys):
    """A query and its response in one batch: two recorded, none parked or retried, one latency."""
    rid = str(uuid.uuid4())
    _invoke_processor(
        [
            json.dumps(query_event(rid, timestamp=QUERY_AT)),
            json.dumps(response_event(rid, timestamp=QUERY_AT + 850)),
        ]
    )
    [line] = emf_lines(capsys.readouterr().out)
    assert line == {
        "namespace": "CvAnalyticsTest",
        "dimensions": {"service": "cv-analytics-processor"},
        "metrics": {
            "EventsRecorded": [2.0],
            "EventsParked": [0.0],
            "MergeRetries": [0.0],
            "QueryResponseLatency": [850.0],
        },
    }


def test_processor_metrics_report_latency_once_per_record(stack, capsys):
    """A redelivered response does not report its record's latency again."""
    rid = str(uuid.uuid4())
    query, response = query_event(rid, timestamp=QUERY_AT), response_event(rid, timestamp=QUERY_AT + 40)
    _invoke_processor([json.dumps(response)])
    _invoke_processor([json.dumps(query)])
    _invoke_processor([json.dumps(response)])
    lines = emf_lines(capsys.readouterr().out)
    assert [line["metrics"].get("QueryResponseLatency") for line in lines] == [None, [40.0], None]


def test_processor_metrics_count_parked_events_by_reason(stack, capsys):
    """A message that is not JSON is counted as parked, in total and under its reason."""
    rid = str(uuid.uuid4())
    _invoke_processor(["this is not json", json.dumps(query_event(rid, timestamp=QUERY_AT))])
    total, by_reason = emf_lines(capsys.readouterr().out)
    assert total["metrics"] == {"EventsRecorded": [1.0], "EventsParked": [1.0], "MergeRetries": [0.0]}
    assert by_reason["dimensions"] == {"service": "cv-analytics-processor", "reason": "not-json"}
    assert by_reason["metrics"] == {"EventsParked": [1.0]}


class _FailingFor:
    """The real processor, except that messages naming ``marker`` fail as if DynamoDB were down."""

    def __init__(self, processor: Any, marker: str) -> None:
        self._processor, self._marker = processor, marker

    def process(self, message: Any) -> str:
        if self._marker in message.body:
            raise ConnectionError("DynamoDB unreachable")
        return str(self._processor.process(message))


def test_processor_metrics_count_messages_handed_back_for_retry(stack, capsys, monkeypatch):
    """A transient failure hands its message, and the rest of its group, back: each counts as a retry."""
    import cv_processor.handler as handler

    failing = _FailingFor(handler.message_processor(), "fail-")
    monkeypatch.setattr(handler, "message_processor", lambda: failing)
    ok, bad, later = str(uuid.uuid4()), f"fail-{uuid.uuid4()}", str(uuid.uuid4())
    result = _invoke_processor([json.dumps(query_event(rid, timestamp=QUERY_AT)) for rid in (ok, bad, later)])
    [line] = emf_lines(capsys.readouterr().out)
    assert len(result["batchItemFailures"]) == 2
    assert line["metrics"] == {"EventsRecorded": [1.0], "EventsParked": [0.0], "MergeRetries": [2.0]}


def _invoke_reporter(payload: dict[str, Any]) -> dict[str, Any]:
    from cv_reporter.handler import lambda_handler

    result: dict[str, Any] = lambda_handler(
        payload, LocalLambdaContext(function_name="reporter", timeout_seconds=60)
    )
    return result


def test_reporter_metrics_count_a_sent_report(stack, capsys, monkeypatch):
    """A run that mails the week's report emits ReportsSent 1; running it again emits 0."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cv-analytics-reporter")
    first = _invoke_reporter({"week": "2025-W47"})
    second = _invoke_reporter({"week": "2025-W47"})
    lines = emf_lines(capsys.readouterr().out)
    assert (first["status"], second["status"]) == ("sent", "already-sent")
    assert [line["metrics"] for line in lines] == [{"ReportsSent": [1.0]}, {"ReportsSent": [0.0]}]
    assert lines[0]["dimensions"] == {"service": "cv-analytics-reporter"}


def test_reporter_metrics_count_a_failed_run_as_no_report(stack, capsys):
    """A run that raises still emits ReportsSent 0, so the no-report alarm sees the week."""
    with pytest.raises(ValueError):
        _invoke_reporter({"week": "not-a-week"})
    assert [line["metrics"] for line in emf_lines(capsys.readouterr().out)] == [{"ReportsSent": [0.0]}]


def test_metrics_disabled_print_nothing(stack, capsys, monkeypatch):
    """POWERTOOLS_METRICS_DISABLED=true (what `cv-analytics up` sets) prints no EMF line."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _invoke_processor([json.dumps(query_event(str(uuid.uuid4()), timestamp=QUERY_AT))])
    assert emf_lines(capsys.readouterr().out) == []
