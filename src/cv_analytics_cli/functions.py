"""The processor and reporter handlers, callable in this process through the runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from cv_analytics.resources import load_resources
from cv_analytics.runner.invokers import InProcessInvoker

if TYPE_CHECKING:
    from cv_processor.processing import MessageProcessor
    from cv_reporter.reporting import WeeklyReporter


def in_process_invokers(
    *,
    processor: Callable[[], MessageProcessor] | None = None,
    reporter: Callable[[], WeeklyReporter] | None = None,
) -> tuple[InProcessInvoker, InProcessInvoker]:
    """The two Lambda handlers, run in this process.

    ``processor`` and ``reporter`` give what each handler runs (called on every invocation,
    so they may wire on first use); without them a handler runs its module's own, wired
    from the environment as on Lambda.
    """
    from cv_processor import handler as processor_handler
    from cv_reporter import handler as reporter_handler

    # The handlers print their CloudWatch metrics (EMF) to stdout, one line per invocation:
    # useful in Lambda, noise in a local console. POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    spec = load_resources()
    return (
        InProcessInvoker(
            name="processor",
            handler=processor_handler.lambda_handler
            if processor is None
            else processor_handler.handler_for(processor),
            timeout_seconds=spec.processor.timeout_seconds,
        ),
        InProcessInvoker(
            name="reporter",
            handler=reporter_handler.lambda_handler
            if reporter is None
            else reporter_handler.handler_for(reporter),
            timeout_seconds=spec.reporter.timeout_seconds,
        ),
    )
