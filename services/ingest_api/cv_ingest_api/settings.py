"""The ingest API's configuration."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator

from cv_analytics.settings import ResourceNames
from cv_analytics.standin import DEFAULT_PROFILE_PATH, OpeningHours, load_profile

MAX_BODY_BYTES = 256 * 1024


class IngestSettings(ResourceNames):
    # Where accepted events wait for SQS. Required: it must be on a volume that outlives
    # the process, and only the deployment knows which.
    outbox_path: Path = Field(validation_alias="INGEST_OUTBOX_PATH")
    # Events held while SQS is slow or down. When full, callers get 503 (and the worker
    # logs it) instead of events being dropped. INGEST_BUFFER_CAPACITY is the old name.
    outbox_capacity: int = Field(
        default=100_000,
        gt=0,
        validation_alias=AliasChoices("INGEST_OUTBOX_CAPACITY", "INGEST_BUFFER_CAPACITY", "outbox_capacity"),
    )
    # SendMessageBatch calls in flight at once: 10 × 10 events per round trip.
    sender_concurrency: int = Field(default=10, gt=0, le=50, validation_alias="INGEST_SENDER_CONCURRENCY")
    # How long a partial batch waits for company before it is sent.
    linger_ms: int = Field(default=50, ge=0, validation_alias="INGEST_LINGER_MS")
    # How long shutdown keeps sending; what is left stays in the outbox for the next start.
    shutdown_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="INGEST_SHUTDOWN_TIMEOUT_SECONDS"
    )
    # Bearer keys callers must present: comma-separated (two at once while rotating), and/or
    # a file with one key per line. At least one is required.
    api_keys: str | None = Field(default=None, validation_alias="INGEST_API_KEYS", repr=False)
    api_keys_file: Path | None = Field(default=None, validation_alias="INGEST_API_KEYS_FILE")
    # The worker stand-in (POST /query): the skills profile it answers from (default: the
    # demo profile in the package) and when it answers (no hours: always, so the demo works).
    worker_profile_path: Path = Field(default=DEFAULT_PROFILE_PATH, validation_alias="WORKER_PROFILE_PATH")
    worker_business_hours: str | None = Field(default=None, validation_alias="WORKER_BUSINESS_HOURS")
    worker_business_days: str = Field(default="mon-fri", validation_alias="WORKER_BUSINESS_DAYS")
    worker_timezone: str = Field(default="Europe/London", validation_alias="WORKER_TIMEZONE")

    @model_validator(mode="after")
    def _some_key(self) -> IngestSettings:
        if not self.known_keys():
            raise ValueError("no API key configured: set INGEST_API_KEYS or INGEST_API_KEYS_FILE")
        return self

    @model_validator(mode="after")
    def _worker_standin_configured(self) -> IngestSettings:
        self.worker_opening_hours()
        load_profile(self.worker_profile_path)  # fail at start, not at the first question
        return self

    def worker_opening_hours(self) -> OpeningHours:
        return OpeningHours.parse(
            hours=self.worker_business_hours, days=self.worker_business_days, zone=self.worker_timezone
        )

    def known_keys(self) -> tuple[str, ...]:
        """Every accepted key, from the variable and the file (read now)."""
        text = self.api_keys or ""
        if self.api_keys_file is not None:
            try:
                text += "\n" + self.api_keys_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"INGEST_API_KEYS_FILE cannot be read: {exc}") from exc
        return tuple(key.strip() for key in text.replace(",", "\n").splitlines() if key.strip())
