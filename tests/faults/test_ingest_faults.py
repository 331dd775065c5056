"""The ingest service under network faults: SQS black-holed, slow, down for a while; kills and restarts.

Figures (drain time, throughput) are printed, not asserted: run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import httpx
import pytest

from cv_analytics.testing.fault_proxy import Mode
from tests.support.faults import (
    Service,
    child_environment,
    direct_client,
    events,
    up_command,
    uvicorn_command,
    wait_until,
)
from tests.support.network import free_port


def _rows(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


def _offer(client, *, per_second: int, seconds: float, size: int = 10) -> int:
    """POST ``per_second`` events a second for ``seconds``; returns how many were accepted."""
    accepted, began = 0, time.monotonic()
    while time.monotonic() - began < seconds:
        assert client.post("/v1/events", json=events(size)).status_code == 202
        accepted += size
        time.sleep(max(0.0, began + accepted / per_second - time.monotonic()))
    return accepted


def test_readyz_answers_within_a_second_while_sqs_is_blackholed(proxy, make_client):
    """With SQS black-holed and events pending, /readyz still answers fast, from the sender's state."""
    client = make_client()
    sender = client.app.state.sender
    wait_until(lambda: sender.state.last_send_ok, timeout=10, what="queue never found")
    proxy.mode = Mode.BLACKHOLE
    assert client.post("/v1/events", json=events(20)).status_code == 202
    wait_until(lambda: sender.state.last_send_ok is False, timeout=30, what="no failed send")
    began = time.monotonic()
    response = client.get("/readyz")
    took = time.monotonic() - began
    print(f"\n/readyz with SQS black-holed answered in {took * 1000:.0f} ms: {response.json()}")
    assert took < 1.0
    assert response.status_code == 503
    assert response.json()["pending"] == 20 and response.json()["oldest_pending_age_s"] > 0


def test_shutdown_with_sqs_blackholed_returns_within_timeout_and_keeps_events(proxy, make_client, settings):
    """Shutdown returns within INGEST_SHUTDOWN_TIMEOUT_SECONDS + 1 s; what is unsent stays on disk."""
    client = make_client()
    proxy.mode = Mode.BLACKHOLE
    assert client.post("/v1/events", json=events(100)).status_code == 202
    began = time.monotonic()
    client.__exit__(None, None, None)
    took = time.monotonic() - began
    print(f"\nshutdown with SQS black-holed: {took:.2f}s (timeout {settings.shutdown_timeout_seconds}s)")
    assert took <= settings.shutdown_timeout_seconds + 1
    assert _rows(settings.outbox_path) == 100


def test_outage_of_30s_under_100_events_per_second_loses_nothing(fake_sqs, proxy, make_client):
    """Events accepted during a 30 s SQS outage all reach SQS after it; the drain time is printed."""
    client = make_client()
    sender = client.app.state.sender
    wait_until(lambda: sender.state.last_send_ok, timeout=10, what="queue never found")
    proxy.mode = Mode.BLACKHOLE
    accepted = _offer(client, per_second=100, seconds=30)
    proxy.mode = Mode.PASS
    recovered = time.monotonic()
    wait_until(lambda: sender.outbox.pending == 0, timeout=60, what="the outbox never drained", every=0.05)
    drained_in = time.monotonic() - recovered
    print(
        f"\n{accepted} events accepted during a 30 s outage; outbox drained {drained_in:.1f}s after recovery"
    )
    assert sender.outbox.dead == 0
    assert len(fake_sqs.bodies) == accepted


def test_throughput_with_300ms_sqs_latency(fake_sqs, proxy, make_client):
    """200 events/s offered for 10 s with SQS 300 ms away: every event arrives; the rate is printed."""
    client = make_client()
    sender = client.app.state.sender
    wait_until(lambda: sender.state.last_send_ok, timeout=10, what="queue never found")
    proxy.delay, proxy.mode = 0.3, Mode.DELAY
    began = time.monotonic()
    offered = _offer(client, per_second=200, seconds=10)
    offered_for = time.monotonic() - began
    sent_while_offering = len(fake_sqs.bodies)
    wait_until(lambda: sender.outbox.pending == 0, timeout=60, what=f"never drained: {sender.status()}")
    took = time.monotonic() - began
    print(
        f"\n300 ms SQS latency, {offered / offered_for:.0f} events/s offered for {offered_for:.1f}s: "
        f"{sent_while_offering / offered_for:.0f} events/s reached SQS meanwhile, "
        f"all {offered} in {took:.1f}s ({offered / took:.0f} events/s), {fake_sqs.calls} calls"
    )
    assert len(fake_sqs.bodies) == offered


def _up(stack, moto_proxy, tmp_path, port: int, **extra: str) -> Service:
    env = child_environment(stack, endpoint=moto_proxy.url, state_dir=tmp_path / "state", **extra)
    service = Service(up_command(port), env=env, log=tmp_path / "up.log", api_url=f"http://127.0.0.1:{port}")
    service.ready()
    return service


def _api_key(tmp_path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(tmp_path / 'state' / 'api-key').read_text().strip()}"}


