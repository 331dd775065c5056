"""The ``cv-analytics`` command: provision, run locally, send demo traffic, report, read mail."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.chat import chat
from cv_analytics_cli.cost import cost as cost_command
from cv_analytics_cli.ops import register as register_operator_commands
from cv_analytics_cli.options import state_dir_option

if TYPE_CHECKING:
    from cv_analytics_cli.local import LocalPipeline


def _week_option(value: str | None) -> IsoWeek:
    if value is None:
        return IsoWeek.last_full_week_before(datetime.now(UTC))
    try:
        return IsoWeek.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from exc


def _require_endpoint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise click.UsageError(
            "AWS_ENDPOINT_URL is not set: point it at the emulator, e.g. "
            "export AWS_ENDPOINT_URL=http://127.0.0.1:4566"
        )
    return endpoint


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
def main(verbose: bool) -> None:
    """CV chatbot analytics: ingest → SQS FIFO → processor → DynamoDB → weekly report."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
def provision() -> None:
    """Create or update queues, tables, schedule and SES identity (idempotent)."""
    from cv_analytics.provisioning import provision as run_provision

    resources = run_provision(sender_email=os.environ.get("SENDER_EMAIL"))
    for name, value in vars(resources).items():
        click.echo(f"{name:20} {value}")


@main.command()
@click.option("--api-port", default=8000, show_default=True, help="Port of the ingest API.")
@click.option("--aws-port", default=4566, show_default=True, help="Port of the embedded AWS emulator.")
@click.option("--demo", "with_demo", is_flag=True, help="Send a demo week of traffic and report on it.")
@click.option("--events", default=100, show_default=True, help="Queries in the demo week.")
@click.option("--once", is_flag=True, help="Stop after the demo instead of serving until Ctrl-C.")
@state_dir_option(help="Where the ingest outbox and the local API key are kept.")
def up(api_port: int, aws_port: int, with_demo: bool, events: int, once: bool, state_dir: Path) -> None:
    """Run the whole pipeline here: AWS emulator (unless AWS_ENDPOINT_URL is set), API, runner."""
    from cv_analytics.embedded import EmulatorMissing, PortInUse
    from cv_analytics_cli.local import LocalPipeline

    pipeline = LocalPipeline(api_port=api_port, aws_port=aws_port, state_dir=state_dir)
    try:
        try:
            pipeline.start()
        except (PortInUse, EmulatorMissing) as exc:
            raise click.ClickException(str(exc)) from exc
        _print_running(pipeline)
        if with_demo:
            _run_demo(pipeline, queries=events)
        if not once:
            _wait_for_interrupt()
    finally:
        click.echo("stopping…")
        pipeline.stop()


def _print_running(pipeline: LocalPipeline) -> None:
    origin = "embedded moto server" if pipeline.embedded else "AWS_ENDPOINT_URL"
    resources = pipeline.resources
    assert resources is not None, "the pipeline has not started"
    click.echo(f"ready in {pipeline.started_in:.2f}s")
    click.echo(f"  AWS endpoint   {pipeline.aws_endpoint}  ({origin})")
    if pipeline.dynamodb_endpoint:
        click.echo(f"  DynamoDB       {pipeline.dynamodb_endpoint}  (AWS_ENDPOINT_URL_DYNAMODB)")
    click.echo(f"  ingest API     {pipeline.api_url}  (POST /v1/events, GET /healthz, GET /readyz)")
    click.echo(f"  console        {pipeline.api_url}/console/  (health, live feed, reports, emails, DLQ)")
    click.echo(f"  outbox         {pipeline.outbox_path}")
    click.echo(f"  queue          {resources.queue_url}")
    click.echo(f"  DLQ            {resources.dlq_url}")
    click.echo(f"  tables         {resources.query_events_table}, {resources.analytics_table}")
    click.echo(f"  schedule       {resources.rule_arn} → reporter (in process)")
    click.echo("In another shell, to use the same emulator and API key:")
    click.echo(f"  export AWS_ENDPOINT_URL={pipeline.aws_endpoint}")
    if pipeline.dynamodb_endpoint:
        click.echo(f"  export AWS_ENDPOINT_URL_DYNAMODB={pipeline.dynamodb_endpoint}")
    click.echo(f"  export INGEST_API_KEYS={pipeline.api_key}")
    if pipeline.embedded:
        click.echo(
            "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="
            f"{os.environ['AWS_DEFAULT_REGION']}"
        )
        click.echo(
            f"  export SENDER_EMAIL={os.environ['SENDER_EMAIL']} "
            f"RECIPIENT_EMAIL={os.environ['RECIPIENT_EMAIL']}"
        )


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo("serving; Ctrl-C to stop")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


