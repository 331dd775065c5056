"""The processor's CloudWatch metrics (EMF), one line per invocation plus one per park reason.

- ``EventsRecorded`` (Count): messages stored (raw event and record update);
- ``EventsParked`` (Count): messages sent to the DLQ, in total and by ``reason`` (the
  ``errorKind``: not-json, invalid-event, unstorable) as a second dimension set;
- ``MergeRetries`` (Count): messages handed back to SQS to retry (``batchItemFailures``);
- ``QueryResponseLatency`` (Milliseconds): response time minus query time, once per record,
  when its second half lands.

Every metric has the ``service`` dimension (``POWERTOOLS_SERVICE_NAME``).

The merge itself never retries: it is one unconditional UpdateItem. What is retried is the
message, by SQS, after a transient failure (or because an earlier message of its FIFO group
failed), so that is what ``MergeRetries`` counts. The latency needs the record as it was
before the write: the same UpdateItem returns it (``AnalyticsStore.merge``).
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cv_analytics.emf import emf_provider

if TYPE_CHECKING:
    from cv_analytics.aws.sqs import DeadLetter
    from cv_analytics.records import RecordUpdate

SERVICE = "cv-analytics-processor"
# Every metric stream the processor can emit (name, extra dimension); the cost model
# counts them (cv_analytics.cost.Assumptions).
ALWAYS_EMITTED = ("EventsRecorded", "EventsParked", "MergeRetries", "QueryResponseLatency")
PARK_REASONS = ("not-json", "invalid-event", "unstorable")


@dataclass
class InvocationMetrics:
    """What one invocation did, collected while its records are processed."""

    parked: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[int] = field(default_factory=list)

    def flush(self, *, records: int, retries: int) -> None:
        provider = emf_provider(default_service=_service())
        parked = sum(self.parked.values())
        provider.add_metric(name="EventsRecorded", unit="Count", value=max(0, records - retries - parked))
        provider.add_metric(name="EventsParked", unit="Count", value=parked)
        provider.add_metric(name="MergeRetries", unit="Count", value=retries)
        for latency in self.latencies_ms:
            provider.add_metric(name="QueryResponseLatency", unit="Milliseconds", value=latency)
        provider.flush_metrics()
        for reason, count in sorted(self.parked.items()):
            by_reason = emf_provider(default_service=_service(), reason=reason)
            by_reason.add_metric(name="EventsParked", unit="Count", value=count)
            by_reason.flush_metrics()


_current: ContextVar[InvocationMetrics | None] = ContextVar("processor_metrics", default=None)


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE


Response = TypeVar("Response", bound=Mapping[str, Any])


def emits_metrics(
    handler: Callable[[dict[str, Any], Any], Response],
) -> Callable[[dict[str, Any], Any], Response]:
    """Collect the invocation's figures while ``handler`` runs, then print them as EMF.

    An invocation that raises hands every message back to SQS: all count as retries.
    """

    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> Response:
        metrics = InvocationMetrics()
        token = _current.set(metrics)
        records = len(event.get("Records") or [])
        retries = records
        try:
            result = handler(event, context)
            retries = len(result.get("batchItemFailures") or [])
            return result
        finally:
            _current.reset(token)
            metrics.flush(records=records, retries=retries)

    return wrapper


class MergingStore(Protocol):
    def check(self, update: RecordUpdate) -> int: ...
    def merge(self, update: RecordUpdate) -> dict[str, Any]: ...


class MeasuredRecords:
    """The analytics store, noting each record's latency when its second half lands."""

    def __init__(self, store: MergingStore) -> None:
        self._store = store

    def check(self, update: RecordUpdate) -> int:
        return self._store.check(update)

    def write(self, update: RecordUpdate) -> None:
        from cv_analytics.records import completing_latency

        previous = self._store.merge(update)
        latency = completing_latency(update, previous)
        metrics = _current.get()
        if latency is not None and metrics is not None:
            metrics.latencies_ms.append(latency)


class ParkingLot(Protocol):
    def park(self, letter: DeadLetter) -> None: ...


class CountedDeadLetters:
    """The DLQ, counting each message parked by its reason (once the DLQ took it)."""

    def __init__(self, dead_letters: ParkingLot) -> None:
        self._dead_letters = dead_letters

    def park(self, letter: DeadLetter) -> None:
        self._dead_letters.park(letter)
        metrics = _current.get()
        if metrics is not None:
            metrics.parked[letter.kind] += 1
