"""Measure the local pipeline on this machine and print the figures.

Each figure comes with a naive baseline measured in the same run, on the same embedded
emulator, under the same conditions:

1. Start-up: `cv-analytics up` from nothing to a ready API (emulator, provisioning, API,
   runner).
2. Ingest: what a caller waits per request, and how long until every event is in SQS.
   The kit's API answers before touching SQS and sends batches of 10 from a background
   thread; the baseline API sends each event with a synchronous SendMessage before it
   answers. Both are FastAPI apps served by uvicorn over HTTP.
3. Processing: events per second drained from a full queue by the runner and the real
   processor, in batches of 10 (the kit) and one message per invocation (the baseline).
4. End to end: events per second from the first POST until every event is processed.

Usage: python scripts/benchmark_pipeline.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cv_analytics import demo
from cv_analytics.aws.clients import aws_client
from cv_analytics.events import parse_events
from cv_analytics.runner.sqs_source import SqsEventSource
from cv_analytics.weeks import IsoWeek
from cv_analytics_cli.local import LocalPipeline
from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _new_queue() -> str:
    name = f"benchmark-{uuid.uuid4().hex[:8]}.fifo"
    attributes = {"FifoQueue": "true", "VisibilityTimeout": "180"}
    return aws_client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def _naive_app(queue_url: str) -> FastAPI:
    """Baseline ingest: validate, then one synchronous SendMessage per event, then answer."""
    app = FastAPI()
    sqs = aws_client("sqs")

    @app.post("/v1/events", status_code=202)
    async def ingest(request: Request) -> JSONResponse:
        payload = await request.json()  # the benchmark posts one event per request
        [event] = parse_events(payload)
        await run_in_threadpool(
            sqs.send_message,
            QueueUrl=queue_url,
            MessageBody=json.dumps(payload),
            MessageGroupId=event.requestId,
            MessageDeduplicationId=event.deduplication_id,
        )
        return JSONResponse({"accepted": 1}, status_code=202)

    return app


class _Served:
    """An ASGI app on a loopback port, in a thread, for the length of a with-block."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> _Served:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def _queue_count(queue_url: str) -> int:
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _ingest_run(app: FastAPI, port: int, queue_url: str, events: list[dict]) -> tuple[list[float], float]:
    """Per-request waits, and seconds from the first POST until all events are in SQS."""
    waits = []
    with _Served(app, port) as served, httpx.Client(timeout=30) as client:
        began = time.perf_counter()
        for event in events:
            sent = time.perf_counter()
            client.post(f"{served.url}/v1/events", json=event).raise_for_status()
            waits.append(time.perf_counter() - sent)
        while _queue_count(queue_url) < len(events):
            time.sleep(0.05)
        return waits, time.perf_counter() - began


def _drain_rate(queue_url: str, *, batch_size: int, invoker, expected: int) -> float:
    source = SqsEventSource(
        sqs=aws_client("sqs"), queue_url=queue_url, invoker=invoker, batch_size=batch_size, wait_seconds=1
    )
    began, done = time.perf_counter(), 0
    while done < expected:
        done += source.poll_once().succeeded
    return expected / (time.perf_counter() - began)


def _line(label: str, kit: str, naive: str, ratio: float, better: str) -> None:
    print(f"{label:28} kit {kit:>22}   naive {naive:>22}   {ratio:5.1f}x {better}")


def _report_ingest(kit: tuple[list[float], float], naive: tuple[list[float], float], count: int) -> None:
    (kit_waits, kit_total), (naive_waits, naive_total) = kit, naive
    kit_p50, naive_p50 = statistics.median(kit_waits) * 1000, statistics.median(naive_waits) * 1000
    kit_p95, naive_p95 = _percentile(kit_waits, 0.95) * 1000, _percentile(naive_waits, 0.95) * 1000
    _line(
        "ingest wait per request p50",
        f"{kit_p50:.1f} ms",
        f"{naive_p50:.1f} ms",
        naive_p50 / kit_p50,
        "shorter",
    )
    _line(
        "ingest wait per request p95",
        f"{kit_p95:.1f} ms",
        f"{naive_p95:.1f} ms",
        naive_p95 / kit_p95,
        "shorter",
    )
    kit_rate, naive_rate = count / kit_total, count / naive_total
    _line("ingest: all events in SQS", f"{kit_rate:.0f} events/s", f"{naive_rate:.0f} events/s",
          kit_rate / naive_rate, "faster")  # fmt: skip


def _measure(pipeline: LocalPipeline, events: list[dict], ports: Callable[[], int]) -> None:
    kit_queue, naive_queue = _new_queue(), _new_queue()
    kit_app = create_app(IngestSettings(queue_url=kit_queue))
    kit = _ingest_run(kit_app, ports(), kit_queue, events)
    naive = _ingest_run(_naive_app(naive_queue), ports(), naive_queue, events)
    _report_ingest(kit, naive, len(events))

    batched = _drain_rate(kit_queue, batch_size=10, invoker=pipeline.processor, expected=len(events))
    single = _drain_rate(naive_queue, batch_size=1, invoker=pipeline.processor, expected=len(events))
    _line("processing a full queue", f"{batched:.1f} events/s", f"{single:.1f} events/s",
          batched / single, "faster (batch 10 vs 1)")  # fmt: skip

    began = time.perf_counter()
    demo.send(events, api_url=pipeline.api_url)
    pipeline.wait_until_drained(timeout=900)
    elapsed = time.perf_counter() - began
    print(f"{'end to end (API → report-ready)':28} {len(events) / elapsed:.1f} events/s ({elapsed:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100, help="queries to send (plus their responses)")
    parser.add_argument("--aws-port", type=int, default=4599)
    parser.add_argument("--api-port", type=int, default=8099)
    args = parser.parse_args()
    os.environ.pop("AWS_ENDPOINT_URL", None)

    pipeline = LocalPipeline(api_port=args.api_port, aws_port=args.aws_port, schedule=False)
    pipeline.start()
    next_port = iter(range(args.api_port + 1, args.api_port + 10))
    try:
        week = IsoWeek.last_full_week_before(datetime.now(UTC))
        events = demo.generate_week(week=week, queries=args.events, seed=11).events
        print(f"{len(events)} events; up → ready in {pipeline.started_in:.2f} s")
        _measure(pipeline, events, lambda: next(next_port))
    finally:
        pipeline.stop()


if __name__ == "__main__":
    main()
