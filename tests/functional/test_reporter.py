"""The reporter handler end to end on the emulator: records in, email read back out."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import httpx
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from click.testing import CliRunner
from PIL import Image

import cv_analytics.aws.clients
import cv_reporter.handler
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore
from cv_analytics.aws.ses import Mailer, OutgoingEmail, SendOutcomeUnknown
from cv_analytics.events import parse_event
from cv_analytics.mailbox import fetch_emails, fetch_messages
from cv_analytics.records import record_update
from cv_analytics.runner.invokers import InProcessInvoker, InvocationError
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.main import main as cli
from cv_reporter import chart
from cv_reporter.handler import lambda_handler
from cv_reporter.send_log import SendLog, SendStatus
from tests.support.events import load_event, query_event, response_event

WEEK = IsoWeek(2025, 47)
PREVIOUS = WEEK.previous()


def _ms(week: IsoWeek, *, hours: float) -> int:
    return int(week.start.timestamp() * 1000 + hours * 3_600_000)


def _store(stack) -> AnalyticsStore:
    return AnalyticsStore(client=aws_client("dynamodb"), table_name=stack.names.analytics_table)


def _seed(stack, week: IsoWeek, *, answered: int, unanswered: int, no_match: int = 0) -> None:
    store = _store(stack)
    for n in range(answered + unanswered):
        rid, asked = str(uuid.uuid4()), _ms(week, hours=10 + n)
        query = parse_event(query_event(rid, timestamp=asked, session=f"s-{n % 3}"))
        store.write(record_update(query, ttl_days=90))
        if n < answered:
            kind = "none" if n < no_match else "full"
            response = parse_event(response_event(rid, timestamp=asked + 1000 * (n + 1), match_type=kind))
            store.write(record_update(response, ttl_days=90))


def _invoke(payload):
    return InProcessInvoker(name="reporter", handler=lambda_handler, timeout_seconds=60).invoke(payload)


def _mail_for(stack):
    return fetch_emails(stack.endpoint, recipient=stack.recipient)


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


def test_reporter_email_carries_per_day_chart_by_content_id(stack):
    """The email SES captured holds the per-day chart as a PNG in multipart/related, by cid."""
    _seed(stack, WEEK, answered=4, unanswered=2)
    _invoke({"week": "2025-W47"})
    [captured] = [m for m in fetch_messages(stack.endpoint) if stack.recipient in m.headline()[1]]
    message = message_from_bytes(captured.item["raw_data"].encode("utf-8"), policy=policy.default)
    _, related = message.iter_parts()
    html, image = related.iter_parts()
    assert related.get_content_type() == "multipart/related"
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html.get_content()
    with Image.open(io.BytesIO(image.get_content())) as png:
        assert png.size == (chart.WIDTH * chart.SCALE, chart.HEIGHT * chart.SCALE)


def test_reporter_email_lists_queries_per_day(stack):
    """The week read from DynamoDB is counted per day: all six seeded queries on the Monday."""
    _seed(stack, WEEK, answered=4, unanswered=2)
    _invoke({"week": "2025-W47"})
    [email] = _mail_for(stack)
    assert "  Mon 17 Nov:  6 / 4 / 66.7%\n" in email.text
    assert "  Tue 18 Nov:  0 / 0 / n/a\n" in email.text


def test_report_preview_file_shows_chart_in_a_browser(stack, tmp_path):
    """`report --preview` writes HTML whose chart is a data: URL, and sends nothing."""
    _seed(stack, WEEK, answered=1, unanswered=0)
    preview = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "--week", "2025-W47", "--preview", str(preview)])
    assert result.exit_code == 0, result.output
    html = preview.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html and "cid:" not in html
    assert _mail_for(stack) == []


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


# --- exactly one email per week -------------------------------------------------------


def _send_log(stack) -> SendLog:
    return SendLog(client=aws_client("dynamodb"), table_name=stack.names.reports_table, ttl_days=400)


def _fault_on_ses(monkeypatch, hook) -> None:
    """Every SES client the reporter builds (with its own config) calls ``hook`` before sending."""
    build = cv_analytics.aws.clients.aws_client

    def hooked(service, **kwargs):
        client = build(service, **kwargs)
        if service == "ses":
            client.meta.events.register("before-send.ses.SendRawEmail", hook)
        return client

    # The handler imports its client factory when it wires itself, so patch it at the source.
    monkeypatch.setattr(cv_analytics.aws.clients, "aws_client", hooked)
    cv_reporter.handler.use(None)


def _heal_ses(monkeypatch) -> None:
    """SES answers normally again (for runs after a fault)."""
    monkeypatch.setattr(cv_analytics.aws.clients, "aws_client", aws_client)
    cv_reporter.handler.use(None)


def _refuse(times: int, calls: list[int]):
    """SES answers with a definite error (throttled) ``times`` times, then lets requests through."""

    def hook(request, **_):
        calls.append(1)
        if len(calls) <= times:
            error = {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}
            raise ClientError(error, "SendRawEmail")

    return hook


def _lose_answer(request, **_):
    """The request reaches the emulator (the email is captured), the answer never comes back."""
    httpx.request(request.method, request.url, headers=dict(request.headers), content=request.body)
    raise ReadTimeoutError(endpoint_url=request.url)


def test_reporter_second_run_for_sent_week_sends_nothing(stack):
    """Reporting a week twice mails once; the second run says it was sent, and as which message."""
    first = _invoke({"week": "2025-W47"})
    second = _invoke({"week": "2025-W47"})
    assert len(_mail_for(stack)) == 1
    assert (first["status"], second["status"]) == ("sent", "already-sent")
    assert (second["messageId"], second["sentAt"]) == (first["messageId"], first["sentAt"])


def test_report_cli_twice_says_already_sent(stack):
    """`cv-analytics report --week W` twice: one email, then "already sent ... use --force"."""
    runner = CliRunner()
    first = runner.invoke(cli, ["report", "--week", "2025-W47"])
    second = runner.invoke(cli, ["report", "--week", "2025-W47"])
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert len(_mail_for(stack)) == 1
    message_id = _send_log(stack).get(WEEK).message_id
    assert f"as {message_id}" in first.output
    assert "2025-W47 already sent on " in second.output
    assert f"as {message_id}; use --force to send again" in second.output


def test_report_cli_force_sends_again(stack):
    """`report --week W --force` mails a sent week again and records the new message."""
    runner = CliRunner()
    runner.invoke(cli, ["report", "--week", "2025-W47"])
    forced = runner.invoke(cli, ["report", "--week", "2025-W47", "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(_mail_for(stack)) == 2
    record = _send_log(stack).get(WEEK)
    assert (record.status, record.sends) == (SendStatus.SENT, 2)
    assert f"as {record.message_id}" in forced.output


def test_reporter_force_payload_sends_again(stack):
    """{"week": W, "force": true} sends a sent week again, under a new MessageId."""
    first = _invoke({"week": "2025-W47"})
    forced = _invoke({"week": "2025-W47", "force": True})
    assert len(_mail_for(stack)) == 2
    assert forced["status"] == "sent" and forced["messageId"] != first["messageId"]
    assert _send_log(stack).get(WEEK).message_id == forced["messageId"]


def test_reporter_force_that_is_not_a_boolean_fails_clearly(stack):
    """A "force" that is not true/false is refused before anything is claimed or mailed."""
    with pytest.raises(InvocationError, match="force must be true or false"):
        _invoke({"week": "2025-W47", "force": "yes"})
    assert _mail_for(stack) == []
    assert _send_log(stack).get(WEEK) is None


def test_reporter_scheduled_event_delivered_twice_sends_one_email(stack):
    """EventBridge delivering the Monday event twice (same event) mails the week once."""
    event = load_event("scheduled_event") | {"time": "2025-11-24T07:00:00Z"}
    outcomes = [_invoke(event), _invoke(event)]
    assert [o["status"] for o in outcomes] == ["sent", "already-sent"]
    assert len(_mail_for(stack)) == 1


def test_reporter_ses_failing_twice_then_succeeding_sends_one_email(stack, monkeypatch):
    """Two definite SES errors each give the week back; the third run sends; a fourth sends nothing."""
    calls: list[int] = []
    _fault_on_ses(monkeypatch, _refuse(2, calls))
    statuses = []
    for _ in range(2):
        with pytest.raises(InvocationError, match="Throttling"):
            _invoke({"week": "2025-W47"})
        statuses.append(_send_log(stack).get(WEEK).status)
    assert statuses == [SendStatus.FAILED, SendStatus.FAILED]
    assert [_invoke({"week": "2025-W47"})["status"] for _ in range(2)] == ["sent", "already-sent"]
    assert len(calls) == 3, "SendRawEmail is attempted once per run, never retried by botocore"
    assert len(_mail_for(stack)) == 1


def test_reporter_ses_answer_lost_sends_once_and_records_unknown(stack, monkeypatch):
    """SES takes the email but the answer is lost: one email, the run fails, the week is "unknown"."""
    _fault_on_ses(monkeypatch, _lose_answer)
    with pytest.raises(InvocationError, match="ReportOutcomeUnknown"):
        _invoke({"week": "2025-W47"})
    assert len(_mail_for(stack)) == 1
    record = _send_log(stack).get(WEEK)
    assert record.status is SendStatus.UNKNOWN and record.message_id is None
    assert "ReadTimeoutError" in record.last_error


def test_reporter_unknown_outcome_blocks_automatic_resend(stack, monkeypatch):
    """After a lost answer, later runs (even with SES healthy) fail loudly and send nothing."""
    _fault_on_ses(monkeypatch, _lose_answer)
    with pytest.raises(InvocationError):
        _invoke({"week": "2025-W47"})
    _heal_ses(monkeypatch)
    with pytest.raises(InvocationError, match=r"unknown .*check the recipient's mailbox.*--force"):
        _invoke({"week": "2025-W47"})
    assert len(_mail_for(stack)) == 1


def test_reporter_force_after_unknown_outcome_sends_and_records(stack, monkeypatch):
    """Once someone has checked the mailbox, --force sends the unknown week and records it sent."""
    _fault_on_ses(monkeypatch, _lose_answer)
    with pytest.raises(InvocationError):
        _invoke({"week": "2025-W47"})
    _heal_ses(monkeypatch)
    forced = _invoke({"week": "2025-W47", "force": True})
    assert len(_mail_for(stack)) == 2
    assert _send_log(stack).get(WEEK).status is SendStatus.SENT
    assert forced["status"] == "sent"


def test_lost_answer_with_default_retries_would_send_five_emails(stack):
    """The fault is real: the kit's standard client (1 attempt + 4 retries) mails five times."""
    ses = aws_client("ses")
    ses.meta.events.register("before-send.ses.SendRawEmail", _lose_answer)
    email = OutgoingEmail(
        sender=stack.sender, recipient=stack.recipient, subject="s", html="<p>h</p>", text="t"
    )
    with pytest.raises(SendOutcomeUnknown):
        Mailer(client=ses).send(email)
    assert len(_mail_for(stack)) == 5


