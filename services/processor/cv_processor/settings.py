"""The processor's configuration (environment variables in cv_analytics.settings)."""

from __future__ import annotations

from cv_analytics.resources import load_resources
from cv_analytics.settings import ResourceNames

_tables = load_resources().tables


class ProcessorSettings(ResourceNames):
    raw_event_ttl_days: int = _tables.query_events.ttl_days
    record_ttl_days: int = _tables.analytics.ttl_days
