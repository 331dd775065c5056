"""Measure the reporter's read of a week: materialising it (the baseline) against streaming it.

The baseline is today's path: ``AnalyticsStore.records_for_week`` for the week and the week
before (every attribute, boto3's TypeDeserializer, a list of ``AnalyticsRecord``), then
``summarise_week`` over the lists. The kit is ``WeekReader.summarise``: a projected Query,
decoded page by page into running tallies. Both must give the same summary; the script
fails if they do not.

1. Decode + aggregate: ``--records`` records in the week and as many in the week before,
   served from pre-built DynamoDB-JSON pages (no emulator) that are parsed with botocore's
   own response parser, as the low-level client does. "Own side" is the reporter's CPU
   less that parsing; the parsing is shown on its own row.
2. End to end: ``--e2e-records`` records per week written to the kit's DynamoDB emulator
   process (moto's server, as `up` runs it), and the summary read back from it over HTTP;
   then the kit's read again against that process with moto as released (--plain-dynamodb).
   A third variant, ``kept``, is the kit as it runs week after week: last week's comparison
   figures were kept with last week's report (made once, untimed, before the runs), so only
   this week is read.

Every variant runs in a fresh subprocess, so neither sees the other's heap; peak RSS is
that process's high-water mark (interpreter and imports included), and the traced peak
(tracemalloc, in a separate run because tracing slows everything) is what the run itself
allocated. Figures are medians of ``--repeats`` runs.

Usage: python scripts/benchmark_reporter.py [--records N] [--e2e-records N] [--repeats N]
       [--skip-decode] [--skip-e2e] [--pages-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cv_analytics.aws.week_reader import COMPARISON_ATTRIBUTES, WEEK_ATTRIBUTES
from cv_analytics.records import derive
from cv_analytics.weeks import IsoWeek

WEEK = IsoWeek(2025, 47)
TABLE = "benchmark-analytics"
PAGE_BYTES = 1_000_000  # DynamoDB's page limit, counted on the whole item
VARIANTS = ("baseline", "kit")
E2E_VARIANTS = (*VARIANTS, "kept")
REPORTS_TABLE = "benchmark-reports"
LAYOUTS = {"full": None, "week": WEEK_ATTRIBUTES, "comparison": COMPARISON_ATTRIBUTES}
_SKILLS = [
    *("Python", "Go", "Rust", "TypeScript", "JavaScript", "C#", ".NET", "Java", "Kotlin", "SQL"),
    *("PostgreSQL", "DynamoDB", "AWS", "Azure", "GCP", "Terraform", "Kubernetes", "Docker", "React"),
    *("Vue", "FastAPI", "Django", "Flask", "Spark", "Kafka", "Redis", "GraphQL", "gRPC", "Linux"),
]
_QUESTIONS = [
    "Do you have {} experience?",
    "How many years of {} have you got?",
    "what projects used {}",
    "Have you led a team that used {}?",
    "Is {} your strongest skill?",
]
_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


# --- synthetic records, as the processor stores them -------------------------------------


def synthetic_items(week: IsoWeek, *, count: int, seed: int) -> Iterator[dict[str, Any]]:
    """``count`` low-level items of ``week``: 75% answered, 20% unanswered, 5% orphans."""
    rng = random.Random(seed)
    start = int(week.start.timestamp() * 1000)
    for number in range(count):
        asked = start + rng.randrange(7 * 86_400_000 - 60_000)
        kind = rng.random()
        halves: dict[str, Any] = {}
        if kind >= 0.05:
            halves |= _query_half(rng, asked)
        if kind < 0.05 or kind >= 0.25:
            halves |= _response_half(rng, asked + rng.randrange(150, 6_000))
        plain = {"requestId": f"{week}-{number:07d}", **halves, **derive(halves, ttl_days=90)}
        yield {name: _encode(value) for name, value in plain.items() if value is not None}


def _query_half(rng: random.Random, asked: int) -> dict[str, Any]:
    if rng.random() < 0.6:  # common questions, in a few spellings
        query = rng.choice(_QUESTIONS).format(rng.choice(_SKILLS))
        query = rng.choice([query, query.lower(), f"  {query} "])
    else:  # free text, mostly asked once
        query = f"Tell me about your work on project {rng.randrange(40_000)} with {rng.choice(_SKILLS)}"
    return {
        "query": query,
        "queryTimestamp": asked,
        "querySessionId": rng.choice(["anonymous", f"session-{rng.randrange(25_000):05d}"]),
        "userAgent": _AGENT,
        "referer": "https://cv.example.com/chat",
    }


def _response_half(rng: random.Random, answered: int) -> dict[str, Any]:
    similarity = rng.random()
    kind = "full" if similarity > 0.8 else "partial" if similarity > 0.5 else "none"
    skill = rng.choice(_SKILLS)
    return {
        "responseTimestamp": answered,
        "responseSessionId": f"session-{rng.randrange(25_000):05d}",
        "matchType": kind,
        "matchScore": round(similarity * 100),
        "matchQuality": round(similarity, 4),
        "reasoning": f'Excellent match: "{skill}" with {similarity:.2f} similarity',
        "vectorMatches": rng.randrange(1, 10),
        "sourcesUsed": rng.sample(_SKILLS, rng.randrange(0, 4)) or None,
    }


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_encode(element) for element in value]}
    return {"N": str(value)}


def _item_size(item: dict[str, Any]) -> int:
    """Roughly DynamoDB's item size: names plus values."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


