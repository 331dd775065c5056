"""The benchmark's load: a second process that POSTs events to a running pipeline over
loopback and watches DynamoDB until each event's row is complete. Prints one JSON object.

Modes (both bounded in count and in time):
  burst  POST ``--events`` events (queries, most with their responses) as fast as the API
         accepts them, in chunks of 25 like the demo; report seconds until every row is complete.
  ingest POST ``--events`` events one per request at ``--rate`` a second to an ingest API
         in front of the SQS stand-in; report each caller's wait and events/s into SQS.
  paced  POST one query+response pair every ``--interval`` s for ``--duration`` s; report
         each pair's seconds from POST to its row answered.

The pipeline's endpoint, API key and table names come from the environment, as for
any client of `cv-analytics up`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from cv_analytics import demo
from cv_analytics.aws.clients import aws_client
from cv_analytics.settings import ResourceNames
from cv_analytics.weeks import IsoWeek

_BATCH_GET_LIMIT = 100


class RowWatcher:
    """Which rows are complete: each requestId needs a timestamp per event type sent."""

    def __init__(self) -> None:
        self._table = ResourceNames().analytics_table
        self._dynamodb = aws_client("dynamodb")
        self._lock = threading.Lock()
        self._expected: dict[str, set[str]] = {}
        self.completed_at: dict[str, float] = {}

    def expect(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            for event in events:
                self._expected.setdefault(event["requestId"], set()).add(f"{event['eventType']}Timestamp")

    def pending(self) -> list[str]:
        with self._lock:
            return [rid for rid in self._expected if rid not in self.completed_at]

    def check(self) -> int:
        """One look at every pending row; returns how many are still pending."""
        waiting = self.pending()
        for start in range(0, len(waiting), _BATCH_GET_LIMIT):
            self._check_keys(waiting[start : start + _BATCH_GET_LIMIT])
        return len(self.pending())

    def _check_keys(self, request_ids: list[str]) -> None:
        keys = [{"requestId": {"S": rid}} for rid in request_ids]
        request = {
            "Keys": keys,
            "ProjectionExpression": "requestId, queryTimestamp, responseTimestamp",
            "ConsistentRead": True,
        }
        items = self._dynamodb.batch_get_item(RequestItems={self._table: request})["Responses"][self._table]
        seen = time.perf_counter()
        with self._lock:
            for item in items:
                rid = item["requestId"]["S"]
                if self._expected[rid] <= item.keys():
                    self.completed_at.setdefault(rid, seen)


def _post(http: httpx.Client, api_url: str, key: str, events: list[dict[str, Any]]) -> None:
    response = http.post(f"{api_url}/v1/events", json=events, headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()


def _events(count: int, seed: int) -> list[dict[str, Any]]:
    """About ``count`` events, whole exchanges only (a query, most with their response)."""
    week = IsoWeek.last_full_week_before(datetime.now(UTC))
    taken: list[dict[str, Any]] = []
    for exchange in _pairs(demo.generate_week(week=week, queries=count, seed=seed).events):
        if len(taken) >= count:
            break
        taken.extend(exchange)
    return taken


def burst(*, api_url: str, key: str, count: int, timeout: float, seed: int) -> dict[str, Any]:
    events, watcher = _events(count, seed), RowWatcher()
    watcher.expect(events)
    began = time.perf_counter()
    with httpx.Client(timeout=30) as http:
        for chunk in demo.chunks(events, 25):
            _post(http, api_url, key, chunk)
    posted = time.perf_counter() - began
    while watcher.check() and time.perf_counter() - began < timeout:
        time.sleep(0.2)
    elapsed = time.perf_counter() - began
    left = watcher.pending()
    result = {"events": len(events), "post_seconds": posted, "seconds": elapsed, "unanswered_rows": len(left)}
    return result | {"unanswered_sample": left[:3]}


def paced(*, api_url: str, key: str, interval: float, duration: float, grace: float, seed: int) -> dict:
    pairs = [p for p in _pairs(_events(int(duration / interval * 2.5) + 20, seed)) if len(p) == 2]
    watcher, posted_at = RowWatcher(), {}
    stop = threading.Event()
    watching = threading.Thread(target=_watch, args=(watcher, stop), daemon=True)
    watching.start()
    began = time.perf_counter()
    with httpx.Client(timeout=30) as http:
        for index, pair in enumerate(pairs):
            due = began + index * interval
            if due - began >= duration:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            watcher.expect(pair)
            posted_at[pair[0]["requestId"]] = time.perf_counter()
            _post(http, api_url, key, pair)
    deadline = time.perf_counter() + grace
    while watcher.pending() and time.perf_counter() < deadline:
        time.sleep(0.1)
    stop.set()
    watching.join(5)
    latencies = [
        watcher.completed_at[rid] - at for rid, at in posted_at.items() if rid in watcher.completed_at
    ]
    return {"pairs": len(posted_at), "latencies": latencies, "unanswered_rows": len(watcher.pending())}


def ingest(*, api_url: str, key: str, sqs_url: str, rate: float, count: int, timeout: float) -> dict:
    """One event per POST at ``rate`` a second (open loop: a slow answer delays no later
    POST); each caller's wait, and events a second from the first POST until all are in SQS."""
    events = _events(count, seed=5)[:count]
    began = time.perf_counter()
    waits = asyncio.run(_paced_posts(api_url, key, events, rate=rate, began=began))
    sqs = aws_client("sqs")
    while (
        _in_sqs(sqs, sqs_url) < len(events) - sum(w is None for w in waits)
        and time.perf_counter() - began < timeout
    ):
        time.sleep(0.05)
    elapsed, arrived = time.perf_counter() - began, _in_sqs(sqs, sqs_url)
    answered = [wait for wait in waits if wait is not None]
    failed = len(waits) - len(answered)
    return {"events": len(events), "waits": answered, "failed": failed, "in_sqs": arrived, "seconds": elapsed}


