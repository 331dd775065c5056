"""LocalPipeline's drain check: the in-process counters decide when the queue is worth asking."""

from __future__ import annotations

from types import SimpleNamespace

from cv_analytics_cli.local import LocalPipeline


class Source:
    def __init__(self, *, deleted: int, idle: float) -> None:
        self.deleted, self._idle = deleted, idle

    def idle_for(self) -> float:
        return self._idle


def _pipeline(*, pending: int, sent: int, deleted: int, idle: float = 0.0) -> LocalPipeline:
    pipeline = LocalPipeline()
    sender = SimpleNamespace(outbox=SimpleNamespace(pending=pending), state=SimpleNamespace(sent=sent))
    pipeline._app = SimpleNamespace(state=SimpleNamespace(sender=sender))
    pipeline._sources = SimpleNamespace(sqs_source=Source(deleted=deleted, idle=idle))
    return pipeline


def test_local_drain_waits_for_the_outbox():
    """Events still in the outbox: not drained, whatever the runner did."""
    assert not _pipeline(pending=1, sent=10, deleted=10, idle=60)._looks_drained()


def test_local_drain_waits_while_runner_is_behind():
    """Fewer processed than sent and the runner busy: not drained."""
    assert not _pipeline(pending=0, sent=10, deleted=7)._looks_drained()


def test_local_drain_confirms_when_counts_match():
    """Every sent event processed: worth asking the queue."""
    assert _pipeline(pending=0, sent=10, deleted=10)._looks_drained()


def test_local_drain_confirms_when_runner_idles_behind():
    """Fewer processed than sent but the runner idle (duplicates, redrives): ask the queue."""
    assert _pipeline(pending=0, sent=10, deleted=7, idle=5.0)._looks_drained()
