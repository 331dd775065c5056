"""The runner's HTTP path: SQS batches posted to a stand-in for the Lambda Runtime Interface
Emulator, which serves the real processor handler on loopback exactly as the container does."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cv_analytics.runner.invokers import RIE_INVOKE_PATH, HttpInvoker, InvocationError, LocalLambdaContext
from cv_analytics.runner.service import wait_for_function
from cv_processor.handler import lambda_handler as processor_handler
from tests.support.events import query_event, response_event
from tests.support.network import free_port
from tests.support.stack import drain, processor_source, record_item, send_raw

QUERY_AT = 1_763_980_000_000


def _emulator_handler(function):
    class Emulator(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != RIE_INVOKE_PATH:
                self.send_error(404)
                return
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                result, status = function(payload, LocalLambdaContext("processor", 30)), 200
            except Exception as exc:  # the emulator reports handler errors as a document
                result, status = {"errorMessage": str(exc), "errorType": type(exc).__name__}, 200
            body = json.dumps(result).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Emulator


@pytest.fixture
def emulator_url():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _emulator_handler(processor_handler))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_runner_http_invoker_feeds_processor_container(stack, emulator_url):
    """Messages reach the processor over the emulator's invoke API and end up correlated."""
    rid = str(uuid.uuid4())
    send_raw(stack, query_event(rid, timestamp=QUERY_AT))
    send_raw(stack, response_event(rid, timestamp=QUERY_AT + 300))
    invoker = HttpInvoker(name="processor", url=emulator_url, timeout_seconds=30)
    outcomes = drain(processor_source(stack, invoker=invoker), expected=2)
    assert sum(o.succeeded for o in outcomes) == 2
    assert record_item(stack, rid)["status"] == "answered"


def test_runner_http_handler_error_keeps_batch_on_queue(stack, emulator_url, monkeypatch):
    """When the container reports an unhandled error, no message of the batch is deleted."""
    import cv_processor.handler as handler

    def crash(**_):
        raise RuntimeError("handler crashed before reporting")

    monkeypatch.setattr(handler, "process_partial_response", crash)
    send_raw(stack, query_event(str(uuid.uuid4()), timestamp=QUERY_AT))
    invoker = HttpInvoker(name="processor", url=emulator_url, timeout_seconds=30)
    [outcome] = drain(processor_source(stack, invoker=invoker), expected=1)
    assert (outcome.succeeded, outcome.failed) == (0, 1)


def test_runner_waits_for_emulator_without_invoking(emulator_url):
    """Readiness is an HTTP answer from the emulator; the function is not invoked."""
    invoker = HttpInvoker(name="reporter", url=emulator_url, timeout_seconds=5)
    wait_for_function(invoker, timeout=5)
    assert invoker.is_reachable()


def test_runner_wait_for_function_times_out_when_nothing_listens():
    """An emulator that never comes up is reported after the deadline."""
    invoker = HttpInvoker(name="processor", url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    with pytest.raises(TimeoutError, match="processor did not answer"):
        wait_for_function(invoker, timeout=1)


def test_runner_http_unreachable_is_invocation_error():
    """A refused connection is an InvocationError, so the runner leaves the batch for a retry."""
    invoker = HttpInvoker(name="processor", url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    with pytest.raises(InvocationError, match="unreachable"):
        invoker.invoke({"Records": []})
