"""WeeklyReporter's policy (claim, render, send once, record) against in-memory stand-ins.

The stand-ins keep the contracts of the real adapters: ``InMemorySendLog`` applies the same
claim conditions as ``cv_reporter.send_log.SendLog`` (a free week, or with ``force`` any
week no live run is sending) and every later write only while the claim's token holds.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from cv_analytics.aggregation import WeeklySummary, summarise_week
from cv_analytics.aws.ses import OutgoingEmail, SendOutcomeUnknown
from cv_analytics.records import Status
from cv_analytics.weeks import IsoWeek
from cv_reporter.reporting import ReportOutcomeUnknown, ReportStatus, WeeklyReporter
from cv_reporter.send_log import SendRecord, SendStatus, WeekTaken
from tests.support.events import make_record

WEEK = IsoWeek(2025, 47)
NOW = datetime(2025, 11, 24, 7, 0, tzinfo=UTC)
LEASE_SECONDS = 120


class Summaries:
    """A week of two queries, one unanswered."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def summarise(self, week: IsoWeek) -> WeeklySummary:
        if self.error is not None:
            raise self.error
        records = [
            make_record(status=Status.ANSWERED, week=week, query="Python?"),
            make_record(status=Status.AWAITING_RESPONSE, week=week, query="Rust?"),
        ]
        return summarise_week(week=week, records=records, previous=[])


class Mailbox:
    """Takes each email and answers with a MessageId, or raises ``error``."""

    def __init__(self, error: Exception | None = None, *, log: InMemorySendLog | None = None) -> None:
        self.sent: list[OutgoingEmail] = []
        self.error = error
        self.attempt_recorded: list[bool] = []
        self._log = log

    def send(self, email: OutgoingEmail) -> str:
        if self._log is not None:
            record = self._log.get(WEEK)
            self.attempt_recorded.append(record is not None and record.attempt_started_at is not None)
        if self.error is not None:
            raise self.error
        self.sent.append(email)
        return f"message-{len(self.sent)}"


class InMemorySendLog:
    def __init__(self) -> None:
        self.records: dict[str, SendRecord] = {}
        self.tokens: dict[str, str] = {}

    def claim(
        self, week: IsoWeek, *, token: str, now: datetime, lease_seconds: int, force: bool
    ) -> SendRecord | None:
        previous = self.records.get(str(week))
        if previous is not None and not self._claimable(previous, now=now, force=force):
            raise WeekTaken(str(week))
        lease = int(now.timestamp()) + lease_seconds
        base = previous or SendRecord(week=str(week), status=SendStatus.SENDING)
        self.records[str(week)] = dataclasses.replace(
            base, status=SendStatus.SENDING, lease_expires_at=lease, attempt_started_at=None, last_error=None
        )
        self.tokens[str(week)] = token
        return previous

    @staticmethod
    def _claimable(record: SendRecord, *, now: datetime, force: bool) -> bool:
        expired = record.lease_expires_at is not None and record.lease_expires_at < now.timestamp()
        if force:
            return record.status is not SendStatus.SENDING or expired
        died_unsent = record.status is SendStatus.SENDING and expired and not record.attempt_started_at
        return record.status is SendStatus.FAILED or died_unsent

    def get(self, week: IsoWeek) -> SendRecord | None:
        return self.records.get(str(week))

    def mark_attempt(self, week: IsoWeek, *, token: str, now: datetime) -> None:
        self._update(week, token, attempt_started_at=now.isoformat())

    def mark_sent(self, week: IsoWeek, *, token: str, message_id: str, now: datetime) -> None:
        sends = self.records[str(week)].sends + 1
        self._update(
            week, token, status=SendStatus.SENT, message_id=message_id, sent_at=now.isoformat(), sends=sends
        )

    def mark_unknown(self, week: IsoWeek, *, token: str, reason: str) -> None:
        self._update(week, token, status=SendStatus.UNKNOWN, last_error=reason)

    def release(self, week: IsoWeek, *, token: str, restore: SendStatus, reason: str) -> None:
        self._update(week, token, status=restore, last_error=reason)

    def _update(self, week: IsoWeek, token: str, **changes: object) -> None:
        if self.tokens.get(str(week)) != token:
            raise AssertionError(f"write to {week} without its claim")
        self.records[str(week)] = dataclasses.replace(self.records[str(week)], **changes)


