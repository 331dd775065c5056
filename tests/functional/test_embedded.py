"""The embedded AWS: moto's server in a child process that never outlives the kit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from cv_analytics.embedded import EmbeddedAws
from tests.support.network import free_port

_PARENT = textwrap.dedent(
    """
    import sys, time
    from cv_analytics.embedded import EmbeddedAws
    aws = EmbeddedAws(port=int(sys.argv[1]))
    aws.start()
    print(aws.pid, flush=True)
    time.sleep(600)
    """
)


def _gone(pid: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # Our grandchild is reparented to init (or a subreaper), which reaps it; a zombie
        # left for a moment still counts as stopped.
        if _is_zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_embedded_aws_child_exits_when_parent_is_killed():
    """GIVEN a process running the embedded AWS WHEN it is SIGKILLed THEN moto's child exits too."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(free_port())], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _gone(child, timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_embedded_aws_stop_ends_the_child():
    """GIVEN a started embedded AWS WHEN stop() returns THEN its child process has exited."""
    aws = EmbeddedAws(port=free_port())
    aws.start()
    pid = aws.pid
    aws.stop()
    assert _gone(pid, timeout=0.5) and aws.pid is None


def test_embedded_aws_queue_counts_stay_exact(stack):
    """GIVEN three messages sent and one received WHEN the queue's counts are read THEN they are
    exact (the emulator skips counting only where nobody reads the count)."""
    sqs = stack.client("sqs")
    url = stack.resources.queue_url
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}", MessageGroupId=f"g{n}")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)

    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]

    assert attributes == {"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1"}
