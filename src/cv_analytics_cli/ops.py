"""Operator commands: ``status``, ``dlq list | show | redrive`` and ``tail``.

They only wire ``cv_analytics.ops`` to the terminal; the formatting helpers are pure, so
what an operator reads is unit-tested. Endpoints and names come from the environment as for
every other command (AWS_ENDPOINT_URL, QUEUE_NAME, DLQ_NAME, ANALYTICS_TABLE, ...).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cv_analytics.ops import (
        FeedEntry,
        ParkedListing,
        ParkedMessage,
        PipelineHealth,
        RecordFeed,
        RedriveReport,
    )
    from cv_analytics.ops.ingest_metrics import IngestMetrics
    from cv_analytics.runner.firing import ScheduleFiring

T = TypeVar("T")
_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_QUERY_WIDTH = 60

_outbox_option = click.option(
    "--outbox",
    "outbox_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The ingest outbox file [default: INGEST_OUTBOX_PATH, else the one `up` keeps].",
)


def register(group: click.Group) -> None:
    """Add the operator commands to the ``cv-analytics`` group."""
    for command in (status, dlq, tail):
        group.add_command(command)


# --- status ------------------------------------------------------------------------------------


@click.command()
@_outbox_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--api-url",
    default=None,
    help="Also show the ingest service's counters, read from its /metrics (e.g. http://127.0.0.1:8000).",
)
def status(outbox_path: Path | None, as_json: bool, api_url: str | None) -> None:
    """One screen of pipeline health; exits 1 when something needs a look."""
    from cv_analytics.ops import pipeline_health

    health = _aws_errors_as_usage(lambda: pipeline_health(outbox_path=outbox_path))
    ingest = _ingest_counters(api_url) if api_url else None
    if as_json:
        plain = as_plain(health)
        if api_url:
            plain["ingest"] = as_plain(ingest)
        click.echo(json.dumps(plain, indent=2))
    else:
        click.echo("\n".join(status_lines(health, ingest=ingest)))
    if health.problems:
        raise SystemExit(1)


def _ingest_counters(api_url: str) -> IngestMetrics | str:
    """The ingest service's counters, or why they could not be read (never fatal: the rest
    of the screen does not depend on the API)."""
    from cv_analytics.ops.ingest_metrics import MetricsUnavailable, scrape_ingest_metrics

    try:
        return scrape_ingest_metrics(api_url) or f"{api_url} has not started its outbox yet"
    except MetricsUnavailable as exc:
        return f"unreachable ({exc})"


def status_lines(health: PipelineHealth, *, ingest: IngestMetrics | str | None = None) -> list[str]:
    """The status screen, line by line; ``ingest``: its counters, or why they are unknown."""
    now = health.checked_at
    queue, dead, outbox, runner = health.queue, health.dead_letters, health.outbox, health.runner
    lines = [
        f"pipeline status at {now:%Y-%m-%d %H:%M:%S} UTC",
        f"  queue        {queue.visible} waiting, {queue.in_flight} in flight, {queue.delayed} delayed"
        f"  ({_queue_name(queue.url)})",
        f"  DLQ          {dead.count} parked{_reasons(dead.reasons, dead.shown, dead.count)}"
        + (f", oldest {age(dead.oldest_age_seconds)}" if dead.oldest_age_seconds is not None else "")
        + f"  ({_queue_name(dead.url)})",
    ]
    if outbox is None:
        lines.append("  outbox       none here (set INGEST_OUTBOX_PATH or pass --outbox)")
    else:
        oldest = f", oldest {age(outbox.oldest_age_seconds)}" if outbox.oldest_age_seconds is not None else ""
        lines.append(f"  outbox       {outbox.pending} pending{oldest}, {outbox.dead} dead  ({outbox.path})")
    if ingest is not None:
        lines.append(f"  ingest       {_ingest(ingest)}")
    if runner.heartbeat_file is None:
        lines.append("  runner       last poll unknown (RUNNER_HEARTBEAT_FILE is not set)")
    else:
        polled = age((now - runner.last_poll).total_seconds()) if runner.last_poll else "never"
        lines.append(f"  runner       last poll {polled}{'' if runner.fresh else ' (stale)'}")
    lines.append(f"  schedule     {_schedule(runner.schedule_enabled, runner.last_due, runner.next_due)}")
    if runner.last_firing is not None:
        lines.append(f"  last firing  {_firing(runner.last_firing)}")
    report = (
        f"{runner.last_report_week} {runner.last_report_status}"
        + (f" at {runner.last_report_at:%Y-%m-%d %H:%M} UTC" if runner.last_report_at else "")
        if runner.last_report_week
        else "none in the last weeks"
    )
    lines.append(f"  last report  {report}")
    lines += ["", *(f"! {problem}" for problem in health.problems)] if health.problems else ["", "all well"]
    return lines


def age(seconds: float) -> str:
    """How long ago, as an operator reads it: 42s ago, 3m ago, 5h 12m ago, 2d 4h ago."""
    whole = max(0, int(seconds))  # a clock a little ahead (file times) reads as now
    if whole < 60:
        return f"{whole}s ago"
    if whole < 3600:
        return f"{whole // 60}m ago"
    if whole < 86_400:
        return f"{whole // 3600}h {whole % 3600 // 60}m ago"
    return f"{whole // 86_400}d {whole % 86_400 // 3600}h ago"


def _reasons(reasons: dict[str, int], shown: int, count: int) -> str:
    if not reasons:
        return ""
    text = ", ".join(f"{kind} {n}" for kind, n in reasons.items())
    return f" ({text}" + (f"; {count - shown} not visible" if count > shown else "") + ")"


def _schedule(enabled: bool | None, last_due: datetime | None, next_due: datetime | None) -> str:
    if enabled is None:
        return "no rule (run `cv-analytics provision`)"
    state = "enabled" if enabled else "disabled"
    parts = [state]
    if last_due:
        parts.append(f"last due {last_due:%Y-%m-%d %H:%M}")
    if next_due:
        parts.append(f"next {next_due:%Y-%m-%d %H:%M} UTC")
    return ", ".join(parts)


def _ingest(ingest: IngestMetrics | str) -> str:
    if isinstance(ingest, str):
        return f"counters unknown: {ingest}"
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(ingest.rejected.items()) if n)
    return (
        f"{ingest.accepted} accepted, {ingest.rejected_total} rejected"
        + (f" ({reasons})" if reasons else "")
        + f", {ingest.sent} sent to SQS"
    )


def _firing(firing: ScheduleFiring) -> str:
    return f"{firing.fired_at:%Y-%m-%d %H:%M} UTC ({firing.week or 'week unknown'}, {firing.outcome})"


def _queue_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# --- dlq ---------------------------------------------------------------------------------------


@click.group()
def dlq() -> None:
    """Parked messages: the SQS DLQ and the ingest outbox's dead letters."""


