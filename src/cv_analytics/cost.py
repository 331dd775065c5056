"""What the pipeline costs on AWS in a month, line by line, from the traffic it carries.

Pure arithmetic: no AWS call, no price lookup. Every unit price is in ``PRICES`` (one table,
dated, with the pricing page it comes from); every assumption about the traffic and the
functions is a field of ``Assumptions`` with its reason; ``cv-analytics cost`` takes the
ones a deployment changes as flags.

How the pipeline uses each service (derived from the code and infra/terraform):

* **SQS** (FIFO, $ per request; a request is billed per 64 KB chunk and every event is at
  most 64 KiB, so one chunk each). Producers send each event (the production worker with
  ``SendMessage``; the ingest API with ``SendMessageBatch``, up to 10 per call). Lambda's event
  source mapping long-polls the queue (20 s waits) with several pollers even when it is idle,
  receives batches of up to 10 and deletes each batch's successes with one
  ``DeleteMessageBatch``; a parked message is one ``SendMessage`` to the DLQ.
* **Lambda**: one processor invocation per received batch, one reporter invocation a week,
  each billed per request and per GB-second at its configured memory, duration rounded up
  to the millisecond; cold starts (INIT) are billed too.
* **DynamoDB** (on demand): per event one ``PutItem`` in ``query-events`` and one
  ``UpdateItem`` in ``analytics`` (``records.py``), each 1 WRU per started KB of the item (for
  an update, the larger of the item before and after); the ``week-index`` GSI projects every
  attribute, so each analytics write is one more write of the same size there. A week's
  report reads that week and the one before through the index (eventually consistent: half
  an RRU per started 4 KB) and writes its send record three times (claim, attempt, sent).
  Storage holds raw events for their 7-day TTL, records (and their index copy) for 90 days,
  plus DynamoDB's 100 bytes a stored item; point-in-time recovery bills the table size again.
* **SES**: one email a week. **CloudWatch**: alarms, custom metrics (EMF, billed by the
  hour in which they are sent), log ingestion and compressed storage for the retention.
  **X-Ray**: one trace per invocation (the default sampling keeps every request below one a
  second). **KMS**: the stack's customer-managed key and its requests. **ECR**: image storage.

Not included (free or negligible at this scale): EventBridge scheduled rules (free), SNS
alarm emails (the first 1,000 a month are free), data transfer, CloudTrail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

WEEKS_PER_MONTH = 365.25 / 12 / 7  # 4.348...
HOURS_PER_MONTH = 730  # what AWS prorates hourly charges by
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DAYS_PER_MONTH = 365.25 / 12
KB = 1024
GB = 1024**3
DYNAMODB_ITEM_OVERHEAD_BYTES = 100  # DynamoDB's storage overhead per item (and per index entry)
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

# ---------------------------------------------------------------------------------------
# Unit prices, US East (N. Virginia), in USD, from the AWS pricing pages named beside each:
# "Amazon SQS pricing", "AWS Lambda pricing", "Amazon DynamoDB pricing" (on-demand capacity,
# after the November 2024 price cut), "Amazon SES pricing", "Amazon CloudWatch pricing",
# "AWS X-Ray pricing", "AWS Key Management Service pricing", "Amazon ECR pricing", and the
# "AWS Free Tier" page. Taken as published in 2025; AWS changes prices without notice, so
# check the pages before relying on a figure. Other regions cost more or less.
# ---------------------------------------------------------------------------------------
PRICES_REGION = "us-east-1"
PRICES_AS_OF = "2025-06"


@dataclass(frozen=True, slots=True)
class Price:
    usd: float
    per: float  # units the price is for
    unit: str
    source: str

    def of(self, quantity: float) -> float:
        return self.usd * quantity / self.per


PRICES: dict[str, Price] = {
    "sqs_fifo_request": Price(0.50, 1_000_000, "request", "Amazon SQS pricing: FIFO requests"),
    "lambda_request": Price(0.20, 1_000_000, "request", "AWS Lambda pricing: requests"),
    "lambda_gb_second_x86_64": Price(0.0000166667, 1, "GB-s", "AWS Lambda pricing: duration, x86"),
    "lambda_gb_second_arm64": Price(0.0000133334, 1, "GB-s", "AWS Lambda pricing: duration, Arm"),
    "dynamodb_write_unit": Price(0.625, 1_000_000, "WRU", "Amazon DynamoDB pricing: on-demand writes"),
    "dynamodb_read_unit": Price(0.125, 1_000_000, "RRU", "Amazon DynamoDB pricing: on-demand reads"),
    "dynamodb_storage": Price(0.25, 1, "GB-month", "Amazon DynamoDB pricing: Standard table storage"),
    "dynamodb_pitr": Price(0.20, 1, "GB-month", "Amazon DynamoDB pricing: continuous backups (PITR)"),
    "ses_email": Price(0.10, 1_000, "email", "Amazon SES pricing: outbound email"),
    "cloudwatch_alarm": Price(0.10, 1, "alarm-month", "Amazon CloudWatch pricing: standard alarm"),
    "cloudwatch_composite_alarm": Price(0.50, 1, "alarm-month", "Amazon CloudWatch pricing: composite"),
    "cloudwatch_metric": Price(0.30, 1, "metric-month", "Amazon CloudWatch pricing: custom metrics"),
    "cloudwatch_logs_ingest": Price(0.50, 1, "GB", "Amazon CloudWatch pricing: logs, collect"),
    "cloudwatch_logs_storage": Price(0.03, 1, "GB-month", "Amazon CloudWatch pricing: logs, store"),
    "xray_trace": Price(5.00, 1_000_000, "trace", "AWS X-Ray pricing: traces recorded"),
    "kms_key": Price(1.00, 1, "key-month", "AWS KMS pricing: customer managed key"),
    "kms_request": Price(0.03, 10_000, "request", "AWS KMS pricing: requests"),
    "ecr_storage": Price(0.10, 1, "GB-month", "Amazon ECR pricing: private repository storage"),
}


class FreeTierKind(StrEnum):
    ALWAYS = "always free"
    FIRST_YEAR = "12 months"


@dataclass(frozen=True, slots=True)
class Allowance:
    name: str
    quantity: float
    unit: str
    kind: FreeTierKind


# The AWS Free Tier page, same date. Accounts opened from July 2025 get the always-free
# offers plus credits instead of the 12-month offers; the first-year column shows what an
# older account gets in its first year.
FREE_TIER: dict[str, Allowance] = {
    a.name: a
    for a in (
        Allowance("SQS requests", 1_000_000, "request", FreeTierKind.ALWAYS),
        Allowance("Lambda requests", 1_000_000, "request", FreeTierKind.ALWAYS),
        Allowance("Lambda compute", 400_000, "GB-s", FreeTierKind.ALWAYS),
        Allowance("DynamoDB storage", 25, "GB-month", FreeTierKind.ALWAYS),
        Allowance("CloudWatch alarms", 10, "alarm-month", FreeTierKind.ALWAYS),
        Allowance("CloudWatch metrics", 10, "metric-month", FreeTierKind.ALWAYS),
        Allowance("CloudWatch logs", 5, "GB", FreeTierKind.ALWAYS),
        Allowance("X-Ray traces", 100_000, "trace", FreeTierKind.ALWAYS),
        Allowance("KMS requests", 20_000, "request", FreeTierKind.ALWAYS),
        Allowance("SES emails", 3_000, "email", FreeTierKind.FIRST_YEAR),
        Allowance("ECR storage", 0.5, "GB-month", FreeTierKind.FIRST_YEAR),
    )
}


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Everything the bill depends on besides the unit prices. Defaults: the deployed stack
    (infra/terraform) at a CV chatbot's traffic; the CLI takes the usual ones as flags."""

    queries_per_week: float
    # Share of queries the worker answers (a response event); the others send only a query.
    answer_rate: float = 0.8
    # Events per SQS send request: the production worker sends each event alone; the ingest
    # API batches up to 10 when events arrive within its linger time.
    events_per_send: float = 1.0
    # Messages per processor invocation (≤ 10). A FIFO event source has no batching window,
    # so at a few events an hour each message arrives alone.
    messages_per_batch: float = 1.0
    # Share of events parked in the DLQ (one SendMessage each).
    parked_rate: float = 0.0
    # Long-polling connections of the event source mapping while the queue is idle, each one
    # ReceiveMessage per 20 s wait (Lambda's SQS event source starts with five).
    esm_pollers: int = 5
    receive_wait_seconds: int = 20
    # Function configuration (infra/terraform/locals.tf, variables.tf).
    processor_memory_mb: int = 256
    reporter_memory_mb: int = 256
    architecture: str = "x86_64"
    # Billed durations. Warm processor invocation: parse, redact, two DynamoDB calls.
    processor_ms: float = 120.0
    reporter_ms: float = 3000.0
    # INIT of the container image, billed on every cold start; at low traffic most
    # processor invocations start cold, and the weekly reporter always does.
    cold_start_ms: float = 1500.0
    processor_cold_share: float = 0.5
    # Item sizes in bytes (names plus values, as DynamoDB counts them), measured with the
    # stores' own size check on the sample events in tests/events (numbers at their
    # largest): a raw query and response item, a record holding the query, the full record.
    raw_query_item_bytes: int = 545
    raw_response_item_bytes: int = 505
    record_query_half_bytes: int = 462
    record_bytes: int = 757
    report_record_bytes: int = 300
    ttl_raw_days: int = 7
    ttl_record_days: int = 90
    ttl_report_days: int = 400
    emails_per_week: float = 1.0
    # CloudWatch: alarms in infra/terraform/monitoring.tf; custom metric streams the
    # functions emit (cv_processor.metrics, cv_reporter.metrics); bytes logged per
    # invocation (Lambda's START/END/REPORT lines plus the EMF line).
    standard_alarms: int = 10
    composite_alarms: int = 1
    processor_metric_streams: int = 4
    parked_metric_streams: int = 3
    reporter_metric_streams: int = 1
    processor_log_bytes: int = 1100
    reporter_log_bytes: int = 2000
    log_retention_days: int = 90
    log_compression_ratio: float = 0.2
    # KMS: the stack's one key; DynamoDB asks it for a table key about every 5 minutes of use
    # per table, so requests grow with the 5-minute windows that see traffic (capped).
    kms_keys: int = 1
    # ECR: compressed image size and the layers a release changes (the kept images share
    # the base layers); images kept per repository (var.ecr_images_to_keep).
    image_mb: float = 200.0
    image_changed_mb: float = 25.0
    images_kept: int = 10

    def __post_init__(self) -> None:
        if self.queries_per_week < 0:
            raise ValueError("queries_per_week must not be negative")
        for name in ("answer_rate", "parked_rate", "processor_cold_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 1 <= self.messages_per_batch <= 10:
            raise ValueError("messages_per_batch must be between 1 and 10 (the batch size)")
        if not 1 <= self.events_per_send <= 10:
            raise ValueError("events_per_send must be between 1 and 10 (SendMessageBatch's limit)")
        if self.architecture not in ("x86_64", "arm64"):
            raise ValueError("architecture must be x86_64 or arm64")


@dataclass(frozen=True, slots=True)
class Line:
    service: str
    item: str
    quantity: float
    price: Price
    free_tier: str | None = None

    @property
    def usd(self) -> float:
        return self.price.of(self.quantity)


@dataclass(frozen=True, slots=True)
class Credit:
    allowance: Allowance
    used: float  # of the allowance
    usd: float


@dataclass(frozen=True, slots=True)
class Bill:
    assumptions: Assumptions
    lines: tuple[Line, ...]
    credits: tuple[Credit, ...] = field(default=())

    @property
    def gross(self) -> float:
        return sum(line.usd for line in self.lines)

    def free(self, kind: FreeTierKind) -> float:
        return sum(c.usd for c in self.credits if c.allowance.kind is kind)

    @property
    def after_free_tier(self) -> float:
        """What an account pays once its first year is over (always-free offers only)."""
        return self.gross - self.free(FreeTierKind.ALWAYS)

    @property
    def first_year(self) -> float:
        return self.after_free_tier - self.free(FreeTierKind.FIRST_YEAR)


# --- the traffic ---------------------------------------------------------------------------


def events_per_month(a: Assumptions) -> float:
    return a.queries_per_week * (1 + a.answer_rate) * WEEKS_PER_MONTH


def batches_per_month(a: Assumptions) -> float:
    return events_per_month(a) / a.messages_per_batch


def write_units(item_bytes: int) -> int:
    """WRUs of one write: one per started KB (at least one)."""
    return max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))


