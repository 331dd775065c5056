"""The reporter's configuration (environment variables in cv_analytics.settings)."""

from __future__ import annotations

from pydantic import Field

from cv_analytics.resources import load_resources
from cv_analytics.settings import EmailSettings, ResourceNames

_resources = load_resources()


class ReporterSettings(ResourceNames, EmailSettings):
    record_ttl_days: int = _resources.tables.analytics.ttl_days
    reports_ttl_days: int = _resources.tables.reports.ttl_days
    # How long a run holds a week's claim. Longer than the function may run, so a live
    # run never loses it; a run that died frees the week (unless its request went out)
    # once it passes.
    send_lease_seconds: int = Field(default=2 * _resources.reporter.timeout_seconds, gt=0)