# --- 1. pre-built pages, served as the low-level client would -----------------------------


def write_pages(directory: Path, *, records: int) -> None:
    """Each week's pages in every layout, cut where DynamoDB would cut them (1 MB of items)."""
    for seed, week in enumerate((WEEK, WEEK.previous())):
        page: list[dict[str, Any]] = []
        size = number = 0
        for item in synthetic_items(week, count=records, seed=seed):
            if size + _item_size(item) > PAGE_BYTES:
                _write_page(directory, week, number, page)
                page, size, number = [], 0, number + 1
            page.append(item)
            size += _item_size(item)
        _write_page(directory, week, number, page)


def _write_page(directory: Path, week: IsoWeek, number: int, items: list[dict[str, Any]]) -> None:
    for layout, attributes in LAYOUTS.items():
        shown = items if attributes is None else [_project(item, attributes) for item in items]
        body = json.dumps({"Items": shown, "Count": len(shown), "ScannedCount": len(shown)})
        (directory / f"{week}-{layout}-{number:04d}.json").write_text(body)


def _project(item: dict[str, Any], attributes: tuple[str, ...]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name in attributes}


class PagedFiles:
    """A stand-in low-level DynamoDB client that answers week Queries from page files.

    It honours the projection and parses each page with botocore's response parser, and
    counts the CPU that parsing takes, so it can be told apart from the reporter's own.
    """

    def __init__(self, directory: Path) -> None:
        import botocore.session
        from botocore.hooks import HierarchicalEmitter
        from botocore.parsers import create_parser

        model = botocore.session.get_session().get_service_model("dynamodb")
        self._operation = model.operation_model("Query")
        self._parser = create_parser("json")
        self._directory = directory
        self.meta = SimpleNamespace(events=HierarchicalEmitter())
        self.parse_cpu = 0.0

    def get_paginator(self, operation: str) -> PagedFiles:
        assert operation == "query", operation
        return self

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        week = request["ExpressionAttributeValues"][":week"]["S"]
        for path in sorted(self._directory.glob(f"{week}-{_layout(request)}-*.json")):
            started = time.process_time()
            response = {"body": path.read_bytes(), "headers": {}, "status_code": 200}
            page = self._parse(response)
            self.parse_cpu += time.process_time() - started
            yield page

    def _parse(self, response: dict[str, Any]) -> dict[str, Any]:
        """What botocore's endpoint does with a response: the before-parse hooks, then the parser."""
        customized: dict[str, Any] = {}
        self.meta.events.emit(
            "before-parse.dynamodb.Query",
            operation_model=self._operation,
            response_dict=response,
            customized_response_dict=customized,
        )
        return self._parser.parse(response, self._operation.output_shape) | customized


def _layout(request: dict[str, Any]) -> str:
    if "ProjectionExpression" not in request:
        return "full"
    names = request["ExpressionAttributeNames"]
    asked = {names.get(part.strip(), part.strip()) for part in request["ProjectionExpression"].split(",")}
    return next(layout for layout, attributes in LAYOUTS.items() if attributes and set(attributes) == asked)


# --- 2. moto's server in its own process ------------------------------------------------------