def read_units(total_bytes: float, *, consistent: bool = False) -> float:
    """RRUs of reading ``total_bytes`` in one request: one per started 4 KB, half eventually
    consistent (a GSI is always read eventually consistent)."""
    units = max(1, math.ceil(total_bytes / READ_UNIT_BYTES))
    return units if consistent else units / 2


def billed_ms(duration_ms: float) -> int:
    """Lambda bills each invocation's duration rounded up to the millisecond."""
    return math.ceil(duration_ms)


# --- the lines -------------------------------------------------------------------------------


def sqs_lines(a: Assumptions) -> list[Line]:
    price, events, batches = PRICES["sqs_fifo_request"], events_per_month(a), batches_per_month(a)
    idle_polls = a.esm_pollers * SECONDS_PER_MONTH / a.receive_wait_seconds
    return [
        Line(
            "SQS", "SendMessage(Batch) from the producers", events / a.events_per_send, price, "SQS requests"
        ),
        Line("SQS", "ReceiveMessage: idle long polls", idle_polls, price, "SQS requests"),
        Line("SQS", "ReceiveMessage returning a batch", batches, price, "SQS requests"),
        Line("SQS", "DeleteMessageBatch after each batch", batches, price, "SQS requests"),
        Line("SQS", "SendMessage to the DLQ (parked)", events * a.parked_rate, price, "SQS requests"),
    ]


