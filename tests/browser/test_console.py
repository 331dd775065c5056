"""The console in a real browser: what a person sees and clicks, against the running local pipeline."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from cv_analytics import demo
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.local import LocalPipeline
from tests.browser.conftest import OUTPUT_DIR, SCREENSHOT
from tests.support.events import query_event, response_event
from tests.support.stack import queue_depth, send_raw

pytestmark = pytest.mark.requires_browser

THIS_WEEK = IsoWeek.of(datetime.now(UTC))
LAST_WEEK = IsoWeek.last_full_week_before(datetime.now(UTC))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _send_week(pipeline: LocalPipeline, *, week: IsoWeek, queries: int, seed: int = 3) -> demo.DemoTraffic:
    """A week of demo traffic through the ingest API, processed to the end."""
    traffic = demo.generate_week(week=week, queries=queries, seed=seed)
    assert demo.send(traffic.events, api_url=pipeline.api_url) == len(traffic.events)
    pipeline.wait_until_drained(timeout=120)
    return traffic


def _report_heading(page: Page, week: IsoWeek) -> None:
    expect(page.locator("#report-title")).to_contain_text(f"Weekly report: {week}")


def test_console_health_panel_shows_queue_dlq_outbox_and_runner(page: Page, console_url, pipeline, stack):
    """The health panel shows the queue, the DLQ with its reasons, the outbox and the runner's last poll."""
    send_raw(stack, "{not an event")
    pipeline.wait_until_drained(timeout=60)

    page.goto(console_url)

    health = page.locator("#health")
    expect(health.get_by_test_id("queue-depth")).to_have_text("0")
    expect(health.get_by_test_id("in-flight")).to_have_text("0")
    expect(health.get_by_test_id("dlq-count")).to_have_text("1")
    expect(health.locator(".reasons")).to_contain_text("not-json × 1")
    expect(health.get_by_test_id("outbox-pending")).to_have_text("0")
    expect(health.get_by_test_id("runner-last-poll")).to_have_text(re.compile(r"^\d+ s ago$"))
    expect(health.get_by_test_id("health-state")).to_contain_text("Needs a look")


