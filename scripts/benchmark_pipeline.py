"""Measure the local pipeline on this machine and print the figures.

Three numbers, each against a naive baseline measured in the same run:

1. Start-up: `cv-analytics up` from nothing to a ready API (embedded emulator included).
2. Ingest: how long a caller waits per request. The kit answers before touching SQS and
   sends in batches of 10 from a background thread; the baseline sends each event with
   its own synchronous SendMessage inside the request, as a straightforward handler would.
3. Throughput: events per second from the first POST until every event is processed
   and the queue is empty.

Usage: python scripts/benchmark_pipeline.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx

from cv_analytics import demo
from cv_analytics.aws.clients import aws_client
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.local import LocalPipeline


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _timed_posts(api_url: str, events: list[dict]) -> list[float]:
    latencies = []
    with httpx.Client(timeout=30) as client:
        for event in events:
            began = time.perf_counter()
            client.post(f"{api_url}/v1/events", json=event).raise_for_status()
            latencies.append(time.perf_counter() - began)
    return latencies


def _naive_sends(queue_url: str, events: list[dict]) -> list[float]:
    """Baseline: one synchronous SendMessage per event, on the caller's time."""
    sqs = aws_client("sqs")
    latencies = []
    for event in events:
        began = time.perf_counter()
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageGroupId=event["requestId"],
            MessageDeduplicationId=f"{event['requestId']}-{event['eventType']}-{event['timestamp']}",
        )
        latencies.append(time.perf_counter() - began)
    return latencies


def _baseline_queue() -> str:
    name = f"benchmark-{uuid.uuid4().hex[:8]}.fifo"
    return aws_client("sqs").create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150, help="queries to send (plus responses)")
    parser.add_argument("--aws-port", type=int, default=4599)
    parser.add_argument("--api-port", type=int, default=8099)
    args = parser.parse_args()
    os.environ.pop("AWS_ENDPOINT_URL", None)

    pipeline = LocalPipeline(api_port=args.api_port, aws_port=args.aws_port, schedule=False)
    pipeline.start()
    try:
        week = IsoWeek.last_full_week_before(datetime.now(UTC))
        events = demo.generate_week(week=week, queries=args.events, seed=11).events
        began = time.perf_counter()
        kit = _timed_posts(pipeline.api_url, events)
        pipeline.wait_until_drained(timeout=600)
        elapsed = time.perf_counter() - began
        naive = _naive_sends(_baseline_queue(), events)
    finally:
        pipeline.stop()

    kit_p50, naive_p50 = statistics.median(kit), statistics.median(naive)
    print(f"events                     {len(events)}")
    print(
        f"up → ready                 {pipeline.started_in:.2f} s"
        " (embedded emulator, provisioning, API, runner)"
    )
    print(
        f"request wait, kit          p50 {kit_p50 * 1000:.1f} ms   p95 {_percentile(kit, 0.95) * 1000:.1f} ms"
    )
    print(
        f"request wait, naive        p50 {naive_p50 * 1000:.1f} ms"
        f"   p95 {_percentile(naive, 0.95) * 1000:.1f} ms"
        "   (synchronous SendMessage per event)"
    )
    print(f"  naive / kit (p50)        {naive_p50 / kit_p50:.1f}x")
    print(
        f"end-to-end throughput      {len(events) / elapsed:.1f} events/s ({elapsed:.1f} s until processed)"
    )


if __name__ == "__main__":
    main()
