"""The chatbot worker's analytics events, exactly as the production worker sends them.

Field names follow the worker's camelCase JSON. Unknown top-level fields and extra
metadata keys are kept, so events pass through the pipeline unchanged.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
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
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

# --- Limits -----------------------------------------------------------------------------------
# Every accepted event must be storable for good: forwarded as one SQS message (256 KiB),
# stored verbatim in query-events and as one half of an analytics item (400 KB each).
# The production worker caps a question at 200 characters and sends short reasoning,
# sourcesUsed lists and metadata; each limit leaves it at least 10x headroom.
# The same limits apply to the ingest API and to worker messages read straight from SQS.
#
# Timestamps: a fixed lower bound, so that a message redriven from the DLQ days later is
# judged exactly as it was on arrival; an upper bound of "now + 1 day", which absorbs any
# clock skew and only ever grows, so an event accepted once is accepted on every retry.
# Together they keep the ISO week (year 2020+), the TTL arithmetic and every number that
# derives from a timestamp far inside DynamoDB's range.
MIN_TIMESTAMP_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z, before the chatbot existed
MAX_FUTURE_SKEW_MS = 86_400_000  # one day
MAX_QUERY_CHARS = 4_000
MAX_REASONING_CHARS = 4_000
MAX_REQUEST_ID_CHARS = 100
MAX_SESSION_ID_CHARS = 512
MAX_HEADER_CHARS = 2_048  # metadata.userAgent and metadata.referer (browsers' URL limit)
MAX_SOURCES = 100
MAX_SOURCE_CHARS = 200
MAX_VECTOR_MATCHES = 10_000
MAX_METADATA_KEYS = 64
MAX_METADATA_BYTES = 32 * 1024  # compact JSON, UTF-8
# Whole event as compact JSON in UTF-8: four of them fit one SQS message, and an analytics
# item (two halves) stays far below DynamoDB's 400 KB.
MAX_EVENT_BYTES = 64 * 1024
MAX_NESTING_DEPTH = 32  # objects and arrays, the event itself being depth 1
# Any number anywhere must fit DynamoDB's Number: at most 38 significant digits and a
# magnitude between 1e-130 and 1e126. JSON floats carry 17 digits, so range is what matters.
_MAX_INTEGER = 10**38
_FLOAT_RANGE = (1e-130, 1e126)
# UTF-8 (and so SQS and DynamoDB) cannot carry a lone surrogate.
_SURROGATE = re.compile("[\ud800-\udfff]")

# A requestId ends up in SQS MessageGroupId/MessageDeduplicationId, which allow
# printable ASCII without spaces and 128 characters at most.
RequestId = Annotated[str, Field(min_length=1, max_length=MAX_REQUEST_ID_CHARS, pattern=r"^[!-~]+$")]
EpochMillis = Annotated[StrictInt, Field(ge=MIN_TIMESTAMP_MS)]
# JSON numbers: a bool or a numeric string is a sender bug, not a number.
Number = StrictInt | StrictFloat


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class QueryMetadata(_Open):
    userAgent: Annotated[str, Field(max_length=MAX_HEADER_CHARS)] | None = None
    referer: Annotated[str, Field(max_length=MAX_HEADER_CHARS)] | None = None


class Performance(_Open):
    totalTime: Number | None = None
    llmTime: Number | None = None
    retrievalTime: Number | None = None
    cacheHit: StrictBool | None = None


class ResponseMetadata(_Open):
    matchQuality: Annotated[Number, Field(ge=0, le=1)] | None = None
    sourcesUsed: (
        Annotated[list[Annotated[str, Field(max_length=MAX_SOURCE_CHARS)]], Field(max_length=MAX_SOURCES)]
        | None
    ) = None


class _Event(_Open):
    requestId: RequestId
    timestamp: EpochMillis
    sessionId: Annotated[str, Field(max_length=MAX_SESSION_ID_CHARS)] | None = None

    @field_validator("timestamp")
    @classmethod
    def _not_in_future(cls, timestamp: int, info: ValidationInfo) -> int:
        now_ms = (info.context or {}).get("now_ms") or time.time_ns() // 1_000_000
        if timestamp > now_ms + MAX_FUTURE_SKEW_MS:
            raise PydanticCustomError(
                "timestamp_in_future",
                "Input should be at most one day after the current time ({limit} ms)",
                {"limit": now_ms + MAX_FUTURE_SKEW_MS},
            )
        return timestamp

    @model_validator(mode="wrap")
    @classmethod
    def _storable(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Apply the JSON-wide limits (numbers, strings, nesting, sizes) next to the fields'."""
        if not isinstance(data, dict):
            return handler(data)
        problems = list(_json_problems(data))
        if not problems:
            problems = list(_size_problems(data))
        if not problems:
            return handler(data)
        try:
            handler(data)
        except ValidationError as exc:
            # Report the fields' own errors too, unless a limit already names that spot or a
            # spot inside it (pydantic's own complaint there is the same problem, said worse).
            named = [tuple(problem["loc"]) for problem in problems]
            problems += [_as_details(e) for e in exc.errors() if not _covered(tuple(e["loc"]), named)]
        raise ValidationError.from_exception_data(cls.__name__, problems)

    @property
    def deduplication_id(self) -> str:
        """The worker's own MessageDeduplicationId for this event."""
        return f"{self.requestId}-{self.eventType}-{self.timestamp}"  # type: ignore[attr-defined]

    @property
    def message_group_id(self) -> str:
        """The SQS message group: one per requestId, so a query and its response stay in
        order, different requests are processed in parallel, and a stuck message holds up
        only its own request."""
        return self.requestId