def test_reporter_run_that_died_before_sending_frees_the_week_after_its_lease(stack):
    """A claim left by a crashed run (lease over, no request sent) does not block the next run."""
    crashed_at = datetime.now(UTC) - timedelta(minutes=10)
    _send_log(stack).claim(WEEK, token="crashed", now=crashed_at, lease_seconds=120, force=False)
    assert _invoke({"week": "2025-W47"})["status"] == "sent"
    assert len(_mail_for(stack)) == 1


def test_reporter_run_that_died_while_sending_leaves_the_outcome_unknown(stack):
    """A claim whose request had gone out when its run died counts as unknown: nothing is resent."""
    crashed_at = datetime.now(UTC) - timedelta(minutes=10)
    log = _send_log(stack)
    log.claim(WEEK, token="crashed", now=crashed_at, lease_seconds=120, force=False)
    log.mark_attempt(WEEK, token="crashed", now=crashed_at)
    with pytest.raises(InvocationError, match="outcome of sending the 2025-W47 report is unknown"):
        _invoke({"week": "2025-W47"})
    assert _mail_for(stack) == []


def test_reporter_live_claim_of_another_run_sends_nothing(stack):
    """While another run holds the week (lease not over), a second run sends nothing and says so."""
    _send_log(stack).claim(WEEK, token="other", now=datetime.now(UTC), lease_seconds=120, force=False)
    outcome = _invoke({"week": "2025-W47", "force": True})
    assert outcome["status"] == "in-progress"
    assert _mail_for(stack) == []