def lambda_lines(a: Assumptions) -> list[Line]:
    gb_second = PRICES[f"lambda_gb_second_{a.architecture}"]
    request = PRICES["lambda_request"]
    processor_calls, reports = batches_per_month(a), WEEKS_PER_MONTH
    processor_ms = billed_ms(a.processor_ms) + a.processor_cold_share * billed_ms(a.cold_start_ms)
    reporter_ms = billed_ms(a.reporter_ms) + billed_ms(a.cold_start_ms)
    return [
        Line("Lambda", "processor requests", processor_calls, request, "Lambda requests"),
        Line("Lambda", "reporter requests", reports, request, "Lambda requests"),
        Line(
            "Lambda",
            f"processor compute ({a.processor_memory_mb} MB)",
            processor_calls * processor_ms / 1000 * a.processor_memory_mb / 1024,
            gb_second,
            "Lambda compute",
        ),
        Line(
            "Lambda",
            f"reporter compute ({a.reporter_memory_mb} MB)",
            reports * reporter_ms / 1000 * a.reporter_memory_mb / 1024,
            gb_second,
            "Lambda compute",
        ),
    ]


def dynamodb_write_units(a: Assumptions) -> dict[str, float]:
    """WRUs a month, by what writes them."""
    queries = a.queries_per_week * WEEKS_PER_MONTH
    responses = queries * a.answer_rate
    raw = queries * write_units(a.raw_query_item_bytes) + responses * write_units(a.raw_response_item_bytes)
    # Query first (the usual order): its update creates the record; the response's update
    # is sized by the whole record after it. The index gets the same writes.
    records = queries * write_units(a.record_query_half_bytes) + responses * write_units(a.record_bytes)
    reports = WEEKS_PER_MONTH * 3 * write_units(a.report_record_bytes)
    return {"query-events PutItem": raw, "analytics UpdateItem": records, "week-index": records,
            "reports UpdateItem": reports}  # fmt: skip


