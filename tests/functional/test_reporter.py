"""The reporter handler end to end on the emulator: records in, email read back out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.events import parse_event
from cv_analytics.mailbox import fetch_emails
from cv_analytics.runner.invokers import InProcessInvoker, InvocationError
from cv_analytics.weeks import IsoWeek
from cv_reporter.handler import lambda_handler
from tests.functional.support import query_event, response_event
from tests.helpers import load_event

WEEK = IsoWeek(2025, 47)
PREVIOUS = WEEK.previous()


def _ms(week: IsoWeek, *, hours: float) -> int:
    return int(week.start.timestamp() * 1000 + hours * 3_600_000)


def _store(stack) -> AnalyticsStore:
    return AnalyticsStore(client=aws_client("dynamodb"), table_name=stack.names.analytics_table, ttl_days=90)


def _seed(stack, week: IsoWeek, *, answered: int, unanswered: int, no_match: int = 0) -> None:
    store = _store(stack)
    for n in range(answered + unanswered):
        rid, asked = str(uuid.uuid4()), _ms(week, hours=10 + n)
        store.record(parse_event(query_event(rid, timestamp=asked, session=f"s-{n % 3}")))
        if n < answered:
            kind = "none" if n < no_match else "full"
            store.record(parse_event(response_event(rid, timestamp=asked + 1000 * (n + 1), match_type=kind)))


def _invoke(payload):
    return InProcessInvoker(name="reporter", handler=lambda_handler, timeout_seconds=60).invoke(payload)


def _mail_for(stack):
    return [m for m in fetch_emails(stack.endpoint) if stack.recipient in m.recipients]


def test_reporter_manual_week_sends_email_with_figures(stack):
    """A {"week"} run mails both bodies with the week's totals and last week's comparison."""
    _seed(stack, WEEK, answered=4, unanswered=2, no_match=1)
    _seed(stack, PREVIOUS, answered=2, unanswered=0)
    outcome = _invoke({"week": "2025-W47"})
    assert outcome["totalQueries"] == 6
    [email] = _mail_for(stack)
    assert email.subject == "CV Analytics Weekly Report - Week 2025-W47"
    assert email.sender == stack.sender
    assert "Queries:          6 / 2 / ▲ +4 (+200%)" in email.text
    assert "Answered:         4 / 2 / ▲ +2 (+100%)" in email.text
    assert "Unanswered queries:                  2" in email.text
    assert "Unique sessions:  3 / 2" in email.text
    assert "66.7%" in email.text and "66.7%" in email.html
    assert "<html" in email.html.lower()


def test_reporter_empty_week_says_so(stack):
    """A week without queries still mails, saying no queries were recorded."""
    _invoke({"week": "2025-W47"})
    [email] = _mail_for(stack)
    assert "No chatbot queries were recorded this week" in email.text
    assert "No chatbot queries were recorded this week" in email.html


def test_reporter_scheduled_event_reports_last_full_week(stack):
    """The Monday 07:00 scheduled event reports the Monday-to-Sunday week that just ended."""
    _seed(stack, IsoWeek(2025, 47), answered=1, unanswered=0)
    event = load_event("scheduled_event") | {"time": "2025-11-24T07:00:00Z"}
    outcome = _invoke(event)
    assert outcome["week"] == "2025-W47"
    assert outcome["totalQueries"] == 1


def test_reporter_invalid_week_fails_clearly(stack):
    """A malformed week is an error naming the expected format, and nothing is mailed."""
    with pytest.raises(InvocationError, match="YYYY-Www"):
        _invoke({"week": "2025-47"})
    assert _mail_for(stack) == []


def test_reporter_reads_week_through_index_not_scan(stack, monkeypatch):
    """Records are read with Query on the week index; a Scan would fail this test."""
    _seed(stack, WEEK, answered=1, unanswered=0)
    store = _store(stack)
    client = store._client
    monkeypatch.setattr(client, "scan", lambda **_: pytest.fail("reporter scanned the table"))
    assert len(store.records_for_week(WEEK)) == 1
    assert store.records_for_week(IsoWeek.of(datetime(2030, 1, 1, tzinfo=UTC))) == []
