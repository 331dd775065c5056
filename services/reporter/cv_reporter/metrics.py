"""The reporter's CloudWatch metric (EMF): ``ReportsSent``, 1 when the run mailed a report,
0 otherwise (already sent, in progress, failed). Emitted on every run, so the alarm on a
week with no report sees zeros as well as missing data."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from cv_analytics.emf import emf_provider

SERVICE = "cv-analytics-reporter"
ALWAYS_EMITTED = ("ReportsSent",)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def emits_metrics(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        sent = 0
        try:
            result = handler(event, context)
            sent = int(result.get("status") == "sent")
            return result
        finally:
            provider = emf_provider(default_service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)
            provider.add_metric(name="ReportsSent", unit="Count", value=sent)
            provider.flush_metrics()

    return wrapper
