"""Measure the processor on this machine: DynamoDB calls and events/s per merge strategy, and
handler import times. Prints one table.

Merge strategies, measured in the same run on the same embedded emulator (moto's server in
its child process), each on tables of its own, alternating, median of ``--rounds``:

- kit: ``MessageProcessor`` as deployed: PutItem (raw event) + one UpdateItem per event
  (``records.record_update``: no read, no condition).
- naive: the same processor whose record store reads the record (GetItem), merges the event
  in Python and writes it back (PutItem) on condition that its version is unchanged,
  retrying on a conflict: the usual read-modify-write.

Each runs in three modes: one thread in arrival order; four threads (queries on two,
responses on the other two, the same requestIds at the same time: concurrent writers); and
one thread with ``--call-latency-ms`` added to every DynamoDB call, a stand-in for the
network round trip a real table costs (moto answers on loopback, and its UpdateItem
costs several times its PutItem in CPU, which a real table does not). Afterwards every
record must equal what merging its events one after another gives, or the script stops.

Each PutItem/UpdateItem takes effect alone (``AtomicWrites``): DynamoDB applies the writes
to one item atomically, moto does not (two UpdateItems that both find no item each create
one, the later replacing the earlier; a condition is checked apart from its write).
Without that, the concurrent runs would measure moto's lost updates, not the strategies.

"processor CPU" is this process's CPU time per event: the processor's own work and its
boto3 calls, without the emulator's (moto runs in a child process).

Import times: ``python -X importtime -c "import <handler>"`` in fresh interpreters (top-level
cumulative, minimum and median of ``--import-runs``), and for the processor also the CPU
of a cold start: import plus its first one-message batch against the emulator.

Usage: python scripts/benchmark_processor.py [--events N] [--rounds R] [--import-runs K]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from cv_analytics import demo
from cv_analytics.aws.clients import aws_client
from cv_analytics.aws.dynamodb import AnalyticsStore, RawEventStore, from_item, to_attribute
from cv_analytics.embedded import EmbeddedAws
from cv_analytics.events import parse_event
from cv_analytics.provisioning import provision, table_definition
from cv_analytics.records import RecordUpdate, record_update
from cv_analytics.resources import load_resources
from cv_analytics.settings import ResourceNames
from cv_analytics.weeks import IsoWeek
from cv_processor.processing import IncomingMessage, MessageProcessor

TTL_DAYS = 90
HANDLERS = ("cv_processor.handler", "cv_reporter.handler")


class ReadModifyWriteRecords:
    """Baseline record store: GetItem, merge in Python, PutItem if the version is unchanged."""

    def __init__(self, *, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._checks = AnalyticsStore(client=client, table_name=table_name)

    def check(self, update: RecordUpdate) -> int:
        return self._checks.check(update)

    def write(self, update: RecordUpdate) -> None:
        key = {"requestId": to_attribute(update.request_id)}
        while True:
            found = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            current = from_item(found) if found else {}
            version = current.pop("version", 0)
            merged = update.applied_to(current) | {"version": version + 1}
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={name: to_attribute(value) for name, value in merged.items()},
                    ConditionExpression="attribute_not_exists(#v) OR #v = :seen",
                    ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":seen": to_attribute(version)},
                )
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise


class AtomicWrites:
    """A DynamoDB client whose PutItem and UpdateItem calls take effect one at a time."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **request: Any) -> Any:
        with self._lock:
            return self._client.put_item(**request)

    def update_item(self, **request: Any) -> Any:
        with self._lock:
            return self._client.update_item(**request)


class _NoDeadLetters:
    def park(self, letter: Any) -> None:
        raise AssertionError(f"benchmark events must all be recorded, not parked: {letter.reason}")


@dataclass(frozen=True)
class Mode:
    threads: int
    call_latency_ms: float = 0.0

    def __str__(self) -> str:
        if self.threads > 1:
            return f"{self.threads} threads, concurrent writers"
        return f"1 thread, +{self.call_latency_ms:g} ms per call" if self.call_latency_ms else "1 thread"


@dataclass
class MergeRun:
    strategy: str
    mode: Mode
    events_per_second: float
    calls: Counter[str]
    events: int
    cpu_ms_per_event: float

    @property
    def calls_per_event(self) -> float:
        return sum(self.calls.values()) / self.events