@dlq.command("list")
@_outbox_option
def dlq_list(outbox_path: Path | None) -> None:
    """List parked messages with their reasons (nothing is consumed)."""
    from cv_analytics.ops import list_parked

    listing = _aws_errors_as_usage(lambda: list_parked(outbox_path=outbox_path))
    for line in listing_lines(listing):
        click.echo(line)


@dlq.command("show")
@click.argument("message_id")
@_outbox_option
def dlq_show(message_id: str, outbox_path: Path | None) -> None:
    """Show one parked message: its reason attributes and body."""
    from cv_analytics.ops import ParkedMessageNotFound, show_parked

    try:
        message = _aws_errors_as_usage(lambda: show_parked(message_id, outbox_path=outbox_path))
    except ParkedMessageNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\n".join(message_lines(message)))


@dlq.command("redrive")
@click.argument("message_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Redrive every parked message that re-validates.")
@click.option("--dry-run", is_flag=True, help="Say what would be redriven; change nothing.")
def dlq_redrive(message_id: str | None, everything: bool, dry_run: bool) -> None:
    """Re-validate parked messages and send the valid ones back to the main queue."""
    from cv_analytics.ops import ParkedMessageNotFound, redrive

    if (message_id is None) == (not everything):
        raise click.UsageError("give one MESSAGE_ID or --all")
    try:
        report = _aws_errors_as_usage(
            lambda: redrive(message_id=message_id, everything=everything, dry_run=dry_run)
        )
    except (ParkedMessageNotFound, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in redrive_lines(report):
        click.echo(line)


def listing_lines(listing: ParkedListing) -> list[str]:
    if not listing.messages:
        return [f"nothing parked (DLQ: {listing.dlq_count} messages)"]
    lines = [f"{'ID':38} {'SOURCE':6} {'KIND':14} {'PARKED':16}  REASON"]
    for message in listing.messages:
        when = f"{message.parked_at:%Y-%m-%d %H:%M}" if message.parked_at else "-"
        lines.append(
            f"{message.id:38} {message.source:6} {message.kind:14} {when:16}  {_one_line(message.reason)}"
        )
    if listing.hidden:
        lines.append(
            f"{listing.hidden} more in the DLQ behind the first 10 of their FIFO group: "
            "redrive (or remove) those first to see them"
        )
    return lines


def message_lines(message: ParkedMessage) -> list[str]:
    lines = [
        f"id           {message.id}",
        f"source       {message.source}",
        f"kind         {message.kind}",
        f"reason       {message.reason}",
        f"group        {message.group_id or '-'}",
        f"parked at    {message.parked_at:%Y-%m-%d %H:%M:%S} UTC" if message.parked_at else "parked at    -",
    ]
    if message.receive_count is not None:
        lines.append(f"receives     {message.receive_count}")
    lines += [f"attribute    {name} = {value}" for name, value in sorted(message.attributes.items())]
    return [*lines, "body:", message.body]


def redrive_lines(report: RedriveReport) -> list[str]:
    lines = []
    for outcome in report.outcomes:
        if outcome.action == "kept":
            lines.append(f"kept         {outcome.id}  {outcome.reason}")
        elif outcome.action == "redriven":
            lines.append(f"redriven     {outcome.id}  → main queue as {outcome.main_message_id}")
        else:
            lines.append(f"would redrive {outcome.id}")
    verb = "would be redriven" if report.dry_run else "redriven"
    lines.append(
        f"{report.redriven} {verb}, {report.kept} kept parked" + (" (dry run)" if report.dry_run else "")
    )
    if report.unseen:
        lines.append(f"{report.unseen} more not seen (behind the first 10 of their FIFO group)")
    return lines


def _one_line(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --- tail --------------------------------------------------------------------------------------


def parse_since(text: str) -> timedelta:
    """``30s``, ``10m``, ``2h``, ``7d``, ``1w`` as a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise click.BadParameter(f"expected a duration like 30s, 10m, 2h, 7d or 1w, not {text!r}")
    return timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})


@click.command()
@click.option("--since", default="10m", show_default=True, help="How far back to start (30s, 10m, 2h, 7d).")
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep printing new records.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls when following.")
def tail(since: str, follow: bool, interval: float) -> None:
    """Print processed records, one line each, as they land (Ctrl-C to stop)."""
    from cv_analytics.ops import RecordFeed

    start = datetime.now(UTC) - parse_since(since)
    feed = RecordFeed(since=start)
    stop = threading.Event()
    try:
        _aws_errors_as_usage(lambda: _print_feed(feed, follow=follow, interval=interval, stop=stop))
    except KeyboardInterrupt:
        stop.set()


def _print_feed(feed: RecordFeed, *, follow: bool, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        for entry in feed.poll():
            click.echo(feed_line(entry))
        if not follow:
            return
        stop.wait(interval)


def feed_line(entry: FeedEntry) -> str:
    """One record as ``tail`` prints it: time, status, match, score, latency, query."""
    match = entry.match_type or "-"
    score = "-" if entry.match_score is None else str(entry.match_score)
    latency = "-" if entry.latency_ms is None else f"{entry.latency_ms}ms"
    query = _one_line(entry.query, _QUERY_WIDTH) if entry.query else "(query not yet recorded)"
    return (
        f"{entry.moment:%Y-%m-%dT%H:%M:%S}Z {entry.status:17} {match:7} {score:>3} {latency:>8}  "
        f"{query}  [{entry.request_id}]"
    )


# --- shared ------------------------------------------------------------------------------------


def as_plain(value: Any) -> Any:
    """A result dataclass as JSON-able data (datetimes as ISO 8601)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain = {field.name: as_plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        if hasattr(value, "ok"):
            plain["ok"] = value.ok
        return plain
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str):
        return [as_plain(item) for item in value]
    return value


def _aws_errors_as_usage(call: Callable[[], T]) -> T:
    """Run ``call``; a missing queue/table or an unreachable endpoint becomes a clear error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise click.ClickException(
            f"{error.get('Code', 'error')}: {error.get('Message', exc)} "
            "(is the pipeline provisioned here? `cv-analytics provision`)"
        ) from exc
    except BotoCoreError as exc:
        raise click.ClickException(f"{exc} (is AWS_ENDPOINT_URL right and the emulator up?)") from exc