async def _paced_posts(api_url: str, key: str, events: list[dict], *, rate: float, began: float) -> list:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as http:

        async def post(index: int, event: dict) -> float | None:
            await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
            sent = time.perf_counter()
            try:
                (await http.post(f"{api_url}/v1/events", json=[event])).raise_for_status()
            except httpx.HTTPError as exc:  # counted and shown: an overloaded API may refuse
                print(f"POST failed: {exc!r}", file=sys.stderr)
                return None
            return time.perf_counter() - sent

        return list(await asyncio.gather(*(post(i, e) for i, e in enumerate(events))))


def _in_sqs(sqs: Any, sqs_url: str) -> int:
    url = f"{sqs_url}/000000000000/benchmark.fifo"
    response = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(response["Attributes"]["ApproximateNumberOfMessages"])


def _pairs(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["requestId"], []).append(event)
    return list(grouped.values())


def _watch(watcher: RowWatcher, stop: threading.Event) -> None:
    while not stop.is_set():
        watcher.check()
        stop.wait(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["burst", "paced", "ingest"])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--events", type=int, default=500, help="burst: how many events")
    parser.add_argument("--timeout", type=float, default=300.0, help="burst: give up after this many s")
    parser.add_argument("--interval", type=float, default=0.1, help="paced: seconds between pairs")
    parser.add_argument("--duration", type=float, default=60.0, help="paced: seconds of sending")
    parser.add_argument("--grace", type=float, default=60.0, help="paced: wait for stragglers this long")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sqs-url", help="ingest: the SQS stand-in, asked how many events arrived")
    parser.add_argument("--rate", type=float, default=200.0, help="ingest: events a second")
    args = parser.parse_args()
    if args.mode == "burst":
        result = burst(
            api_url=args.api_url, key=args.api_key, count=args.events, timeout=args.timeout, seed=args.seed
        )
    elif args.mode == "ingest":
        result = ingest(
            api_url=args.api_url,
            key=args.api_key,
            sqs_url=args.sqs_url,
            rate=args.rate,
            count=args.events,
            timeout=args.timeout,
        )
    else:
        result = paced(
            api_url=args.api_url,
            key=args.api_key,
            interval=args.interval,
            duration=args.duration,
            grace=args.grace,
            seed=args.seed,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
