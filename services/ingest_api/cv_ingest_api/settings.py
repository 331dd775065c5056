"""The ingest API's configuration."""

from __future__ import annotations

from pydantic import Field

from cv_analytics.settings import ResourceNames

MAX_BODY_BYTES = 256 * 1024


class IngestSettings(ResourceNames):
    # Events held in memory while SQS is slow or down. When full, callers get 503
    # (and the worker logs it) instead of events being dropped silently.
    buffer_capacity: int = Field(default=10_000, gt=0, validation_alias="INGEST_BUFFER_CAPACITY")
    # How long a partial batch waits for company before it is sent.
    linger_ms: int = Field(default=50, ge=0, validation_alias="INGEST_LINGER_MS")
    # How long shutdown waits for pending events to reach SQS.
    shutdown_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="INGEST_SHUTDOWN_TIMEOUT_SECONDS"
    )
