"""Helpers shared by every test tier."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from cv_analytics.records import AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek

EVENTS_DIR = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The realistic event stored as ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


_request_ids = itertools.count(1)


def make_record(*, status: Status, week: IsoWeek, **fields: object) -> AnalyticsRecord:
    """A correlated record dated at the start of ``week``, with a fresh requestId."""
    return AnalyticsRecord(
        request_id=f"request-{next(_request_ids)}",
        week=str(week),
        timestamp=int(week.start.timestamp() * 1000),
        status=status,
        **fields,  # type: ignore[arg-type]
    )
