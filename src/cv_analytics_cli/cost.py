"""``cv-analytics cost``: the monthly AWS bill for a given traffic (cv_analytics.cost does the sums)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import click

from cv_analytics.cost import PRICES_AS_OF, PRICES_REGION, Assumptions, Bill, FreeTierKind, monthly_bill

# (flag, Assumptions field, help): every assumption the bill rests on can be changed.
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--answer-rate", "answer_rate", "Share of queries that get a response event."),
    (
        "--events-per-send",
        "events_per_send",
        "Events per SQS send request (worker: 1; ingest API: up to 10).",
    ),
    ("--messages-per-batch", "messages_per_batch", "Messages per processor invocation (1-10)."),
    ("--parked-rate", "parked_rate", "Share of events parked in the DLQ."),
    ("--esm-pollers", "esm_pollers", "Idle long-polling connections of the SQS event source."),
    ("--processor-memory-mb", "processor_memory_mb", "Processor memory (infra/terraform/locals.tf)."),
    ("--reporter-memory-mb", "reporter_memory_mb", "Reporter memory (infra/terraform/locals.tf)."),
    ("--architecture", "architecture", "Lambda architecture: x86_64 or arm64."),
    ("--processor-ms", "processor_ms", "Billed ms of a warm processor invocation."),
    ("--reporter-ms", "reporter_ms", "Billed ms of a reporter run (before INIT)."),
    ("--cold-start-ms", "cold_start_ms", "Billed INIT ms of a cold start (container image)."),
    ("--processor-cold-share", "processor_cold_share", "Share of processor invocations that start cold."),
    ("--record-bytes", "record_bytes", "Size of a full analytics record (query and response)."),
    ("--raw-response-bytes", "raw_response_item_bytes", "Size of a stored raw response event item."),
    ("--log-bytes", "processor_log_bytes", "Log bytes per processor invocation (platform lines and EMF)."),
    ("--log-retention-days", "log_retention_days", "Log group retention (var.log_retention_days)."),
    ("--image-mb", "image_mb", "Compressed size of one function image in ECR."),
    ("--image-changed-mb", "image_changed_mb", "Compressed layers a release changes."),
    ("--images-kept", "images_kept", "Images kept per ECR repository (var.ecr_images_to_keep)."),
)
_TYPES = {f.name: f.type for f in fields(Assumptions)}
_DEFAULTS = Assumptions(queries_per_week=0)


def _with_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    for flag, name, text in reversed(_FLAGS):
        kind = {"int": int, "float": float, "str": str}[str(_TYPES[name])]
        default = getattr(_DEFAULTS, name)
        command = click.option(flag, name, type=kind, default=default, show_default=True, help=text)(command)
    return command


@click.command()
@click.option(
    "--queries-per-week", type=click.FloatRange(min=0), required=True, help="Chatbot queries a week."
)
@click.option(
    "--region", default=PRICES_REGION, show_default=True, help="AWS region (only us-east-1 is priced)."
)
@_with_flags
def cost(queries_per_week: float, region: str, **overrides: Any) -> None:
    """Print the monthly AWS bill of the deployed stack for a given traffic, line by line."""
    if region != PRICES_REGION:
        raise click.BadParameter(
            f"the price table is for {PRICES_REGION} only; prices differ by region", param_hint="--region"
        )
    try:
        assumptions = Assumptions(queries_per_week=queries_per_week, **overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for line in render(monthly_bill(assumptions)):
        click.echo(line)


def render(bill: Bill) -> list[str]:
    """The bill as text: one row per line item, then the free tier, then the totals."""
    a = bill.assumptions
    out = [
        f"Monthly AWS cost at {a.queries_per_week:g} queries a week "
        f"({PRICES_REGION} prices as of {PRICES_AS_OF}; USD)",
        "",
        f"{'service':11}{'item':42}{'quantity':>16}  {'unit':12}{'USD':>10}",
    ]
    for line in bill.lines:
        out.append(
            f"{line.service:11}{line.item:42}{_quantity(line.quantity):>16}  "
            f"{line.price.unit:12}{line.usd:>10.4f}"
        )
    out += ["", f"{'gross':81}{bill.gross:>10.4f}", "", "Free tier:"]
    for credit in bill.credits:
        allowance = credit.allowance
        label = f"{allowance.name} ({allowance.kind.value}, {_quantity(allowance.quantity)} {allowance.unit})"
        out.append(f"  {label:65}{_quantity(credit.used):>14}  -{credit.usd:>9.4f}")
    out += [
        "",
        f"{'with the always-free tier':81}{bill.after_free_tier:>10.4f}",
        f"{'in the first 12 months (also the 12-month offers)':81}{bill.first_year:>10.4f}",
        f"(free tier: always free {bill.free(FreeTierKind.ALWAYS):.4f}, "
        f"12-month offers {bill.free(FreeTierKind.FIRST_YEAR):.4f})",
    ]
    return out


def _quantity(value: float) -> str:
    """Whole numbers as such, small ones with enough digits to be seen."""
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6f}"
