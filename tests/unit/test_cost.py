"""The monthly bill: each line against figures worked out by hand, the rounding rules, the free tier."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cv_analytics import cost
from cv_analytics.cost import Assumptions, FreeTierKind, monthly_bill
from cv_analytics_cli.cost import cost as cost_command
from cv_analytics_cli.main import main
from cv_processor import metrics as processor_metrics
from cv_processor.processing import ErrorKind
from cv_reporter import metrics as reporter_metrics

WEEKS = 365.25 / 12 / 7  # 4.348214...
GB = 1024**3
# Ten queries a week, half of them answered; every other assumption at its default.
SMALL = Assumptions(queries_per_week=10, answer_rate=0.5)


def quantities(assumptions: Assumptions) -> dict[str, float]:
    return {f"{line.service}: {line.item}": line.quantity for line in monthly_bill(assumptions).lines}


def test_bill_sqs_requests_per_line_for_small_traffic() -> None:
    """15 events a week: one send, one receive and one delete each, plus 5 idle pollers every 20 s."""
    lines = quantities(SMALL)
    events = 15 * WEEKS  # 65.22
    assert lines["SQS: SendMessage(Batch) from the producers"] == pytest.approx(events)
    assert lines["SQS: ReceiveMessage: idle long polls"] == 5 * 730 * 3600 / 20 == 657_000
    assert lines["SQS: ReceiveMessage returning a batch"] == pytest.approx(events)
    assert lines["SQS: DeleteMessageBatch after each batch"] == pytest.approx(events)
    assert lines["SQS: SendMessage to the DLQ (parked)"] == 0


def test_bill_lambda_requests_and_gb_seconds_for_small_traffic() -> None:
    """Each processor call bills 120 ms plus half a 1,500 ms cold start at 0.25 GB; the reporter 4.5 s."""
    lines = quantities(SMALL)
    assert lines["Lambda: processor requests"] == pytest.approx(15 * WEEKS)
    assert lines["Lambda: reporter requests"] == pytest.approx(WEEKS)
    assert lines["Lambda: processor compute (256 MB)"] == pytest.approx(15 * WEEKS * 0.870 * 0.25)  # 14.186
    assert lines["Lambda: reporter compute (256 MB)"] == pytest.approx(WEEKS * 4.5 * 0.25)  # 4.892


def test_bill_dynamodb_writes_reads_and_storage_for_small_traffic() -> None:
    """One WRU per write of items under 1 KB; 8,570 bytes a week read in 3 x 4 KB at half a unit."""
    lines = quantities(SMALL)
    queries, responses = 10 * WEEKS, 5 * WEEKS
    assert lines["DynamoDB: writes: query-events PutItem"] == pytest.approx(queries + responses)
    assert lines["DynamoDB: writes: analytics UpdateItem"] == pytest.approx(queries + responses)
    assert lines["DynamoDB: writes: week-index"] == pytest.approx(queries + responses)
    assert lines["DynamoDB: writes: reports UpdateItem"] == pytest.approx(3 * WEEKS)
    assert lines["DynamoDB: reads: week-index Query"] == pytest.approx(WEEKS * 2 * 1.5)
    # 15 raw events of (10 x 545 + 5 x 505) / 15 = 531.67 bytes on average, each +100, for 7 days.
    assert lines["DynamoDB: storage: query-events"] == pytest.approx(15 * (7975 / 15 + 100) / GB)
    assert lines["DynamoDB: storage: analytics"] == pytest.approx(10 * 90 / 7 * 857 / GB)
    assert lines["DynamoDB: storage: week-index"] == pytest.approx(10 * 90 / 7 * 857 / GB)


def test_bill_prices_each_line_from_the_table() -> None:
    """A line's cost is its quantity at its unit price: SQS FIFO is 0.50 USD a million requests."""
    [send] = [line for line in monthly_bill(SMALL).lines if line.item.startswith("SendMessage(Batch)")]
    assert send.usd == pytest.approx(15 * WEEKS * 0.50 / 1_000_000)


def test_write_units_round_up_per_started_kilobyte() -> None:
    """1,024 bytes is one WRU, 1,025 two, and an empty write still one."""
    assert [cost.write_units(n) for n in (0, 1, 1024, 1025, 4096)] == [1, 1, 1, 2, 4]


def test_read_units_round_up_per_started_4_kb_and_halve_when_eventually_consistent() -> None:
    """4,096 bytes is half a unit from an index, 4,097 a whole one; a strongly consistent read doubles."""
    assert [cost.read_units(n) for n in (0, 4096, 4097)] == [0.5, 0.5, 1.0]
    assert cost.read_units(4097, consistent=True) == 2


def test_lambda_duration_rounds_up_to_the_millisecond() -> None:
    """120.2 ms is billed as 121 ms."""
    assert cost.billed_ms(120.2) == 121 and cost.billed_ms(120.0) == 120


def test_bill_a_larger_record_costs_two_write_units() -> None:
    """A full record over 1 KB makes each response's update (and its index write) two WRUs."""
    lines = quantities(Assumptions(queries_per_week=10, answer_rate=0.5, record_bytes=1025))
    assert lines["DynamoDB: writes: analytics UpdateItem"] == pytest.approx(10 * WEEKS + 2 * 5 * WEEKS)


def test_bill_zero_queries_still_costs_the_fixed_parts() -> None:
    """With no traffic the key, the composite alarm, idle polling, ECR and the weekly email remain."""
    bill = monthly_bill(Assumptions(queries_per_week=0))
    billed = {line.item: line.usd for line in bill.lines if line.usd > 0}
    assert billed["customer managed key"] == 1.0
    assert billed["composite alarms"] == 0.5
    assert billed["ReceiveMessage: idle long polls"] == pytest.approx(657_000 * 0.5 / 1e6)
    assert billed["image storage (2 repositories)"] == pytest.approx(2 * (200 + 9 * 25) / 1024 * 0.10)
    assert billed["weekly report emails"] == pytest.approx(WEEKS * 0.10 / 1000)
    assert "processor requests" not in billed
    assert bill.after_free_tier >= 1.5


