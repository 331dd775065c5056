"""Fault-injection fixtures: an SQS endpoint behind a fault proxy, and the ingest app talking through it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from cv_analytics.embedded import wait_until_ready
from cv_analytics.testing.fake_sqs import FakeSqs
from cv_analytics.testing.fault_proxy import FaultProxy
from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.faults import proxy_for
from tests.support.network import free_port

API_KEY = "fault-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory) -> str:
    """moto's server in its own process: the `up` under test and this test process must not
    share a GIL with the emulator, or every figure measures the contention."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{endpoint}/moto-api/", timeout=30)
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)
        log.close()


@pytest.fixture
def fake_sqs() -> FakeSqs:
    fake = FakeSqs()
    yield fake
    fake.close()


@pytest.fixture
def proxy(fake_sqs, monkeypatch: pytest.MonkeyPatch) -> FaultProxy:
    """The fast SQS stand-in behind a fault proxy; boto3 clients built from now on go through it."""
    fault_proxy = proxy_for(fake_sqs.url)
    for name, value in {
        "AWS_ENDPOINT_URL": fault_proxy.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def moto_proxy(stack, monkeypatch: pytest.MonkeyPatch) -> FaultProxy:
    """The emulator behind a fault proxy, for whole-pipeline runs."""
    fault_proxy = proxy_for(stack.endpoint)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def settings(tmp_path) -> IngestSettings:
    return IngestSettings(
        outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY, shutdown_timeout_seconds=3, linger_ms=20
    )


@pytest.fixture
def make_client(settings, proxy):
    """Open a TestClient on the ingest app; the test closes it (shutdown is under test), or teardown does."""
    opened: list[TestClient] = []

    def make(**overrides) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=overrides)), headers=AUTH)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    proxy.mode = proxy.mode.PASS
    for client in opened:
        if client.app.state.sender.running:
            client.__exit__(None, None, None)