def _post_all(service: Service, batch: list, headers: dict[str, str]) -> None:
    with httpx.Client(timeout=10) as http:
        for start in range(0, len(batch), 100):
            response = http.post(
                f"{service.api_url}/v1/events", json=batch[start : start + 100], headers=headers
            )
            assert response.status_code == 202, response.text


# How long `up`'s runner long-polls (EventSources' default wait).
_UP_LONG_POLL_SECONDS = 2


def _raw_events_stored(stack) -> int:
    dynamodb = direct_client(stack, "dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(TableName=stack.names.query_events_table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def test_sigkill_of_up_with_200_pending_loses_nothing_and_restarts_at_once(stack, moto_proxy, tmp_path):
    """SIGKILL of `up` with 200 unsent: `up` restarts at once on the same port and processes them all."""
    port = free_port()
    service = _up(stack, moto_proxy, tmp_path, port)
    moto_proxy.mode = Mode.BLACKHOLE
    _post_all(service, events(200), _api_key(tmp_path))
    assert httpx.get(f"{service.api_url}/readyz", timeout=1).json()["pending"] == 200
    service.kill()
    # The emulator may still hold the killed runner's last long poll, issued before the
    # black-hole, until its wait runs out; it would hand the first messages to arrive to that
    # dead consumer, and they would come back only after the 180 s visibility timeout (as on
    # SQS). Let that poll expire before SQS is reachable again; the restart itself is immediate.
    time.sleep(_UP_LONG_POLL_SECONDS + 0.5)
    moto_proxy.mode = Mode.PASS
    began = time.monotonic()
    restarted = _up(stack, moto_proxy, tmp_path, port)
    try:
        wait_until(lambda: _raw_events_stored(stack) == 200, timeout=120, what="events lost", every=1)
        print(f"\nafter SIGKILL of up: all 200 processed {time.monotonic() - began:.1f}s after the restart")
        assert httpx.get(f"{restarted.api_url}/readyz", timeout=1).json()["dead"] == 0
    finally:
        restarted.signal_and_wait(signal.SIGTERM)


def test_sigkill_of_ingest_with_1000_pending_loses_nothing_after_restart(fake_sqs, proxy, tmp_path):
    """SIGKILL of the ingest service (the image's uvicorn), 1,000 unsent: after a restart all reach SQS."""
    port = free_port()
    env = child_environment(
        None,
        endpoint=proxy.url,
        state_dir=tmp_path,
        INGEST_API_KEYS="k",
        INGEST_OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"),
        INGEST_SENDER_CONCURRENCY="10",
    )

    def start() -> Service:
        service = Service(
            uvicorn_command(port), env=env, log=tmp_path / "ingest.log", api_url=f"http://127.0.0.1:{port}"
        )
        service.ready()
        return service

    service = start()
    proxy.mode = Mode.BLACKHOLE
    accepted = events(1000)
    _post_all(service, accepted, {"Authorization": "Bearer k"})
    service.kill()
    assert _rows(tmp_path / "outbox.sqlite3") == 1000
    proxy.mode = Mode.PASS
    began = time.monotonic()
    restarted = start()
    try:
        wait_until(lambda: len(fake_sqs.bodies) == 1000, timeout=60, what="events lost", every=0.1)
        print(f"\nafter SIGKILL of ingest: all 1000 in SQS {time.monotonic() - began:.1f}s after the restart")
        assert {json.loads(body)["requestId"] for body in fake_sqs.bodies.values()} == {
            event["requestId"] for event in accepted
        }
    finally:
        restarted.signal_and_wait(signal.SIGTERM)


@pytest.mark.parametrize("command", ["up", "uvicorn"])
def test_sigterm_with_sqs_blackholed_exits_within_timeout(stack, moto_proxy, tmp_path, command):
    """SIGTERM of `up` or of the image's uvicorn, SQS black-holed: exit within timeout + 1 s, nothing lost."""
    port = free_port()
    extra = {"INGEST_SHUTDOWN_TIMEOUT_SECONDS": "3"}
    if command == "uvicorn":
        extra |= {"INGEST_API_KEYS": "k", "INGEST_OUTBOX_PATH": str(tmp_path / "state" / "outbox.sqlite3")}
        env = child_environment(stack, endpoint=moto_proxy.url, state_dir=tmp_path / "state", **extra)
        service = Service(
            uvicorn_command(port), env=env, log=tmp_path / "uvicorn.log", api_url=f"http://127.0.0.1:{port}"
        )
        service.ready()
        headers = {"Authorization": "Bearer k"}
    else:
        service = _up(stack, moto_proxy, tmp_path, port, **extra)
        headers = _api_key(tmp_path)
    moto_proxy.mode = Mode.BLACKHOLE
    _post_all(service, events(100), headers)
    took = service.signal_and_wait(signal.SIGTERM, timeout=30)
    print(f"\nSIGTERM of {command} with SQS black-holed: exited in {took:.2f}s (timeout 3s)")
    assert took <= 3 + 1
    assert _rows(tmp_path / "state" / "outbox.sqlite3") == 100
    assert "stay in the outbox" in service.log.read_text()
