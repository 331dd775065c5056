"""The ASGI application: ``uvicorn cv_ingest_api.app:app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from cv_analytics.aws.clients import aws_client, queue_url
from cv_analytics.aws.sqs import QueueSender
from cv_ingest_api.publisher import BackgroundPublisher
from cv_ingest_api.routes import events_router, health_router
from cv_ingest_api.settings import IngestSettings


def build_publisher(settings: IngestSettings) -> BackgroundPublisher:
    def sender() -> QueueSender:
        sqs = aws_client("sqs")
        url = settings.queue_url or queue_url(sqs, name=settings.queue_name)
        return QueueSender(client=sqs, queue_url=url)

    return BackgroundPublisher(
        sender_factory=sender,
        capacity=settings.buffer_capacity,
        linger_seconds=settings.linger_ms / 1000,
    )


def create_app(
    settings: IngestSettings | None = None, publisher: BackgroundPublisher | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or IngestSettings()
        app.state.publisher = publisher or build_publisher(app.state.settings)
        app.state.publisher.start()
        try:
            yield
        finally:
            timeout = app.state.settings.shutdown_timeout_seconds
            await run_in_threadpool(lambda: app.state.publisher.stop(timeout=timeout))

    app = FastAPI(title="cv-analytics ingest", version="0.1.0", lifespan=lifespan)
    app.include_router(events_router)
    app.include_router(health_router)
    return app


app = create_app()