class QueryEvent(_Event):
    eventType: Literal["query"]
    query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)]
    metadata: QueryMetadata | None = None


class ResponseEvent(_Event):
    eventType: Literal["response"]
    matchType: Literal["full", "partial", "none"]
    matchScore: Annotated[StrictInt, Field(ge=0, le=100)]
    reasoning: Annotated[str, Field(max_length=MAX_REASONING_CHARS)]
    vectorMatches: Annotated[StrictInt, Field(ge=0, le=MAX_VECTOR_MATCHES)] | None = None
    performance: Performance | None = None
    metadata: ResponseMetadata | None = None


AnalyticsEvent = Annotated[QueryEvent | ResponseEvent, Field(discriminator="eventType")]

MAX_EVENTS_PER_REQUEST = 100

_event_adapter: TypeAdapter[QueryEvent | ResponseEvent] = TypeAdapter(AnalyticsEvent)
_batch_adapter: TypeAdapter[list[QueryEvent | ResponseEvent]] = TypeAdapter(
    Annotated[list[AnalyticsEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]
)


class InvalidEvent(ValueError):
    """An event that can never be processed; ``errors`` name the offending fields.

    ``kind`` is ``not-json`` when the text is not JSON at all, else ``invalid-event``.
    """

    def __init__(
        self, reason: str, errors: list[ErrorDetails] | None = None, *, kind: str = "invalid-event"
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []
        self.kind = kind


def _describe(error: ValidationError) -> InvalidEvent:
    errors = error.errors(include_url=False, include_input=False)
    details = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in errors
    )
    return InvalidEvent(f"invalid event: {details}", errors)


def _context(now_ms: int | None) -> dict[str, Any] | None:
    return None if now_ms is None else {"now_ms": now_ms}


def parse_event(
    raw: str | bytes | dict[str, Any], *, now_ms: int | None = None
) -> QueryEvent | ResponseEvent:
    """Parse one worker event from JSON text or a decoded object.

    ``now_ms`` (default: the clock) is the moment the future-timestamp limit counts from.
    Raises InvalidEvent for anything that is not a valid query or response event.
    """
    payload = raw if isinstance(raw, dict) else _decode(raw)
    try:
        return _event_adapter.validate_python(payload, context=_context(now_ms))
    except ValidationError as exc:
        raise _describe(exc) from exc


def parse_events(payload: Any, *, now_ms: int | None = None) -> list[QueryEvent | ResponseEvent]:
    """Parse a request payload: one event object or a list of 1-100 events."""
    try:
        if isinstance(payload, list):
            return _batch_adapter.validate_python(payload, context=_context(now_ms))
        return [_event_adapter.validate_python(payload, context=_context(now_ms))]
    except ValidationError as exc:
        raise _describe(exc) from exc


def _decode(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"body is not JSON: {exc}", kind="not-json") from exc
    except RecursionError as exc:
        raise _unreadable("json_too_deep", "body nests too deeply to decode") from exc
    except ValueError as exc:  # Python refuses integers of more than 4,300 digits
        raise _unreadable("number_too_large", f"body holds a number too large to decode: {exc}") from exc


def _unreadable(error_type: str, message: str) -> InvalidEvent:
    return InvalidEvent(
        f"invalid event: <root>: {message}", [{"type": error_type, "loc": (), "msg": message, "input": None}]
    )


# --- JSON-wide limits -------------------------------------------------------------------------


def _problem(loc: tuple[str | int, ...], error_type: str, message: str, **ctx: Any) -> InitErrorDetails:
    # The input is left out: it may be the very value (NaN, a lone surrogate) that cannot be
    # encoded, and error reports travel on as JSON and as SQS attributes.
    return InitErrorDetails(type=PydanticCustomError(error_type, message, ctx or None), loc=loc, input=None)


def _json_problems(value: Any, loc: tuple[str | int, ...] = (), depth: int = 0) -> Iterator[InitErrorDetails]:
    """Values anywhere in ``value`` that SQS or DynamoDB could never carry."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            yield _problem(loc, "lone_surrogate", "String should not contain a lone surrogate (not UTF-8)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) >= _MAX_INTEGER:
            yield _problem(loc, "number_too_large", "Number should have at most 38 digits")
    elif isinstance(value, float):
        yield from _float_problems(value, loc)
    elif isinstance(value, dict | list):
        if depth >= MAX_NESTING_DEPTH:
            yield _problem(loc, "too_deep", f"Value should nest at most {MAX_NESTING_DEPTH} levels")
            return
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _key_problems(key, loc)
            yield from _json_problems(item, (*loc, _printable(key)), depth + 1)


def _float_problems(value: float, loc: tuple[str | int, ...]) -> Iterator[InitErrorDetails]:
    if not math.isfinite(value):
        yield _problem(loc, "finite_number", "Input should be a finite number")
    elif value and not _FLOAT_RANGE[0] <= abs(value) < _FLOAT_RANGE[1]:
        yield _problem(loc, "number_out_of_range", "Number should have a magnitude from 1e-130 to 1e126")


def _key_problems(key: Any, loc: tuple[str | int, ...]) -> Iterator[InitErrorDetails]:
    if isinstance(key, str) and _SURROGATE.search(key):
        yield _problem((*loc, _printable(key)), "lone_surrogate", "Key should not contain a lone surrogate")


def _printable(key: str | int) -> str | int:
    # A location is echoed in error reports, so it must itself be valid UTF-8.
    return key.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(key, str) else key


def _size_problems(data: dict[str, Any]) -> Iterator[InitErrorDetails]:
    """The byte and key-count limits; only meaningful once every value is encodable."""
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        if len(metadata) > MAX_METADATA_KEYS:
            yield _problem(
                ("metadata",), "too_many_keys", f"Metadata should have at most {MAX_METADATA_KEYS} keys"
            )
        if (size := _json_bytes(metadata)) > MAX_METADATA_BYTES:
            yield _problem(
                ("metadata",),
                "too_large",
                f"Metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}",
            )
    if (size := _json_bytes(data)) > MAX_EVENT_BYTES:
        yield _problem((), "too_large", f"Event is {size} bytes as JSON; the limit is {MAX_EVENT_BYTES}")


def _json_bytes(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: exactly how the ingest API forwards it."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _covered(loc: tuple[Any, ...], named: list[tuple[Any, ...]]) -> bool:
    return any(spot[: len(loc)] == loc for spot in named)


def _as_details(error: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], error["msg"]), loc=error["loc"], input=error.get("input")
    )
