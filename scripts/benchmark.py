"""`make benchmark`: every figure of issue 9 next to a naive baseline, from one run, as one
table; printed and written to docs/benchmarks.md with the machine described.

Servers run in their own processes (scripts/benchmark_pipeline.py), the load in another
(scripts/benchmark_load.py), over loopback. The processor and reporter figures come from
their own scripts (scripts/benchmark_processor.py, scripts/benchmark_reporter.py), whose
table rows are taken as they print them. Every part is bounded in count and in time;
sizes are flags. A part that fails leaves a row saying so and the rest still runs.

Usage: python scripts/benchmark.py [--events N] [--big-events N] [--naive-events N]
       [--paced-seconds S] [--naive-paced-seconds S] [--ingest-events N] [--parts a,b] ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
HEADER = [
    "| measure | naive baseline | kit "
    "| ratio (processor rows: > 1 = kit better; reporter rows: kit ÷ baseline) |",
    "|---|---|---|---|",
]
_PORTS = iter(range(18_300, 18_400))


@contextmanager
def server(*argv: str, timeout: float = 120.0) -> Iterator[dict[str, Any]]:
    """A benchmark server in its own process until the with-block ends; yields its ready line."""
    command = [sys.executable, str(SCRIPTS / "benchmark_pipeline.py"), *argv]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    try:
        line = _first_line(process, timeout=timeout)
        yield json.loads(line)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _first_line(process: subprocess.Popen[bytes], *, timeout: float) -> str:
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline, buffer = time.monotonic() + timeout, b""
    while b"\n" not in buffer:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"benchmark server {process.args[2:4]} never became ready")
        buffer += process.stdout.read() or b""
        time.sleep(0.05)
    return buffer.split(b"\n", 1)[0].decode()


def load(mode: str, *, env: dict[str, str], limit: float, **options: object) -> dict[str, Any]:
    """Run the load process to completion; its JSON answer."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    command = [sys.executable, str(SCRIPTS / "benchmark_load.py"), mode, *flags]
    done = subprocess.run(command, env=env, capture_output=True, timeout=limit, cwd=ROOT)
    if done.returncode != 0:
        reason = (done.stderr.decode().strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the {mode} load failed: {reason}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def _client_env(aws_endpoint: str, dynamodb_endpoint: str | None = None) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL_DYNAMODB"}
    return environment | {
        "AWS_ENDPOINT_URL": aws_endpoint,
        **({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint} if dynamodb_endpoint else {}),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _pipeline(layout: str, pollers: int) -> Any:
    return server("pipeline", f"--layout={layout}", f"--api-port={next(_PORTS)}",
                  f"--aws-port={next(_PORTS)}", f"--pollers={pollers}")  # fmt: skip


def burst(layout: str, events: int, *, pollers: int, timeout: float) -> dict[str, Any]:
    with _pipeline(layout, pollers) as ready:
        env = _client_env(ready["aws_endpoint"], ready.get("dynamodb_endpoint"))
        return load("burst", env=env, limit=timeout + 60, api_url=ready["api_url"],
                    api_key=ready["api_key"], events=events, timeout=timeout)  # fmt: skip


def paced(layout: str, seconds: float, *, pollers: int, grace: float) -> dict[str, Any]:
    with _pipeline(layout, pollers) as ready:
        env = _client_env(ready["aws_endpoint"], ready.get("dynamodb_endpoint"))
        return load("paced", env=env, limit=seconds + grace + 60, api_url=ready["api_url"],
                    api_key=ready["api_key"], duration=seconds, grace=grace)  # fmt: skip


def ingest(layout: str, events: int, *, rate: float, delay: float) -> dict[str, Any]:
    with server("ingest", f"--layout={layout}", f"--api-port={next(_PORTS)}", f"--delay={delay}") as ready:
        env = _client_env(ready["sqs_url"])
        return load("ingest", env=env, limit=events / rate + 120, api_url=ready["api_url"],
                    api_key=ready["api_key"], sqs_url=ready["sqs_url"], rate=rate, events=events,
                    timeout=60)  # fmt: skip


# --- rows ---------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _row(label: str, naive: str, kit: str, ratio: str) -> str:
    return f"| {label} | {naive} | {kit} | {ratio} |"


def _rate(result: dict[str, Any]) -> str:
    done = result["events"] - result["unanswered_rows"]
    note = "" if not result["unanswered_rows"] else f" ({result['unanswered_rows']} rows unanswered)"
    return f"{done / result['seconds']:.1f} events/s{note}"


def _per_second(result: dict[str, Any]) -> float:
    return (result["events"] - result["unanswered_rows"]) / result["seconds"]


def _median_burst(layout: str, events: int, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The burst run ``args.burst_repeats`` times: the median run, and every run's rate."""
    runs = [
        burst(layout, events, pollers=args.pollers, timeout=args.burst_timeout)
        for _ in range(args.burst_repeats)
    ]
    runs.sort(key=_per_second)
    spread = ", ".join(f"{_per_second(run):.0f}" for run in runs)
    return runs[len(runs) // 2], f"{_rate(runs[len(runs) // 2])} (median of {len(runs)} runs: {spread})"


def throughput_rows(args: argparse.Namespace) -> list[str]:
    naive = burst("naive", args.naive_events, pollers=1, timeout=args.burst_timeout)
    single = burst("single", args.events, pollers=args.pollers, timeout=args.burst_timeout)
    split = burst("split", args.events, pollers=args.pollers, timeout=args.burst_timeout)
    small, small_runs = _median_burst("kit", args.events, args)
    big, big_runs = _median_burst("kit", args.big_events, args)
    ratio = f"{_per_second(small) / _per_second(naive):.1f}x faster"
    scaling = _per_second(big) / _per_second(small)
    return [
        _row(f"embedded end to end, {args.events:,} events POSTed at once, until every row is answered "
             f"(goal ≥ 100 events/s; naive: {args.naive_events:,} events)",
             _rate(naive), small_runs, ratio),
        _row(f"the same, {args.big_events:,} events (goal: no slower per event than {args.events:,})",
             "—", big_runs, f"{scaling:.2f}x the {args.events:,}-event rate (medians)"),
        _row(f"what each step bought, {args.events:,} events: one moto process for all services "
             "(baseline) → DynamoDB in a process of its own",
             _rate(single), _rate(split), f"{_per_second(split) / _per_second(single):.2f}x"),
        _row(f"… → and moto lightened in it (UpdateItem, projections, index sort; the kit, "
             f"{args.events:,} events, median as above)",
             _rate(split), _rate(small), f"{_per_second(small) / _per_second(split):.2f}x"),
    ]  # fmt: skip


def latency_rows(args: argparse.Namespace) -> list[str]:
    naive = paced("naive", args.naive_paced_seconds, pollers=1, grace=args.paced_grace)
    kit = paced("kit", args.paced_seconds, pollers=args.pollers, grace=args.paced_grace)

    def shown(result: dict[str, Any]) -> str:
        waits = result["latencies"]
        if not waits:
            return f"none answered of {result['pairs']}"
        p50, p95 = statistics.median(waits), _percentile(waits, 0.95)
        left = (
            f", {result['unanswered_rows']} of {result['pairs']} unanswered"
            if result["unanswered_rows"]
            else ""
        )
        return f"p50 {p50:.2f} s, p95 {p95:.2f} s{left}"

    ratio = "—"
    if naive["latencies"] and kit["latencies"]:
        ratio = (
            f"p95 {_percentile(naive['latencies'], 0.95) / _percentile(kit['latencies'], 0.95):.0f}x shorter"
        )
    label = (
        f"embedded POST → row answered, one pair every 100 ms for {args.paced_seconds:.0f} s "
        f"(naive: {args.naive_paced_seconds:.0f} s; stragglers waited for {args.paced_grace:.0f} s; "
        "goal p95 ≤ 1 s)"
    )
    return [_row(label, shown(naive), shown(kit), ratio)]  # fmt: skip


def ingest_rows(args: argparse.Namespace) -> list[str]:
    naive = ingest("naive", args.ingest_events, rate=args.ingest_rate, delay=args.sqs_delay)
    kit = ingest("kit", args.ingest_events, rate=args.ingest_rate, delay=args.sqs_delay)
    setting = f"{args.ingest_rate:.0f} events/s, {args.sqs_delay * 1000:.0f} ms injected SQS latency"
    rows = []
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        n, k = _percentile(naive["waits"], fraction) * 1000, _percentile(kit["waits"], fraction) * 1000
        rows.append(_row(f"ingest caller wait {name}, {setting}", f"{n:.1f} ms", f"{k:.1f} ms",
                         f"{n / k:.0f}x shorter"))  # fmt: skip
    if naive["failed"] or kit["failed"]:
        rows.append(_row("ingest: requests that failed", str(naive["failed"]), str(kit["failed"]), "—"))
    n_rate, k_rate = naive["in_sqs"] / naive["seconds"], kit["in_sqs"] / kit["seconds"]
    rows.append(_row(f"ingest: events/s reaching SQS, {args.ingest_events:,} events, {setting}",
                     f"{n_rate:.0f} events/s", f"{k_rate:.0f} events/s",
                     f"{k_rate / n_rate:.2f}x"))  # fmt: skip
    return rows


def script_rows(name: str, extra: list[str], *, timeout: float) -> list[str]:
    """The table rows another benchmark script prints, as rows of this table."""
    path = SCRIPTS / name
    if not path.exists():
        return [_row(f"{name}: not written yet, so no figures in this run", "—", "—", "—")]
    done = subprocess.run([sys.executable, str(path), *extra], capture_output=True, timeout=timeout, cwd=ROOT)
    output = done.stdout.decode().splitlines()
    if done.returncode != 0:
        reason = (done.stderr.decode().strip().splitlines() or ["no output"])[-1][:200]
        return [_row(f"{name} failed: {reason}", "—", "—", "—")]
    rows = _markdown_rows(output) or _fixed_width_rows(output)
    return rows or [_row(f"{name} printed no table rows", "—", "—", "—")]


def _markdown_rows(output: list[str]) -> list[str]:
    """benchmark_reporter.py's rows: ``| measure | baseline | kit | kit / baseline |``."""
    lines = [line for line in output if line.startswith("|") and not line.startswith("|---")]
    return lines[1:]


def _fixed_width_rows(output: list[str]) -> list[str]:
    """benchmark_processor.py's rows, labelled as the processor's: a padded label, then kit,
    naive and ratio right-aligned under the header's "kit", "naive …" and "ratio"."""
    header = next((line for line in output if line.startswith("measure")), None)
    if header is None:
        return []
    kit_end, naive_end = (match.end() for match in list(_HEADER_CELL.finditer(header))[-3:-1])
    rows = []
    for line in output:
        if line is header or line.startswith(" ") or len(line) < naive_end:
            continue
        label, _, kit = line[:kit_end].rstrip().rpartition("  ")
        naive, note = line[kit_end:naive_end].strip(), line[naive_end:].strip()
        if not label.strip():
            continue
        if naive.startswith("median") or not naive:  # a figure of the kit alone, not a baseline
            kit, naive = f"{kit.strip()}, {naive}".strip(", "), "—"
        rows.append(_row(f"processor: {label.strip()}", naive, kit.strip(), note or "—"))
    return rows


# A header cell: words with single spaces between them, two or more spaces around.
_HEADER_CELL = re.compile(r"\S+(?: \S+)*")


def _guarded(part: str, produce: Any, args: argparse.Namespace) -> list[str]:
    began = time.monotonic()
    try:
        rows = produce(args)
    except Exception as exc:  # one broken part must not cost the rest of the table
        rows = [_row(f"{part}: the measurement failed ({type(exc).__name__}: {exc})"[:300], "—", "—", "—")]
    print(f"  {part}: {time.monotonic() - began:.0f} s", file=sys.stderr)
    return rows


# --- the machine and the note -------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs ({cpu}), {memory} memory, load average {load:.1f} at the start, "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")  # fmt: skip


def write_note(path: Path, *, described: str, table: list[str], seconds: float) -> None:
    command = " ".join(["python scripts/benchmark.py", *sys.argv[1:]])
    path.write_text(
        "# Benchmarks\n\n"
        "Written by `make benchmark` (scripts/benchmark.py); every figure and its baseline come from "
        "the same run. See the README's performance section for what each row measures.\n\n"
        f"Machine: {described}.\n\n"
        f"Run: `{command}`, {seconds / 60:.1f} minutes.\n\n" + "\n".join(table) + "\n",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="kit end-to-end burst")
    parser.add_argument("--big-events", type=int, default=5000, help="kit end-to-end burst, the deep queue")
    parser.add_argument("--naive-events", type=int, default=300, help="baseline end-to-end burst")
    parser.add_argument("--burst-timeout", type=float, default=240.0)
    parser.add_argument("--burst-repeats", type=int, default=3, help="kit bursts: runs of each size (median)")
    parser.add_argument("--pollers", type=int, default=4)
    parser.add_argument("--paced-seconds", type=float, default=60.0)
    parser.add_argument("--naive-paced-seconds", type=float, default=60.0)
    parser.add_argument("--paced-grace", type=float, default=30.0)
    parser.add_argument("--ingest-events", type=int, default=2000)
    parser.add_argument("--ingest-rate", type=float, default=200.0)
    parser.add_argument("--sqs-delay", type=float, default=0.3)
    parser.add_argument("--parts", default="throughput,latency,ingest,processor,reporter")
    parser.add_argument("--reporter-args", default="--repeats 1", help="passed to benchmark_reporter.py")
    parser.add_argument("--processor-args", default="--rounds 1 --import-runs 3",
                        help="passed to benchmark_processor.py")  # fmt: skip
    parser.add_argument("--note", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    began, described = time.monotonic(), machine()
    print(f"machine: {described}", file=sys.stderr)
    parts = {
        "throughput": throughput_rows,
        "latency": latency_rows,
        "ingest": ingest_rows,
        "processor": lambda a: script_rows("benchmark_processor.py", a.processor_args.split(), timeout=300),
        "reporter": lambda a: script_rows("benchmark_reporter.py", a.reporter_args.split(), timeout=300),
    }
    table = list(HEADER)
    for part in args.parts.split(","):
        table += _guarded(part, parts[part], args)
    print("\n".join(table))
    write_note(args.note, described=described, table=table, seconds=time.monotonic() - began)
    print(f"\nwritten to {args.note}", file=sys.stderr)


if __name__ == "__main__":
    main()
