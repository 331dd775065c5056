"""The reporter's configuration (environment variables in cv_analytics.settings)."""

from __future__ import annotations

from cv_analytics.resources import load_resources
from cv_analytics.settings import EmailSettings, ResourceNames


class ReporterSettings(ResourceNames, EmailSettings):
    record_ttl_days: int = load_resources().tables.analytics.ttl_days
