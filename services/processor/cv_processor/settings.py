"""The processor's configuration (environment variables in cv_analytics.settings)."""

from __future__ import annotations

from pydantic import Field

from cv_analytics.resources import load_resources
from cv_analytics.settings import ResourceNames

_tables = load_resources().tables


class ProcessorSettings(ResourceNames):
    raw_event_ttl_days: int = _tables.query_events.ttl_days
    record_ttl_days: int = _tables.analytics.ttl_days
    # Email addresses and phone numbers in queries are redacted before they are stored.
    # PII_REDACTION=off (or false/0) keeps the text verbatim.
    pii_redaction: bool = Field(default=True, validation_alias="PII_REDACTION")
