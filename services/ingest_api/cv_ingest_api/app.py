"""The ASGI application: ``uvicorn cv_ingest_api.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from cv_analytics.aws.clients import aws_client, main_queue_url
from cv_analytics.aws.sqs import QueueSender
from cv_ingest_api.metrics import install_metrics
from cv_ingest_api.outbox import Outbox
from cv_ingest_api.query import query_router
from cv_ingest_api.routes import EVENT_SCHEMAS, events_router, health_router
from cv_ingest_api.sender import OutboxSender
from cv_ingest_api.settings import IngestSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def sender_client_config(settings: IngestSettings) -> Config:
    """Short timeouts and no retries of botocore's own: the sender retries, and shutdown
    must not wait on a call SQS never answers."""
    return Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=settings.sender_concurrency,
    )


def queue_sender(settings: IngestSettings, *, sqs: SQSClient | None = None) -> QueueSender:
    """The queue the outbox drains into, looked up now (the sender calls this from its own
    thread and retries, so a queue that is not there yet does not stop the API starting)."""
    sqs = sqs or aws_client("sqs", config=sender_client_config(settings))
    return QueueSender(client=sqs, queue_url=main_queue_url(sqs, settings))


def build_sender(settings: IngestSettings, *, sqs: SQSClient | None = None) -> OutboxSender:
    """The ingest API's composition root: the outbox on disk and its sender to ``settings``'
    queue. An SQS client passed in should have ``sender_client_config``'s short timeouts."""
    return OutboxSender(
        outbox=Outbox(path=settings.outbox_path, capacity=settings.outbox_capacity),
        sender_factory=partial(queue_sender, settings, sqs=sqs),
        concurrency=settings.sender_concurrency,
        linger_seconds=settings.linger_ms / 1000,
    )


def create_app(settings: IngestSettings | None = None, sender: OutboxSender | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or IngestSettings()
        app.state.api_keys = tuple(key.encode() for key in app.state.settings.known_keys())
        app.state.sender = sender or build_sender(app.state.settings)
        app.state.sender.start()
        try:
            yield
        finally:
            timeout = app.state.settings.shutdown_timeout_seconds
            await run_in_threadpool(lambda: app.state.sender.stop(timeout=timeout))

    app = FastAPI(title="cv-analytics ingest", version="0.1.0", lifespan=lifespan)
    app.include_router(events_router)
    app.include_router(health_router)
    app.include_router(query_router)
    install_metrics(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the event models the request body refers to."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(EVENT_SCHEMAS)
        app.openapi_schema = schema
    return app.openapi_schema


app = create_app()