def _reporter(
    *, summaries: Summaries | None = None, mailbox: Mailbox | None = None, log: InMemorySendLog | None = None
) -> WeeklyReporter:
    return WeeklyReporter(
        records=summaries or Summaries(),
        mailer=mailbox or Mailbox(),
        send_log=log or InMemorySendLog(),
        sender="reports@example.com",
        recipient="owner@example.com",
        lease_seconds=LEASE_SECONDS,
        clock=lambda: NOW,
    )


def test_weekly_reporter_sends_the_week_once_to_the_recipient() -> None:
    """A free week is rendered, mailed from sender to recipient, and reported as sent."""
    mailbox = Mailbox()
    outcome = _reporter(mailbox=mailbox).send(WEEK)
    [email] = mailbox.sent
    assert (email.sender, email.recipient, email.subject) == (
        "reports@example.com",
        "owner@example.com",
        outcome.subject,
    )
    assert (outcome.status, outcome.total_queries, outcome.message_id) == (ReportStatus.SENT, 2, "message-1")


def test_weekly_reporter_records_the_message_id_as_sent() -> None:
    """After a send the week's record is SENT with SES's MessageId and the send time."""
    log = InMemorySendLog()
    _reporter(log=log).send(WEEK)
    record = log.get(WEEK)
    assert record is not None
    assert (record.status, record.message_id, record.sent_at, record.sends) == (
        SendStatus.SENT,
        "message-1",
        NOW.isoformat(),
        1,
    )


def test_weekly_reporter_notes_the_attempt_before_sending() -> None:
    """The attempt is on record before the email goes out, so a crash mid-send reads as unknown."""
    log = InMemorySendLog()
    mailbox = Mailbox(log=log)
    _reporter(mailbox=mailbox, log=log).send(WEEK)
    assert mailbox.attempt_recorded == [True]


def test_weekly_reporter_sent_week_is_not_sent_again() -> None:
    """A second run for a sent week answers already-sent and mails nothing."""
    mailbox, log = Mailbox(), InMemorySendLog()
    _reporter(mailbox=mailbox, log=log).send(WEEK)
    again = _reporter(mailbox=mailbox, log=log).send(WEEK)
    assert (again.status, again.message_id, again.sent_at) == (
        ReportStatus.ALREADY_SENT,
        "message-1",
        NOW.isoformat(),
    )
    assert len(mailbox.sent) == 1


def test_weekly_reporter_force_sends_a_sent_week_again() -> None:
    """``force`` mails a sent week once more and counts the second send."""
    mailbox, log = Mailbox(), InMemorySendLog()
    _reporter(mailbox=mailbox, log=log).send(WEEK)
    outcome = _reporter(mailbox=mailbox, log=log).send(WEEK, force=True)
    assert (outcome.status, outcome.message_id, len(mailbox.sent)) == (ReportStatus.SENT, "message-2", 2)
    assert log.records[str(WEEK)].sends == 2


def test_weekly_reporter_lost_answer_raises_and_marks_unknown() -> None:
    """SES may have taken the email unanswered: the run raises and the week is UNKNOWN."""
    log = InMemorySendLog()
    with pytest.raises(ReportOutcomeUnknown, match="--force"):
        _reporter(mailbox=Mailbox(SendOutcomeUnknown("read timeout")), log=log).send(WEEK)
    record = log.get(WEEK)
    assert record is not None and record.status is SendStatus.UNKNOWN
    assert record.last_error == "read timeout"