def _tables(prefix: str) -> tuple[str, str]:
    dynamodb, tables = aws_client("dynamodb"), load_resources().tables
    raw, analytics = f"{prefix}-raw", f"{prefix}-analytics"
    dynamodb.create_table(TableName=raw, **table_definition(tables.query_events))
    dynamodb.create_table(TableName=analytics, **table_definition(tables.analytics))
    for name in (raw, analytics):
        dynamodb.get_waiter("table_exists").wait(TableName=name)
    return raw, analytics


def _processor(strategy: str, *, mode: Mode, prefix: str) -> tuple[MessageProcessor, Counter[str], Any, str]:
    raw, analytics = _tables(prefix)
    client, calls = AtomicWrites(aws_client("dynamodb")), Counter[str]()
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))
    if mode.call_latency_ms:
        pause = mode.call_latency_ms / 1000
        client.meta.events.register("before-send.dynamodb.*", lambda **_: time.sleep(pause))
    records: Any = (
        AnalyticsStore(client=client, table_name=analytics)
        if strategy == "kit"
        else ReadModifyWriteRecords(client=client, table_name=analytics)
    )
    processor = MessageProcessor(
        raw_events=RawEventStore(client=client, table_name=raw, ttl_days=7),
        records=records,
        dead_letters=_NoDeadLetters(),
        record_ttl_days=TTL_DAYS,
    )
    return processor, calls, client, analytics


def _lanes(events: list[dict[str, Any]], threads: int) -> list[list[dict[str, Any]]]:
    """One lane per thread; with more than one, queries and responses go to different lanes."""
    if threads == 1:
        return [events]
    half = threads // 2
    queries = [e for e in events if e["eventType"] == "query"]
    responses = [e for e in events if e["eventType"] == "response"]
    return [queries[n::half] for n in range(half)] + [responses[n::half] for n in range(half)]


def _merge_run(strategy: str, events: list[dict[str, Any]], *, mode: Mode) -> MergeRun:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    processor, calls, client, table = _processor(strategy, mode=mode, prefix=prefix)
    threads = mode.threads
    start = threading.Barrier(threads)

    def work(lane: list[dict[str, Any]]) -> None:
        start.wait(timeout=60)
        for event in lane:
            message = IncomingMessage(message_id=uuid.uuid4().hex, body=json.dumps(event), group_id="bench")
            processor.process(message)

    began, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, _lanes(events, threads)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    counted = Counter(calls)
    mismatched = _mismatched_records(client, table, events)  # counted after the clock stopped
    if mismatched:
        raise AssertionError(f"{strategy}: {mismatched} records differ from a sequential merge")
    return MergeRun(strategy, mode, len(events) / elapsed, counted, len(events), cpu * 1000 / len(events))


def _mismatched_records(client: Any, table: str, events: list[dict[str, Any]]) -> int:
    """How many records differ from what merging their events one after another gives."""
    expected: dict[str, dict[str, Any]] = {}
    for event in events:
        update = record_update(parse_event(event), ttl_days=TTL_DAYS)
        expected[update.request_id] = update.applied_to(expected.get(update.request_id, {}))
    mismatched = 0
    for request_id, record in expected.items():
        item = client.get_item(TableName=table, Key={"requestId": {"S": request_id}}, ConsistentRead=True)
        stored = from_item(item["Item"])
        stored.pop("version", None)
        mismatched += stored != record
    return mismatched


def _merge_figures(
    events: list[dict[str, Any]], *, rounds: int, modes: list[Mode]
) -> dict[tuple[str, Mode], list[MergeRun]]:
    runs: dict[tuple[str, Mode], list[MergeRun]] = {}
    for _ in range(rounds):
        for mode in modes:
            for strategy in ("kit", "naive"):  # alternated, so load on the machine hits both
                runs.setdefault((strategy, mode), []).append(_merge_run(strategy, events, mode=mode))
    return runs


# --- imports and cold start, in fresh interpreters -------------------------------------------

_TOP_LEVEL = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$")


def _import_ms(module: str) -> float:
    """Top-level cumulative import time of ``module`` (and its parent packages), in ms."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = 0
    for line in stderr.splitlines():
        match = _TOP_LEVEL.match(line)
        if match and (match[2] == module or module.startswith(match[2] + ".")):
            total += int(match[1])
    return total / 1000


_COLD_START = """
import json, time, uuid
began = time.process_time()
import cv_processor.handler as handler
imported = time.process_time()
body = json.dumps({"eventType": "query", "requestId": str(uuid.uuid4()), "timestamp": %d, "query": "Go?"})
record = {"messageId": "m-1", "receiptHandle": "r", "body": body, "md5OfBody": "", "messageAttributes": {},
          "attributes": {"MessageGroupId": "analytics", "ApproximateReceiveCount": "1"},
          "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q.fifo",
          "awsRegion": "us-east-1"}

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "processor", 256, "benchmark"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:processor"