def _run_demo(pipeline: LocalPipeline, *, queries: int) -> None:
    from cv_analytics import demo
    from cv_analytics.mailbox import fetch_emails

    week = IsoWeek.last_full_week_before(datetime.now(UTC))
    traffic = demo.generate_week(week=week.previous(), queries=max(1, queries // 2), seed=1)
    traffic_now = demo.generate_week(week=week, queries=queries, seed=2)
    events = traffic.events + traffic_now.events
    began = time.monotonic()
    with click.progressbar(length=len(events), label=f"sending {len(events)} demo events") as bar:
        demo.send(events, api_url=pipeline.api_url, progress=bar.update)
    pipeline.wait_until_drained()
    elapsed = time.monotonic() - began
    click.echo(
        f"{len(events)} events through the pipeline in {elapsed:.1f}s ({len(events) / elapsed:.0f} events/s)"
    )
    assert pipeline.reporter is not None and pipeline.aws_endpoint is not None, "the pipeline has not started"
    outcome = pipeline.reporter.invoke({"week": str(week)})
    click.echo(
        f"report for {outcome['week']}: {outcome['totalQueries']} queries, sent as {outcome['messageId']}"
    )
    emails = fetch_emails(pipeline.aws_endpoint)
    if emails:
        click.echo(f"\n--- {emails[-1].subject} ---\n{emails[-1].text}")


@main.command()
@click.option("--processor-url", required=True, help="The processor's Runtime Interface Emulator URL.")
@click.option("--reporter-url", required=True, help="The reporter's Runtime Interface Emulator URL.")
@click.option(
    "--schedule/--no-schedule", default=True, show_default=True, help="Fire the reporter on its rule."
)
@click.option(
    "--wait-for-functions",
    default=120.0,
    show_default=True,
    help="Seconds to wait for both functions to answer.",
)
def runner(processor_url: str, reporter_url: str, schedule: bool, wait_for_functions: float) -> None:
    """Feed function containers: SQS batches to the processor, the schedule to the reporter."""
    from cv_analytics.runner.service import EventSources, http_invokers, wait_for_function

    processor, reporter = http_invokers(processor_url=processor_url, reporter_url=reporter_url)
    for function in (processor, reporter):
        wait_for_function(function, timeout=wait_for_functions)
    sources = EventSources.from_settings(
        processor=processor, reporter=reporter, schedule=schedule, wait_seconds=10
    )
    sources.start()
    click.echo(f"runner: {processor_url} ← SQS, {reporter_url} ← schedule" + ("" if schedule else " (off)"))
    try:
        _wait_for_interrupt()
    finally:
        sources.stop()


@main.command()
@click.option("--api-url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--events", default=150, show_default=True, help="Queries to send (responses come on top).")
@click.option("--week", "week_text", default=None, help="ISO week to fill (default: last full week).")
@click.option("--seed", default=7, show_default=True, help="Random seed, for repeatable traffic.")
@click.option(
    "--api-key",
    envvar="INGEST_API_KEY",
    default=None,
    help="Bearer key for the API [default: the first of INGEST_API_KEYS, as `up` prints it].",
)
def demo(api_url: str, events: int, week_text: str | None, seed: int, api_key: str | None) -> None:
    """Send a realistic week of chatbot traffic through the ingest API."""
    from cv_analytics import demo as demo_traffic

    week = _week_option(week_text)
    traffic = demo_traffic.generate_week(week=week, queries=events, seed=seed)
    key = api_key or demo_traffic.api_key_from_environment()
    if not key:
        raise click.UsageError("no API key: pass --api-key or export INGEST_API_KEYS as `up` prints it")
    with click.progressbar(length=len(traffic.events), label=f"{week}") as bar:
        accepted = demo_traffic.send(traffic.events, api_url=api_url, api_key=key, progress=bar.update)
    click.echo(f"accepted {accepted} events ({traffic.queries} queries, {traffic.responses} responses)")


@main.command()
@click.option("--week", "week_text", default=None, help="ISO week, e.g. 2025-W47 (default: last full week).")
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML here (the chart inline, for a browser) instead of sending.",
)
@click.option("--force", is_flag=True, help="Send even if this week was sent (or its outcome is unknown).")
def report(week_text: str | None, preview: Path | None, force: bool) -> None:
    """Run the weekly reporter now against the configured endpoint (once per week)."""
    week = _week_option(week_text)
    try:
        if preview is not None:
            _preview(week, preview)
            return
        from cv_reporter.reporting import ReportOutcomeUnknown, WeeklyReporter

        outcome = WeeklyReporter.from_settings().send(week, force=force)
    except ValidationError as exc:
        raise click.UsageError(f"configuration incomplete: {exc}") from exc
    except ReportOutcomeUnknown as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(outcome.describe())


def _preview(week: IsoWeek, path: Path) -> None:
    from cv_analytics.inline_images import with_data_urls
    from cv_reporter.reporting import preview

    email, total = preview(week)
    # A browser cannot resolve the email's cid: images; the file carries them as data: URLs.
    path.write_text(with_data_urls(email.html, email.images), encoding="utf-8")
    click.echo(f"wrote {path} ('{email.subject}', {total} queries)")


@main.command()
@click.option(
    "--show", "index", type=int, default=-1, show_default=True, help="Which email to print (0 = oldest)."
)
@click.option(
    "--last", default=20, show_default=True, help="How many of the newest emails to list (0 = all)."
)
@click.option("--html", is_flag=True, help="Print the HTML body instead of the text body.")
@click.option(
    "--timeout",
    default=120.0,
    show_default=True,
    help="Seconds to wait for the emulator's mailbox (moto builds it whole first).",
)
def mail(index: int, last: int, html: bool, timeout: float) -> None:
    """List the newest emails the emulator captured and print one."""
    from cv_analytics.mailbox import MailboxUnavailable, fetch_messages

    try:
        messages = fetch_messages(_require_endpoint(), read_timeout=timeout)
    except MailboxUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if not messages:
        click.echo("no emails captured yet")
        return
    if not -len(messages) <= index < len(messages):
        raise click.BadParameter(
            f"there are {len(messages)} emails (0-{len(messages) - 1})", param_hint="--show"
        )
    first = max(0, len(messages) - last) if last > 0 else 0
    if first:
        click.echo(f"{len(messages)} emails; the newest {len(messages) - first} (--last 0 lists all):")
    for position in range(first, len(messages)):
        subject, recipients = messages[position].headline()
        click.echo(f"[{position}] {subject}  →  {', '.join(recipients)}")
    chosen = messages[index].parse()
    click.echo(f"\n--- {chosen.subject} ---\n{chosen.html if html else chosen.text}")


main.add_command(chat)
main.add_command(cost_command)
register_operator_commands(main)

if __name__ == "__main__":
    sys.exit(main())