def test_weekly_reporter_unknown_week_is_not_resent_without_force() -> None:
    """After an unknown outcome, a later run raises again and mails nothing."""
    log, mailbox = InMemorySendLog(), Mailbox()
    with pytest.raises(ReportOutcomeUnknown):
        _reporter(mailbox=Mailbox(SendOutcomeUnknown("read timeout")), log=log).send(WEEK)
    with pytest.raises(ReportOutcomeUnknown, match="read timeout"):
        _reporter(mailbox=mailbox, log=log).send(WEEK)
    assert mailbox.sent == []


def test_weekly_reporter_refused_send_frees_the_week() -> None:
    """A definite refusal re-raises and leaves the week FAILED, so the next run sends it."""
    log, mailbox = InMemorySendLog(), Mailbox()
    with pytest.raises(ConnectionRefusedError):
        _reporter(mailbox=Mailbox(ConnectionRefusedError("refused")), log=log).send(WEEK)
    record = log.get(WEEK)
    assert record is not None and record.status is SendStatus.FAILED
    assert _reporter(mailbox=mailbox, log=log).send(WEEK).status is ReportStatus.SENT


def test_weekly_reporter_failed_render_frees_the_week_unsent() -> None:
    """When the figures cannot be read nothing is mailed and the week is FAILED, with the reason."""
    log, mailbox = InMemorySendLog(), Mailbox()
    with pytest.raises(TimeoutError):
        _reporter(summaries=Summaries(TimeoutError("query timed out")), mailbox=mailbox, log=log).send(WEEK)
    record = log.get(WEEK)
    assert record is not None and record.status is SendStatus.FAILED
    assert record.last_error == "TimeoutError: query timed out" and mailbox.sent == []


def test_weekly_reporter_refused_forced_resend_keeps_the_week_sent() -> None:
    """A forced resend SES refuses gives the week back as SENT, with its first MessageId."""
    log = InMemorySendLog()
    _reporter(log=log).send(WEEK)
    with pytest.raises(ConnectionRefusedError):
        _reporter(mailbox=Mailbox(ConnectionRefusedError("refused")), log=log).send(WEEK, force=True)
    record = log.get(WEEK)
    assert record is not None and (record.status, record.message_id) == (SendStatus.SENT, "message-1")


def test_weekly_reporter_week_held_by_a_live_run_is_in_progress() -> None:
    """A week another run is sending (lease not expired) answers in-progress and mails nothing."""
    log, mailbox = InMemorySendLog(), Mailbox()
    log.claim(WEEK, token="other-run", now=NOW, lease_seconds=LEASE_SECONDS, force=False)
    outcome = _reporter(mailbox=mailbox, log=log).send(WEEK, force=True)
    assert outcome.status is ReportStatus.IN_PROGRESS and mailbox.sent == []


def test_weekly_reporter_run_that_died_while_sending_is_unknown() -> None:
    """A run whose lease ran out after its request went out leaves the week unknown: no resend."""
    log, mailbox = InMemorySendLog(), Mailbox()
    earlier = NOW - timedelta(seconds=LEASE_SECONDS + 1)
    log.claim(WEEK, token="dead-run", now=earlier, lease_seconds=LEASE_SECONDS, force=False)
    log.mark_attempt(WEEK, token="dead-run", now=earlier)
    with pytest.raises(ReportOutcomeUnknown):
        _reporter(mailbox=mailbox, log=log).send(WEEK)
    assert mailbox.sent == []


def test_weekly_reporter_run_that_died_before_sending_frees_the_week() -> None:
    """A run whose lease ran out before any request went out does not block the next one."""
    log = InMemorySendLog()
    earlier = NOW - timedelta(seconds=LEASE_SECONDS + 1)
    log.claim(WEEK, token="dead-run", now=earlier, lease_seconds=LEASE_SECONDS, force=False)
    assert _reporter(log=log).send(WEEK).status is ReportStatus.SENT
