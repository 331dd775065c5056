"""The processor and reporter handlers, callable in this process through the runner."""

from __future__ import annotations

import os

from cv_analytics.resources import load_resources
from cv_analytics.runner.invokers import InProcessInvoker
from cv_processor.handler import lambda_handler as processor_handler
from cv_reporter.handler import lambda_handler as reporter_handler


def in_process_invokers() -> tuple[InProcessInvoker, InProcessInvoker]:
    # The handlers print their CloudWatch metrics (EMF) to stdout, one line per invocation:
    # useful in Lambda, noise in a local console. POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    spec = load_resources()
    return (
        InProcessInvoker(
            name="processor", handler=processor_handler, timeout_seconds=spec.processor.timeout_seconds
        ),
        InProcessInvoker(
            name="reporter", handler=reporter_handler, timeout_seconds=spec.reporter.timeout_seconds
        ),
    )