def test_console_feed_shows_new_request_without_reload(page: Page, console_url, pipeline):
    """A request sent with the page open shows in the feed, answered, and in the counters: no reload."""
    page.goto(console_url)
    expect(page.get_by_test_id("feed-empty")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    request_id, asked = str(uuid.uuid4()), _now_ms()

    events = [
        query_event(request_id, timestamp=asked, query="Have you shipped Kubernetes operators?"),
        response_event(request_id, timestamp=asked + 420, match_type="partial", score=64),
    ]
    assert demo.send(events, api_url=pipeline.api_url) == 2

    cells = page.locator(f'#feed tr[data-request-id="{request_id}"] td')
    expect(cells.nth(1)).to_have_text("Have you shipped Kubernetes operators?")
    expect(cells.nth(2)).to_have_text("answered")
    expect(cells.nth(3)).to_have_text("partial")
    expect(cells.nth(4)).to_have_text("64")
    expect(cells.nth(5)).to_have_text("420 ms")
    counters = page.locator("#metrics")
    expect(counters).to_be_visible()
    expect(counters.get_by_test_id("ingest-accepted")).to_have_text("2")
    expect(counters.get_by_test_id("ingest-rejected")).to_have_text("0")
    expect(counters.get_by_test_id("processor-deleted")).to_have_text("2")
    assert page.evaluate("window.sameDocument") is True


def test_console_chart_has_a_bar_per_day_with_the_week_counts(page: Page, console_url, pipeline, stack):
    """The chosen week's chart has seven days whose query counts add up to the report's total."""
    traffic = _send_week(pipeline, week=LAST_WEEK, queries=40)
    pipeline.reporter.invoke({"week": str(LAST_WEEK)})

    page.goto(f"{console_url}?week={LAST_WEEK}")

    _report_heading(page, LAST_WEEK)
    expect(page.get_by_test_id("report-queries")).to_have_text(str(traffic.queries))
    days = page.locator('[data-testid="day-chart"] g.day')
    expect(days).to_have_count(7)
    counts = [int(days.nth(n).get_attribute("data-queries") or "") for n in range(7)]
    assert sum(counts) == traffic.queries
    dates = [days.nth(n).get_attribute("data-day") for n in range(7)]
    assert dates == [(LAST_WEEK.start + timedelta(days=n)).date().isoformat() for n in range(7)]
    expect(page.locator('[data-testid="day-chart"] polyline.rate')).to_have_count(1)
    # The whole page, with every panel loaded, for people to look at (CI keeps the file).
    expect(page.locator("#mail li", has_text=stack.recipient)).to_have_count(1)
    expect(page.locator("#dlq").get_by_test_id("dlq-empty")).to_be_visible()
    OUTPUT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_console_week_switch_shows_the_chosen_week(page: Page, console_url, pipeline):
    """Choosing a week in the form, then the previous-week link, shows each week's own report."""
    traffic = _send_week(pipeline, week=LAST_WEEK, queries=12, seed=5)
    page.goto(console_url)
    _report_heading(page, THIS_WEEK)

    page.locator('input[name="week"]').fill(str(LAST_WEEK))
    page.get_by_role("button", name="Show").click()

    _report_heading(page, LAST_WEEK)
    expect(page.get_by_test_id("report-queries")).to_have_text(str(traffic.queries))
    page.get_by_role("link", name=f"◀ {LAST_WEEK.previous()}").click()
    _report_heading(page, LAST_WEEK.previous())
    expect(page.get_by_test_id("report-empty")).to_have_text("No chatbot queries were recorded this week.")
    expect(page.locator('[data-testid="day-chart"] g.day')).to_have_count(7)


def test_console_email_opens_as_the_recipient_sees_it(page: Page, console_url, pipeline, stack):
    """A weekly email sent while the page is open is listed on reload and opens in a sandboxed frame."""
    traffic = _send_week(pipeline, week=LAST_WEEK, queries=15, seed=11)
    subject = f"CV Analytics Weekly Report - Week {LAST_WEEK}"
    page.goto(console_url)
    ours = page.locator("#mail li", has_text=stack.recipient)
    expect(page.locator("#mail-list")).not_to_contain_text("Reading the emulator's mailbox")
    expect(ours).to_have_count(0)

    pipeline.reporter.invoke({"week": str(LAST_WEEK)})
    page.locator("#mail").get_by_role("button", name="Reload").click()
    ours.get_by_role("link", name=subject).click()

    expect(page.get_by_test_id("mail-subject")).to_have_text(subject)
    frame = page.locator("iframe.mail-body")
    expect(frame).to_have_attribute("sandbox", "")
    email = page.frame_locator("iframe.mail-body")
    expect(email.get_by_role("heading", name="CV Analytics Weekly Report")).to_be_visible()
    queries = email.locator("td", has_text=re.compile(r"^Queries$")).locator("xpath=following-sibling::td[1]")
    expect(queries).to_have_text(str(traffic.queries))


def test_console_dlq_shows_a_poison_message_and_keeps_it(page: Page, console_url, pipeline, stack):
    """A message the processor parked shows with its reason; redriving it keeps it parked, saying why."""
    send_raw(stack, "{not an event")
    pipeline.wait_until_drained(timeout=60)
    page.goto(console_url)

    row = page.locator("#dlq tr[data-message-id]")
    expect(row).to_have_count(1)
    expect(row.locator(".tag")).to_have_text("not-json")
    row.get_by_role("link").click()

    expect(page.get_by_test_id("parked-kind")).to_have_text("not-json")
    expect(page.get_by_test_id("parked-body")).to_have_text("{not an event")
    expect(page.get_by_test_id("parked-reason")).not_to_be_empty()
    page.get_by_label("Yes, send this message back to the queue").check()
    page.get_by_role("button", name="Redrive").click()

    expect(page.get_by_role("heading", name="Kept in the DLQ")).to_be_visible()
    assert queue_depth(stack, stack.resources.dlq_url) == 1


def test_console_dlq_redrive_moves_the_message_back_to_the_pipeline(page: Page, console_url, pipeline, stack):
    """A valid event left in the DLQ is redriven after confirmation, leaves the DLQ and gets processed."""
    request_id = str(uuid.uuid4())
    body = query_event(request_id, timestamp=_now_ms(), query="Can you lead a data platform team?")
    # What SQS's redrive policy leaves after three failed receives: the message, unchanged.
    stack.client("sqs").send_message(
        QueueUrl=stack.resources.dlq_url,
        MessageBody=json.dumps(body),
        MessageGroupId=request_id,
        MessageDeduplicationId=f"{request_id}-query",
    )
    page.goto(console_url)
    page.locator("#dlq tr[data-message-id] a").click()
    expect(page.get_by_test_id("parked-body")).to_contain_text(request_id)

    confirm = page.get_by_label("Yes, send this message back to the queue")
    assert confirm.evaluate("box => box.validity.valueMissing"), "the form must not submit unconfirmed"
    confirm.check()
    page.get_by_role("button", name="Redrive").click()

    expect(page.get_by_test_id("redriven")).to_contain_text("was sent back to the queue")
    expect(page.locator("#health").get_by_test_id("dlq-count")).to_have_text("0")
    row = page.locator(f'#feed tr[data-request-id="{request_id}"]')
    expect(row).to_contain_text("Can you lead a data platform team?")
    assert queue_depth(stack, stack.resources.dlq_url) == 0
