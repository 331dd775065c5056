"""Reading a reporter invocation: which week, and whether to send it again.

Kept apart from the reporting code so the handler can read its event with nothing
heavier than the standard library imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cv_analytics.weeks import IsoWeek


class InvalidReportRequest(ValueError):
    """The invocation payload does not say which week to report on."""


def week_to_report(event: Mapping[str, Any], *, now: datetime) -> IsoWeek:
    """``{"week": "2025-W47"}`` for a manual run; otherwise the last full week before the
    scheduled event's time (or before ``now`` when the event carries no time)."""
    if "week" in event:
        try:
            return IsoWeek.parse(str(event["week"]))
        except ValueError as exc:
            raise InvalidReportRequest(str(exc)) from exc
    moment = _event_time(event) or now
    return IsoWeek.last_full_week_before(moment)


def force_requested(event: Mapping[str, Any]) -> bool:
    """``{"week": ..., "force": true}`` sends a week again even if it was sent."""
    force = event.get("force", False)
    if not isinstance(force, bool):
        raise InvalidReportRequest(f"force must be true or false, not {force!r}")
    return force


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    raw = event.get("time")
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise InvalidReportRequest(f"event time is not ISO-8601: {raw!r}") from exc
