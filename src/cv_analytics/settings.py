"""Resource names shared by every deployable, and the environment variables behind them.

Each deployable's own settings class extends ``ResourceNames``, so every environment
variable name is spelled once. Explicit keyword arguments beat the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cv_analytics.resources import load_resources

_defaults = load_resources()


class ResourceNames(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    queue_name: str = Field(default=_defaults.queue.name, validation_alias="QUEUE_NAME")
    # A URL, when given, saves a GetQueueUrl call (production sets it from Terraform).
    queue_url: str | None = Field(default=None, validation_alias="QUEUE_URL")
    dlq_name: str = Field(default=_defaults.dead_letter_queue.name, validation_alias="DLQ_NAME")
    dlq_url: str | None = Field(default=None, validation_alias="DLQ_URL")
    query_events_table: str = Field(
        default=_defaults.tables.query_events.name, validation_alias="QUERY_EVENTS_TABLE"
    )
    analytics_table: str = Field(default=_defaults.tables.analytics.name, validation_alias="ANALYTICS_TABLE")
    reports_table: str = Field(default=_defaults.tables.reports.name, validation_alias="REPORTS_TABLE")
    report_rule_name: str = Field(default=_defaults.schedule.rule_name, validation_alias="REPORT_RULE_NAME")


class EmailSettings(BaseSettings):
    """Who the weekly report is from and to. Required: there is no sensible default."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    sender_email: str = Field(validation_alias="SENDER_EMAIL", min_length=3)
    recipient_email: str = Field(validation_alias="RECIPIENT_EMAIL", min_length=3)


# Where `cv-analytics up` keeps its state (the ingest outbox, the local API key, the runner's
# heartbeat): per project, like .git, so it survives a restart or a crash. The operator
# commands look there too.
STATE_DIR_VARIABLE = "CV_ANALYTICS_STATE_DIR"
DEFAULT_STATE_DIR = ".cv-analytics"


def local_state_dir() -> Path:
    """``CV_ANALYTICS_STATE_DIR``, else ``.cv-analytics`` in the current directory."""
    return Path(os.environ.get(STATE_DIR_VARIABLE) or DEFAULT_STATE_DIR)