def dynamodb_read_units(a: Assumptions) -> float:
    """RRUs a month: each report reads its week and the week before through the index."""
    week_bytes = a.queries_per_week * (a.record_bytes + DYNAMODB_ITEM_OVERHEAD_BYTES)
    # A Query is billed at least half a unit even when the week is empty.
    return WEEKS_PER_MONTH * 2 * read_units(week_bytes)


def dynamodb_storage_gb(a: Assumptions) -> dict[str, float]:
    """GB held on average, each table at its TTL (index copies counted apart)."""
    events_per_week = a.queries_per_week * (1 + a.answer_rate)
    raw_bytes = (a.raw_query_item_bytes + a.raw_response_item_bytes * a.answer_rate) / (1 + a.answer_rate)
    raw = events_per_week * a.ttl_raw_days / 7 * (raw_bytes + DYNAMODB_ITEM_OVERHEAD_BYTES)
    records = a.queries_per_week * a.ttl_record_days / 7 * (a.record_bytes + DYNAMODB_ITEM_OVERHEAD_BYTES)
    reports = a.ttl_report_days / 7 * (a.report_record_bytes + DYNAMODB_ITEM_OVERHEAD_BYTES)
    return {"query-events": raw / GB, "analytics": records / GB, "week-index": records / GB,
            "reports": reports / GB}  # fmt: skip


def dynamodb_lines(a: Assumptions) -> list[Line]:
    write, read = PRICES["dynamodb_write_unit"], PRICES["dynamodb_read_unit"]
    storage = dynamodb_storage_gb(a)
    lines = [
        Line("DynamoDB", f"writes: {what}", units, write) for what, units in dynamodb_write_units(a).items()
    ]
    lines.append(Line("DynamoDB", "reads: week-index Query", dynamodb_read_units(a), read))
    lines += [
        Line("DynamoDB", f"storage: {table}", gb, PRICES["dynamodb_storage"], "DynamoDB storage")
        for table, gb in storage.items()
    ]
    tables = sum(gb for table, gb in storage.items() if table != "week-index")
    lines.append(Line("DynamoDB", "point-in-time recovery (tables)", tables, PRICES["dynamodb_pitr"]))
    return lines