def test_free_tier_covers_at_most_its_allowance() -> None:
    """SQS's million free requests cover the idle polls at low traffic, and only a million at high."""
    low, high = monthly_bill(SMALL), monthly_bill(Assumptions(queries_per_week=200_000))
    [low_sqs] = [c for c in low.credits if c.allowance.name == "SQS requests"]
    [high_sqs] = [c for c in high.credits if c.allowance.name == "SQS requests"]
    sqs_lines = sum(line.usd for line in low.lines if line.service == "SQS")
    assert low_sqs.usd == pytest.approx(sqs_lines)
    assert high_sqs.used == 1_000_000 and high_sqs.usd == pytest.approx(0.50)


def test_free_tier_first_year_offers_are_shown_apart() -> None:
    """SES and ECR allowances lower only the first-year total; the always-free ones lower both."""
    bill = monthly_bill(SMALL)
    first_year = {c.allowance.name for c in bill.credits if c.allowance.kind is FreeTierKind.FIRST_YEAR}
    assert first_year == {"SES emails", "ECR storage"}
    assert bill.first_year == pytest.approx(bill.after_free_tier - bill.free(FreeTierKind.FIRST_YEAR))
    assert bill.after_free_tier == pytest.approx(bill.gross - bill.free(FreeTierKind.ALWAYS))


def test_metric_months_follow_the_hours_a_metric_is_sent_in() -> None:
    """A metric sent once an hour on average is billed for 1 - e^-1 of the month's hours; never sent, 0."""
    assert cost.metric_months(1.0) == pytest.approx(0.6321, abs=1e-4)
    assert cost.metric_months(0) == 0


@pytest.mark.parametrize(
    "bad",
    [{"answer_rate": 1.5}, {"messages_per_batch": 11}, {"events_per_send": 0}, {"architecture": "sparc"}],
    ids=["answer-rate", "batch", "send", "architecture"],
)
def test_assumptions_out_of_range_are_refused(bad: dict[str, object]) -> None:
    """An assumption outside what the pipeline can do is a clear error, not a bill."""
    with pytest.raises(ValueError):
        Assumptions(queries_per_week=10, **bad)  # type: ignore[arg-type]


def test_cost_model_counts_the_metric_streams_the_functions_emit() -> None:
    """The custom-metric assumptions are the streams cv_processor.metrics and cv_reporter.metrics emit."""
    defaults = Assumptions(queries_per_week=0)
    assert defaults.processor_metric_streams == len(processor_metrics.ALWAYS_EMITTED)
    assert set(processor_metrics.PARK_REASONS) == {kind.value for kind in ErrorKind}
    assert defaults.parked_metric_streams == len(processor_metrics.PARK_REASONS)
    assert defaults.reporter_metric_streams == len(reporter_metrics.ALWAYS_EMITTED)


def test_cost_command_prints_every_service_and_the_totals() -> None:
    """`cv-analytics cost --queries-per-week 10` prints one row per line item and the free-tier totals."""
    result = CliRunner().invoke(main, ["cost", "--queries-per-week", "10", "--answer-rate", "0.5"])
    assert result.exit_code == 0, result.output
    for text in (
        "SQS",
        "Lambda",
        "DynamoDB",
        "SES",
        "CloudWatch",
        "X-Ray",
        "KMS",
        "ECR",
        "gross",
        "Free tier",
    ):
        assert text in result.output
    assert f"{monthly_bill(SMALL).gross:.4f}" in result.output


def test_cost_command_refuses_a_region_without_prices() -> None:
    """Another region is refused with the reason: the table holds us-east-1 prices."""
    result = CliRunner().invoke(cost_command, ["--queries-per-week", "10", "--region", "eu-west-2"])
    assert result.exit_code == 2
    assert "us-east-1 only" in result.output


def test_cost_command_refuses_an_impossible_assumption() -> None:
    """--answer-rate 2 is a usage error naming the assumption."""
    result = CliRunner().invoke(cost_command, ["--queries-per-week", "10", "--answer-rate", "2"])
    assert result.exit_code == 2
    assert "answer_rate" in result.output


def test_cost_model_item_sizes_are_those_of_the_sample_events() -> None:
    """The default item sizes are what the stores' size check gives for tests/events' query and response."""
    import json

    from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore, item_size, to_attribute
    from cv_analytics.events import parse_event
    from cv_analytics.records import record_update
    from tests.support.events import load_event

    raw, records = (
        RawEventStore(client=None, table_name="t", ttl_days=7),
        AnalyticsStore(client=None, table_name="t"),
    )
    bodies = {
        kind: json.dumps(load_event(f"{kind}_event"), separators=(",", ":")) for kind in ("query", "response")
    }
    events = {kind: parse_event(body) for kind, body in bodies.items()}
    updates = {kind: record_update(event, ttl_days=90) for kind, event in events.items()}
    full = updates["response"].applied_to(updates["query"].applied_to({}))
    defaults = Assumptions(queries_per_week=0)
    assert (
        defaults.raw_query_item_bytes,
        defaults.raw_response_item_bytes,
        defaults.record_query_half_bytes,
        defaults.record_bytes,
    ) == (
        raw.check(event=events["query"], body=bodies["query"]),
        raw.check(event=events["response"], body=bodies["response"]),
        records.check(updates["query"]),
        item_size({name: to_attribute(value) for name, value in full.items()}),
    )
