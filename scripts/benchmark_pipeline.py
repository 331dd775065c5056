"""The benchmark's servers: each runs in its own process until its stdin closes, and prints
one JSON line once it is ready (where it listens, the API key). The load comes from
another process (scripts/benchmark_load.py); scripts/benchmark.py runs both and makes
the table.

  pipeline  The local pipeline as `cv-analytics up` runs it. ``--layout kit`` is today's
            (DynamoDB and the other services in two moto processes, moto's UpdateItem
            lightened, several runner pollers); ``--layout split`` the same with UpdateItem
            as moto releases it; ``--layout single`` one moto process for everything, as the
            kit had it before; ``--layout naive`` the first one (moto's server in this
            interpreter, one poller, one send at a time).
  ingest    An ingest API in front of a fast SQS stand-in behind 300 ms of injected latency.
            ``--layout kit`` is the kit's API (durable outbox, batched background sends);
            ``--layout naive`` sends each event with a synchronous SendMessage before it
            answers, from a thread pool large enough for the rate times the latency.
  sqs       The SQS stand-in and the fault proxy, started by ``ingest`` in a process of
            their own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from botocore.config import Config
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cv_analytics.aws.clients import aws_client
from cv_analytics.embedded import EmbeddedAws, wait_until_ready
from cv_analytics.events import parse_events
from cv_analytics.testing.fake_sqs import FakeSqs
from cv_analytics.testing.fault_proxy import FaultProxy, Mode
from cv_analytics_cli.local import EMBEDDED_EMAIL_DEFAULTS, LocalPipeline

API_KEY_FOR_INGEST = "benchmark-ingest-key"


def _announce(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def _until_stdin_closes() -> None:
    while sys.stdin.buffer.read(4096):
        pass


def serve_pipeline(*, layout: str, api_port: int, aws_port: int, pollers: int) -> None:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    in_process = None
    if layout == "naive":
        in_process = _moto_in_this_process(aws_port)
    emulator = {
        "single": EmbeddedAws(port=aws_port, plain_dynamodb=True),
        "split": EmbeddedAws(port=aws_port, dynamodb_port=0, plain_dynamodb=True),
        "kit": EmbeddedAws(port=aws_port, dynamodb_port=0),
    }.get(layout)
    with tempfile.TemporaryDirectory() as state:
        pipeline = LocalPipeline(
            api_port=api_port,
            aws_port=aws_port,
            schedule=False,
            pollers=1 if layout == "naive" else pollers,
            state_dir=Path(state),
            embedded=emulator,
        )
        pipeline.start()
        try:
            _announce(
                api_url=pipeline.api_url,
                api_key=pipeline.api_key,
                aws_endpoint=pipeline.aws_endpoint,
                dynamodb_endpoint=pipeline.dynamodb_endpoint,
            )
            _until_stdin_closes()
        finally:
            pipeline.stop()
            if in_process is not None:
                in_process.stop()


def _moto_in_this_process(port: int):
    """The layout before the kit moved moto out: its server on a thread of this interpreter."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # as `up` did: no access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    aws = EmbeddedAws(port=port)
    wait_until_ready(f"{aws.endpoint}/moto-api/", timeout=30)
    aws.export_environment()
    for name, value in EMBEDDED_EMAIL_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ["INGEST_SENDER_CONCURRENCY"] = "1"  # as `up` had to, with moto in process
    return server


def serve_sqs(*, delay: float) -> None:
    """The SQS stand-in behind the fault proxy, in a process of its own, so neither takes
    CPU (or the GIL) from the API under test."""
    fake = FakeSqs()
    proxy = FaultProxy(upstream=("127.0.0.1", fake.port), delay=delay)
    proxy.mode = Mode.DELAY
    _announce(sqs_url=fake.url, proxied_url=proxy.url)
    _until_stdin_closes()
    proxy.close()
    fake.close()


def serve_ingest(*, layout: str, api_port: int, delay: float, threads: int) -> None:
    command = [sys.executable, __file__, "sqs", "--layout", layout, "--api-port", "0", "--delay", str(delay)]
    sqs = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert sqs.stdout is not None and sqs.stdin is not None
    endpoints = json.loads(sqs.stdout.readline())
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoints["proxied_url"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    queue = f"{endpoints['sqs_url']}/000000000000/benchmark.fifo"
    with tempfile.TemporaryDirectory() as state:
        app = _kit_ingest(queue, Path(state)) if layout == "kit" else _naive_ingest(queue, threads)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))

        async def run() -> None:
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            _announce(api_url=f"http://127.0.0.1:{api_port}", api_key=API_KEY_FOR_INGEST, **endpoints)
            await asyncio.to_thread(_until_stdin_closes)
            server.should_exit = True
            await serving

        asyncio.run(run())
    sqs.stdin.close()
    sqs.wait(30)


def _kit_ingest(queue_url: str, state: Path) -> FastAPI:
    from cv_ingest_api.app import create_app
    from cv_ingest_api.settings import IngestSettings

    settings = IngestSettings(
        queue_url=queue_url, outbox_path=state / "outbox.sqlite3", api_keys=API_KEY_FOR_INGEST
    )
    return create_app(settings)


def _naive_ingest(queue_url: str, threads: int) -> FastAPI:
    """Validate, one synchronous SendMessage per event, then answer (no outbox, no batching)."""
    app = FastAPI()
    # As many connections as threads, or the pool would queue on boto3's default of 10.
    sqs = aws_client("sqs", config=Config(max_pool_connections=threads))
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="naive-send")

    def send(event_json: str, group: str, dedup: str) -> None:
        sqs.send_message(
            QueueUrl=queue_url, MessageBody=event_json, MessageGroupId=group, MessageDeduplicationId=dedup
        )

    @app.post("/v1/events", status_code=202)
    async def ingest(request: Request) -> JSONResponse:
        payload = await request.json()
        loop = asyncio.get_running_loop()
        sends = [
            loop.run_in_executor(pool, send, json.dumps(raw), event.message_group_id, event.deduplication_id)
            for raw, event in zip(payload, parse_events(payload), strict=True)
        ]
        await asyncio.gather(*sends)
        return JSONResponse({"accepted": len(sends)}, status_code=202)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", choices=["pipeline", "ingest", "sqs"])
    parser.add_argument("--layout", choices=["kit", "split", "single", "naive"], required=True)
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--aws-port", type=int, default=4599)
    parser.add_argument("--pollers", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.3, help="ingest: injected SQS latency, s")
    parser.add_argument("--threads", type=int, default=128, help="ingest, naive: send threads")
    args = parser.parse_args()
    if args.server == "pipeline":
        serve_pipeline(
            layout=args.layout, api_port=args.api_port, aws_port=args.aws_port, pollers=args.pollers
        )
    elif args.server == "sqs":
        serve_sqs(delay=args.delay)
    else:
        serve_ingest(layout=args.layout, api_port=args.api_port, delay=args.delay, threads=args.threads)


if __name__ == "__main__":
    main()