def ses_lines(a: Assumptions) -> list[Line]:
    emails = a.emails_per_week * WEEKS_PER_MONTH
    return [Line("SES", "weekly report emails", emails, PRICES["ses_email"], "SES emails")]


def metric_months(per_hour: float) -> float:
    """Metric-months of a metric sent ``per_hour`` times an hour on average: CloudWatch bills
    a custom metric for each hour it is sent in, and events arriving at random (Poisson)
    leave an hour empty with probability exp(-rate)."""
    return 1 - math.exp(-per_hour) if per_hour > 0 else 0.0


def cloudwatch_lines(a: Assumptions) -> list[Line]:
    invocations_per_hour = batches_per_month(a) / HOURS_PER_MONTH
    parked_per_hour = events_per_month(a) * a.parked_rate / HOURS_PER_MONTH
    metrics = (
        a.processor_metric_streams * metric_months(invocations_per_hour)
        + a.parked_metric_streams * metric_months(parked_per_hour)
        + a.reporter_metric_streams * metric_months(WEEKS_PER_MONTH / HOURS_PER_MONTH)
    )
    log_bytes = batches_per_month(a) * a.processor_log_bytes + WEEKS_PER_MONTH * a.reporter_log_bytes
    ingested = log_bytes / GB
    stored = ingested * a.log_retention_days / DAYS_PER_MONTH * a.log_compression_ratio
    return [
        Line(
            "CloudWatch", "metric alarms", a.standard_alarms, PRICES["cloudwatch_alarm"], "CloudWatch alarms"
        ),
        Line("CloudWatch", "composite alarms", a.composite_alarms, PRICES["cloudwatch_composite_alarm"]),
        Line(
            "CloudWatch", "custom metrics (EMF)", metrics, PRICES["cloudwatch_metric"], "CloudWatch metrics"
        ),
        Line("CloudWatch", "logs ingested", ingested, PRICES["cloudwatch_logs_ingest"], "CloudWatch logs"),
        Line(
            "CloudWatch",
            "logs stored (compressed)",
            stored,
            PRICES["cloudwatch_logs_storage"],
            "CloudWatch logs",
        ),
    ]


def xray_lines(a: Assumptions) -> list[Line]:
    traces = batches_per_month(a) + WEEKS_PER_MONTH
    return [
        Line("X-Ray", "traces recorded (one per invocation)", traces, PRICES["xray_trace"], "X-Ray traces")
    ]


_KMS_WINDOWS_PER_MONTH = SECONDS_PER_MONTH / 300


def kms_lines(a: Assumptions) -> list[Line]:
    # Two tables written per processor invocation, capped at one request per table per
    # 5-minute window; the reporter's two tables once a week.
    windows = min(batches_per_month(a), _KMS_WINDOWS_PER_MONTH)
    requests = 2 * windows + 2 * WEEKS_PER_MONTH
    return [
        Line("KMS", "customer managed key", a.kms_keys, PRICES["kms_key"]),
        Line("KMS", "requests (DynamoDB table keys)", requests, PRICES["kms_request"], "KMS requests"),
    ]


def ecr_lines(a: Assumptions) -> list[Line]:
    per_repository_mb = a.image_mb + (a.images_kept - 1) * a.image_changed_mb
    return [Line("ECR", "image storage (2 repositories)", 2 * per_repository_mb / 1024, PRICES["ecr_storage"],
                 "ECR storage")]  # fmt: skip


def apply_free_tier(lines: Iterable[Line]) -> tuple[Credit, ...]:
    """Each allowance covers the lines naming it, in order, until it runs out."""
    left = {name: allowance.quantity for name, allowance in FREE_TIER.items()}
    used: dict[str, tuple[float, float]] = {}
    for line in lines:
        if line.free_tier is None:
            continue
        covered = min(left[line.free_tier], line.quantity)
        left[line.free_tier] -= covered
        quantity, usd = used.get(line.free_tier, (0.0, 0.0))
        used[line.free_tier] = (quantity + covered, usd + line.price.of(covered))
    return tuple(Credit(FREE_TIER[name], quantity, usd) for name, (quantity, usd) in used.items())


def monthly_bill(assumptions: Assumptions) -> Bill:
    """The month's bill for ``assumptions``: every line, then what the free tier covers."""
    lines: list[Line] = []
    for section in (sqs_lines, lambda_lines, dynamodb_lines, ses_lines, cloudwatch_lines, xray_lines,
                    kms_lines, ecr_lines):  # fmt: skip
        lines += section(assumptions)
    return Bill(assumptions=assumptions, lines=tuple(lines), credits=apply_free_tier(lines))
