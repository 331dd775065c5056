"""The reporter with a real network fault in front of SES: its answers never come back.

Only SES goes through the fault proxy (``AWS_ENDPOINT_URL_SES``; DynamoDB is reached
directly), so what is under test is the send and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.config import Config

import cv_analytics.aws.ses
import cv_reporter.handler
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.ses import SEND_ONCE
from cv_analytics.mailbox import fetch_emails
from cv_analytics.runner.invokers import InProcessInvoker, InvocationError
from cv_analytics.testing.fault_proxy import FaultProxy, Mode
from cv_analytics.weeks import IsoWeek
from cv_reporter.handler import lambda_handler
from cv_reporter.send_log import SendLog, SendStatus
from tests.support.faults import proxy_for

WEEK = IsoWeek(2025, 47)


@pytest.fixture
def ses_proxy(stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The emulator behind a fault proxy, for SES only (every other service is reached directly)."""
    fault_proxy = proxy_for(stack.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", fault_proxy.url)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def reporter(ses_proxy, monkeypatch: pytest.MonkeyPatch) -> InProcessInvoker:
    """The reporter handler, its SES calls through ``ses_proxy`` with a 3 s read timeout."""
    # Only the wait changes (30 s in production); retries stay as shipped.
    # The handler imports SEND_ONCE when it wires itself, so patch it at the source.
    monkeypatch.setattr(cv_analytics.aws.ses, "SEND_ONCE", SEND_ONCE.merge(Config(read_timeout=3)))
    cv_reporter.handler.use(None)
    return InProcessInvoker(name="reporter", handler=lambda_handler, timeout_seconds=60)


def _mail_for(stack) -> list:
    return fetch_emails(stack.endpoint, recipient=stack.recipient)


def _record(stack):
    log = SendLog(client=aws_client("dynamodb"), table_name=stack.names.reports_table, ttl_days=400)
    return log.get(WEEK)


def test_reporter_ses_answers_dropped_sends_one_email(stack, ses_proxy, reporter):
    """SES takes the email, the answer is dropped: the run fails, one email exists, week "unknown"."""
    ses_proxy.mode = Mode.DROP_ANSWERS
    with pytest.raises(InvocationError, match="ReportOutcomeUnknown"):
        reporter.invoke({"week": str(WEEK)})
    assert len(_mail_for(stack)) == 1
    assert _record(stack).status is SendStatus.UNKNOWN


def test_reporter_after_dropped_answer_never_resends_on_its_own(stack, ses_proxy, reporter):
    """With the network healthy again, the next runs still send nothing until forced."""
    ses_proxy.mode = Mode.DROP_ANSWERS
    with pytest.raises(InvocationError):
        reporter.invoke({"week": str(WEEK)})
    ses_proxy.mode = Mode.PASS
    for _ in range(2):
        with pytest.raises(InvocationError, match="is unknown"):
            reporter.invoke({"week": str(WEEK)})
    assert len(_mail_for(stack)) == 1
    assert reporter.invoke({"week": str(WEEK), "force": True})["status"] == "sent"
    assert len(_mail_for(stack)) == 2