assert handler.lambda_handler({"Records": [record]}, Context()) == {"batchItemFailures": []}
done = time.process_time()
print(json.dumps({"import": (imported - began) * 1000, "first_batch": (done - imported) * 1000}))
"""


def _cold_start_cpu(environment: dict[str, str], timestamp: int) -> dict[str, float]:
    """CPU ms of importing the processor handler, then of its first one-message batch."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-c", _COLD_START % timestamp],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process"] = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return figures


# --- output -----------------------------------------------------------------------------------


def _row(label: str, kit: str, naive: str = "", ratio: str = "") -> None:
    print(f"{label:74} {kit:>14} {naive:>14} {ratio:>12}")


def _print_merges(runs: dict[tuple[str, Mode], list[MergeRun]], modes: list[Mode]) -> None:
    _row("measure (median of rounds; ratio > 1: the kit does better)", "kit", "naive RMW", "ratio")
    for mode in modes:
        kit, naive = runs[("kit", mode)], runs[("naive", mode)]
        for label, figure, digits, higher_is_better in (
            ("DynamoDB calls/event", lambda run: run.calls_per_event, 2, False),
            ("events/s", lambda run: run.events_per_second, 1, True),
            ("processor CPU ms/event, emulator apart", lambda run: run.cpu_ms_per_event, 2, False),
        ):
            ours, theirs = (statistics.median(figure(run) for run in strategy) for strategy in (kit, naive))
            ratio = ours / theirs if higher_is_better else theirs / ours
            _row(f"{label} ({mode})", f"{ours:.{digits}f}", f"{theirs:.{digits}f}", f"{ratio:.2f}x")
        for name, strategy in (("kit", kit), ("naive", naive)):
            operations = sum((run.calls for run in strategy), Counter[str]())
            print(f"    {name} calls by operation, all rounds: {dict(operations)}")


def _print_imports(runs: int, environment: dict[str, str], timestamp: int) -> None:
    for module in HANDLERS:
        times = [_import_ms(module) for _ in range(runs)]
        low, middle = min(times), statistics.median(times)
        _row(
            f"{module} import (-X importtime)", f"min {low:.0f} ms", f"median {middle:.0f}", "goal <= 300 ms"
        )
    cold = [_cold_start_cpu(environment, timestamp) for _ in range(runs)]
    for part in ("import", "first_batch", "process"):
        values = [c[part] for c in cold]
        label = {"import": "import", "first_batch": "first 1-message batch", "process": "whole interpreter"}[
            part
        ]
        _row(
            f"processor cold start CPU: {label}",
            f"min {min(values):.0f} ms",
            f"median {statistics.median(values):.0f}",
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150, help="queries per run (plus their responses)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each strategy (median reported)")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh interpreters per import figure")
    parser.add_argument("--call-latency-ms", type=float, default=5.0, help="added per call in the third mode")
    args = parser.parse_args()

    emulator = EmbeddedAws(port=_free_port())
    emulator.start()
    emulator.export_environment()
    try:
        week = IsoWeek.last_full_week_before(datetime.now(UTC))
        events = demo.generate_week(week=week, queries=args.events, seed=5).events
        print(f"{len(events)} events per run, {args.rounds} rounds, embedded moto at {emulator.endpoint}")
        modes = [Mode(threads=1), Mode(threads=4), Mode(threads=1, call_latency_ms=args.call_latency_ms)]
        _print_merges(_merge_figures(events, rounds=args.rounds, modes=modes), modes)
        prefix = f"cold-{uuid.uuid4().hex[:6]}"
        names = ResourceNames(
            queue_name=f"{prefix}-queue.fifo", dlq_name=f"{prefix}-dlq.fifo",
            query_events_table=f"{prefix}-raw", analytics_table=f"{prefix}-analytics",
            reports_table=f"{prefix}-reports", report_rule_name=f"{prefix}-rule",
        )  # fmt: skip
        provision(names=names)
        environment = os.environ | {
            "QUERY_EVENTS_TABLE": names.query_events_table,
            "ANALYTICS_TABLE": names.analytics_table,
            "DLQ_NAME": names.dlq_name,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        _print_imports(args.import_runs, environment, int(week.start.timestamp() * 1000))
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
