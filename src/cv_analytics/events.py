"""The chatbot worker's analytics events, exactly as the production worker sends them.

Field names follow the worker's camelCase JSON. Unknown top-level fields and extra
metadata keys are kept, so events pass through the pipeline unchanged.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

# A requestId ends up in SQS MessageGroupId/MessageDeduplicationId, which allow
# printable ASCII without spaces and 128 characters at most.
RequestId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[!-~]+$")]
EpochMillis = Annotated[StrictInt, Field(gt=0)]
# JSON numbers: a bool or a numeric string is a sender bug, not a number.
Number = StrictInt | StrictFloat


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class QueryMetadata(_Open):
    userAgent: str | None = None
    referer: str | None = None


class Performance(_Open):
    totalTime: Number | None = None
    llmTime: Number | None = None
    retrievalTime: Number | None = None
    cacheHit: StrictBool | None = None


class ResponseMetadata(_Open):
    matchQuality: Annotated[Number, Field(ge=0, le=1)] | None = None
    sourcesUsed: list[str] | None = None


class _Event(_Open):
    requestId: RequestId
    timestamp: EpochMillis
    sessionId: str | None = None

    @property
    def deduplication_id(self) -> str:
        """The worker's own MessageDeduplicationId for this event."""
        return f"{self.requestId}-{self.eventType}-{self.timestamp}"  # type: ignore[attr-defined]

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class QueryEvent(_Event):
    eventType: Literal["query"]
    query: Annotated[str, Field(min_length=1)]
    metadata: QueryMetadata | None = None


class ResponseEvent(_Event):
    eventType: Literal["response"]
    matchType: Literal["full", "partial", "none"]
    matchScore: Annotated[StrictInt, Field(ge=0, le=100)]
    reasoning: str
    vectorMatches: Annotated[StrictInt, Field(ge=0)] | None = None
    performance: Performance | None = None
    metadata: ResponseMetadata | None = None


AnalyticsEvent = Annotated[QueryEvent | ResponseEvent, Field(discriminator="eventType")]

MAX_EVENTS_PER_REQUEST = 100

_event_adapter: TypeAdapter[QueryEvent | ResponseEvent] = TypeAdapter(AnalyticsEvent)
_batch_adapter: TypeAdapter[list[QueryEvent | ResponseEvent]] = TypeAdapter(
    Annotated[list[AnalyticsEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]
)


class InvalidEvent(ValueError):
    """An event that can never be processed; ``errors`` name the offending fields."""

    def __init__(self, reason: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


def _describe(error: ValidationError) -> InvalidEvent:
    errors = error.errors(include_url=False, include_input=False)
    details = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in errors
    )
    return InvalidEvent(f"invalid event: {details}", errors)


def parse_event(raw: str | bytes | dict[str, Any]) -> QueryEvent | ResponseEvent:
    """Parse one worker event from JSON text or a decoded object.

    Raises InvalidEvent for anything that is not a valid query or response event.
    """
    if isinstance(raw, dict):
        payload: Any = raw
    else:
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"body is not JSON: {exc}") from exc
    try:
        return _event_adapter.validate_python(payload)
    except ValidationError as exc:
        raise _describe(exc) from exc


def parse_events(payload: Any) -> list[QueryEvent | ResponseEvent]:
    """Parse a request payload: one event object or a list of 1-100 events."""
    try:
        if isinstance(payload, list):
            return _batch_adapter.validate_python(payload)
        return [_event_adapter.validate_python(payload)]
    except ValidationError as exc:
        raise _describe(exc) from exc