def start_moto(*, plain: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """The kit's DynamoDB emulator process, as `up` runs it (``plain``: moto as released), on
    a free port; returns it and its endpoint."""
    from cv_analytics.embedded import free_port, wait_until_ready

    port = free_port()
    command = [sys.executable, "-m", "cv_analytics.embedded_server", "--port", str(port)]
    command += ["--services", "dynamodb", *(["--plain-dynamodb"] if plain else [])]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    wait_until_ready(f"http://127.0.0.1:{port}/moto-api/", timeout=60, alive=server)
    return server, f"http://127.0.0.1:{port}"


def seed_moto(endpoint: str, *, records: int) -> None:
    from cv_analytics.provisioning import table_definition
    from cv_analytics.resources import load_resources

    client = _moto_client(endpoint)
    tables = load_resources().tables
    client.create_table(TableName=TABLE, **table_definition(tables.analytics))
    client.create_table(TableName=REPORTS_TABLE, **table_definition(tables.reports))
    for seed, week in enumerate((WEEK, WEEK.previous())):
        batch: list[dict[str, Any]] = []
        for item in synthetic_items(week, count=records, seed=seed):
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                client.batch_write_item(RequestItems={TABLE: batch})
                batch = []
        if batch:
            client.batch_write_item(RequestItems={TABLE: batch})
    # The first Query loads moto's code paths; neither variant should pay for that.
    client.query(
        TableName=TABLE,
        IndexName="week-index",
        KeyConditionExpression="#week = :week",
        ExpressionAttributeNames={"#week": "week"},
        ExpressionAttributeValues={":week": {"S": str(WEEK)}},
        Limit=1,
    )
    # Last week's report, as the reporter made it: claimed, summarised (its figures kept).
    client.put_item(
        TableName=REPORTS_TABLE, Item={"week": {"S": str(WEEK.previous())}, "status": {"S": "sent"}}
    )
    from cv_analytics.aws.week_reader import KeptComparisons, WeekReader

    kept = KeptComparisons(client=client, table_name=REPORTS_TABLE)
    WeekReader(client=client, table_name=TABLE, comparisons=kept).summarise(WEEK.previous())
    if kept.get(WEEK.previous()) is None:
        raise SystemExit("last week's comparison figures were not kept")


def _moto_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("dynamodb", endpoint_url=endpoint)


# --- one measured run, in a fresh process --------------------------------------------------


def run_child(arguments: argparse.Namespace) -> None:
    if arguments.pages:
        client: Any = PagedFiles(Path(arguments.pages))
    else:
        client = _moto_client(arguments.endpoint)
    gc.collect()
    rss_before = _rss_mb()
    if arguments.trace:
        tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    summary = _summarise(arguments.variant, client)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if arguments.trace else None
    Path(arguments.summary).write_bytes(pickle.dumps(summary))
    figures = {
        "cpu": cpu,
        "parse_cpu": getattr(client, "parse_cpu", None),
        "wall": wall,
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "traced_peak_mb": traced_peak,
    }
    print(json.dumps(figures))


def _summarise(variant: str, client: Any) -> Any:
    if variant == "baseline":
        from cv_analytics.aggregation import summarise_week
        from cv_analytics.aws.dynamodb import AnalyticsStore

        store = AnalyticsStore(client=client, table_name=TABLE)
        return summarise_week(
            week=WEEK, records=store.records_for_week(WEEK), previous=store.records_for_week(WEEK.previous())
        )
    from cv_analytics.aws.week_reader import KeptComparisons, WeekReader

    kept = KeptComparisons(client=client, table_name=REPORTS_TABLE) if variant == "kept" else None
    return WeekReader(client=client, table_name=TABLE, comparisons=kept).summarise(WEEK)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(variant: str, source: list[str], *, trace: bool = False) -> tuple[dict[str, Any], Any]:
    with tempfile.NamedTemporaryFile(suffix=".pickle") as summary:
        command = [sys.executable, __file__, "child", "--variant", variant, "--summary", summary.name]
        command += [*source, *(["--trace"] if trace else [])]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.splitlines()[-1]), pickle.loads(Path(summary.name).read_bytes())


def measure_all(
    source: list[str], *, repeats: int, trace: bool, variants: tuple[str, ...] = VARIANTS
) -> dict[str, dict[str, float]]:
    """Median figures per variant; raises if the variants disagree on the summary."""
    results: dict[str, dict[str, float]] = {}
    summaries = {}
    for variant in variants:
        runs = []
        for _ in range(repeats):
            figures, summaries[variant] = measure(variant, source)
            runs.append(figures)
        results[variant] = {
            name: statistics.median(run[name] for run in runs)
            for name in runs[0]
            if runs[0][name] is not None
        }
        if trace:
            results[variant]["traced_peak_mb"] = measure(variant, source, trace=True)[0]["traced_peak_mb"]
    if any(summary != summaries["baseline"] for summary in summaries.values()):
        raise SystemExit("a streamed summary differs from the materialised one")
    return results


