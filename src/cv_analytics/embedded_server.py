"""The embedded AWS's child process: moto's server until its stdin closes.

Started by ``EmbeddedAws.start``. The parent holds the write end of our stdin and never
writes; the pipe closes when the parent stops us or dies in any way (even SIGKILL), so the
emulator never outlives the kit for longer than it takes to notice.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_STATISTICS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)
_unread = threading.local()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # Ctrl-C reaches the whole process group: the parent decides when we stop, because its
    # own shutdown (the ingest sender's last flush) still needs the emulator.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from moto.server import ThreadedMotoServer  # heavy import, only in the child

    lighten_queue_statistics()
    # The emulator's per-request access log drowns everything else; keep its warnings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    try:
        while sys.stdin.buffer.read(4096):
            pass  # nothing is ever written; we only wait for the end of the pipe
    finally:
        server.stop()


def lighten_queue_statistics() -> None:
    """Stop moto's SQS from counting the whole queue where nobody reads the count.

    moto builds every attribute of a queue whenever any one is read, and the three message
    counts walk every message, converting timestamps each time. SendMessage reads
    ContentBasedDeduplication that way four times per message and ReceiveMessage reads
    MessageRetentionPeriod once per message, so each message cost a few walks of the queue:
    the pipeline slowed as the queue grew (py-spy: 62% of the embedded stack's samples).
    Inside those two calls the counts are now skipped; everywhere else (GetQueueAttributes)
    they are exact, as before. moto's clock is swapped for ``time.time``, the same instant
    without building two datetimes per message per walk.
    """
    from moto.sqs import models

    for name in _STATISTICS:
        setattr(models.Queue, name, property(_unless_unread(getattr(models.Queue, name).fget)))
    backend = models.SQSBackend
    # Patching moto's internals is the point here; mypy sees moto's own types, which forbid it.
    backend.send_message = _counts_unread(backend.send_message)  # type: ignore[method-assign]
    backend.is_message_valid_based_on_retention_period = _counts_unread(  # type: ignore[method-assign]
        backend.is_message_valid_based_on_retention_period
    )
    # moto.sqs.models imports these from moto.core.utils and calls them by that name.
    models.unix_time = _fast_clock(models.unix_time, scale=1)  # type: ignore[attr-defined]
    models.unix_time_millis = _fast_clock(models.unix_time_millis, scale=1000)  # type: ignore[attr-defined]


def _unless_unread(count: Callable[[Any], int]) -> Callable[[Any], int | None]:
    @functools.wraps(count)
    def counted(queue: Any) -> int | None:
        return None if getattr(_unread, "active", False) else count(queue)

    return counted


def _counts_unread(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def without_counts(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_unread, "active", False)
        _unread.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _unread.active = outer

    return without_counts


def _fast_clock(original: Callable[..., float], *, scale: int) -> Callable[..., float]:
    def clock(dt: Any = None) -> float:
        return original(dt) if dt is not None else time.time() * scale

    return clock


if __name__ == "__main__":
    main()
