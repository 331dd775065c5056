"""The runner's assembly (cv_analytics.runner.service)."""

from __future__ import annotations

from typing import Any

import pytest

from cv_analytics.runner.service import EventSources
from cv_analytics.runner.sqs_source import SqsEventSource


class Succeeds:
    name = "processor"

    def invoke(self, payload: dict[str, Any]) -> Any:
        return {"batchItemFailures": []}


@pytest.mark.parametrize("pollers", [0, -1])
def test_event_sources_rejects_fewer_than_one_poller(pollers):
    """A runner needs at least one poller."""
    source = SqsEventSource(sqs=object(), queue_url="q", invoker=Succeeds(), wait_seconds=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pollers"):
        EventSources(sqs_source=source, pollers=pollers)