# --- the table ---------------------------------------------------------------------------------


def _row(label: str, results: dict[str, dict[str, float]], key: str, unit: str, kit: str = "kit") -> str:
    base, kit_figure = results["baseline"][key], results[kit][key]
    return _figures_row(label, base, kit_figure, unit)


def _figures_row(label: str, base: float, kit: float, unit: str) -> str:
    ratio = f"{kit / base:.2f}x" if base else "n/a"
    return f"| {label} | {base:,.2f} {unit} | {kit:,.2f} {unit} | {ratio} |"


def decode_rows(results: dict[str, dict[str, float]], *, records: int) -> list[str]:
    for figures in results.values():
        figures["own_cpu"] = figures["cpu"] - figures["parse_cpu"]
    scale = f"{records:,} + {records:,} records (this week + last week)"
    return [
        _row(f"own side CPU (decode + aggregate), {scale}", results, "own_cpu", "s"),
        _row("botocore response parsing CPU (same pages)", results, "parse_cpu", "s"),
        _row("total CPU", results, "cpu", "s"),
        _row("wall", results, "wall", "s"),
        _row("peak RSS of the process", results, "peak_rss_mb", "MB"),
        _row("RSS before the read (interpreter + imports)", results, "rss_before_mb", "MB"),
        _row("traced peak allocated by the read (tracemalloc)", results, "traced_peak_mb", "MB"),
    ]


def end_to_end(*, records: int, repeats: int, plain: bool, variants: tuple[str, ...]) -> Any:
    server, endpoint = start_moto(plain=plain)
    try:
        seed_moto(endpoint, records=records)
        return measure_all(["--endpoint", endpoint], repeats=repeats, trace=False, variants=variants)
    finally:
        assert server.stdin is not None
        server.stdin.close()  # the emulator's cue to stop
        server.wait(timeout=30)


def end_to_end_rows(results: dict[str, dict[str, float]], *, records: int) -> list[str]:
    scale = f"{records:,} + {records:,} records from the kit's DynamoDB emulator (moto)"
    kept = "last week's figures kept with its report (steady state: this week read)"
    return [
        _row(f"report summary, wall, {scale}, both weeks read (goal ≤ 10 s)", results, "wall", "s"),
        _row("reporter process CPU (both weeks read)", results, "cpu", "s"),
        _row("reporter process peak RSS (both weeks read)", results, "peak_rss_mb", "MB"),
        _row(f"report summary, wall, {kept} (goal ≤ 10 s)", results, "wall", "s", kit="kept"),
        _row(f"reporter process CPU, {kept}", results, "cpu", "s", kit="kept"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("child")
    child.add_argument("--variant", choices=E2E_VARIANTS, required=True)
    child.add_argument("--summary", required=True)
    child.add_argument("--pages")
    child.add_argument("--endpoint")
    child.add_argument("--trace", action="store_true")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--e2e-records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--e2e-repeats", type=int, default=1)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-decode", action="store_true")
    parser.add_argument("--pages-dir", help="keep the generated pages here and reuse them next time")
    arguments = parser.parse_args()
    if arguments.command == "child":
        run_child(arguments)
        return
    load, python = os.getloadavg()[0], sys.version.split()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start, Python {python}")
    lines = ["| measure | baseline (materialise) | kit (stream) | kit / baseline |", "|---|---|---|---|"]
    if not arguments.skip_decode:
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(arguments.pages_dir or scratch)
            if not any(directory.glob("*.json")):
                directory.mkdir(parents=True, exist_ok=True)
                write_pages(directory, records=arguments.records)
            results = measure_all(["--pages", str(directory)], repeats=arguments.repeats, trace=True)
            lines += decode_rows(results, records=arguments.records)
    if not arguments.skip_e2e:
        sized = {"records": arguments.e2e_records, "repeats": arguments.e2e_repeats}
        results = end_to_end(plain=False, variants=E2E_VARIANTS, **sized)
        lines += end_to_end_rows(results, records=arguments.e2e_records)
        plain = end_to_end(plain=True, variants=VARIANTS, **sized)
        lines.append(
            _figures_row(
                "the kit's read, both weeks: moto as released (baseline column) → the kit's "
                "DynamoDB emulator: json.dumps answers, projections picked, index sorted on key "
                "values (kit column)",
                plain["kit"]["wall"],
                results["kit"]["wall"],
                "s",
            )
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
