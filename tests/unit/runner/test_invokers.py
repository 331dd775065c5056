"""The invokers (cv_analytics.runner.invokers): a handler called in process as Lambda would,
and a function behind its Runtime Interface Emulator, reached without being invoked."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cv_analytics.runner.invokers import (
    RIE_INVOKE_PATH,
    HttpInvoker,
    InProcessInvoker,
    InvocationError,
)

RIE_URL = "http://reporter:8080" + RIE_INVOKE_PATH


def test_in_process_invoker_passes_json_copy():
    """The handler gets an equal copy: mutating it leaves the caller's payload untouched."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append(event)
        event["Records"].append({"messageId": "injected"})

    payload = {"Records": [{"messageId": "m1"}]}
    InProcessInvoker(name="processor", handler=handler, timeout_seconds=30).invoke(payload)

    assert payload == {"Records": [{"messageId": "m1"}]}
    assert seen[0] is not payload


def test_in_process_invoker_payload_round_trips_through_json():
    """Values are what JSON makes of them (a tuple arrives as a list), as on Lambda."""
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append(event)

    InProcessInvoker(name="processor", handler=handler, timeout_seconds=30).invoke({"a": (1, 2)})

    assert seen == [{"a": [1, 2]}]


def test_in_process_invoker_returns_handler_result():
    """The handler's result comes back (as JSON would carry it)."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    invoker = InProcessInvoker(name="processor", handler=handler, timeout_seconds=30)

    assert invoker.invoke({"Records": []}) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}


def test_in_process_invoker_context_reports_remaining_time():
    """The context counts down from the function's timeout and names the function."""
    contexts: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        contexts.append((context.get_remaining_time_in_millis(), context))

    InProcessInvoker(name="reporter", handler=handler, timeout_seconds=30).invoke({})

    remaining, context = contexts[0]
    assert 29_000 < remaining <= 30_000
    assert context.function_name == "reporter"
    assert context.invoked_function_arn == "arn:aws:lambda:local:local:function:reporter"
    assert context.log_group_name == "/aws/lambda/reporter"


def test_in_process_invoker_wraps_handler_exception():
    """A handler exception becomes an InvocationError naming the function and the error."""
    boom = ValueError("table not found")

    def handler(event: dict[str, Any], context: Any) -> None:
        raise boom

    invoker = InProcessInvoker(name="processor", handler=handler, timeout_seconds=30)

    with pytest.raises(InvocationError) as caught:
        invoker.invoke({})

    assert str(caught.value) == "processor raised ValueError: table not found"
    assert caught.value.__cause__ is boom


def test_in_process_invoker_unserialisable_result_raises_invocation_error():
    """A result JSON cannot carry is a function error (Lambda's Runtime.MarshalError)."""

    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"sentAt": datetime(2025, 11, 24, 7, tzinfo=UTC)}

    invoker = InProcessInvoker(name="reporter", handler=handler, timeout_seconds=30)

    with pytest.raises(InvocationError):
        invoker.invoke({})


# --- over the Runtime Interface Emulator ----------------------------------------------------------


def _http_invoker(handler: Callable[[httpx.Request], httpx.Response], *, url: str = RIE_URL) -> HttpInvoker:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpInvoker(name="reporter", url=url, timeout_seconds=30, client=client)


@pytest.mark.parametrize(
    "url", ["http://reporter:8080", "http://reporter:8080/", RIE_URL], ids=["base", "slash", "full"]
)
def test_http_invoker_posts_payload_to_rie_path(url):
    """The payload is POSTed as JSON to the emulator's invoke path, whatever URL form is given."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"week": "2025-W47"})

    _http_invoker(handler, url=url).invoke({"week": "2025-W47"})

    (request,) = requests
    assert (request.method, str(request.url)) == ("POST", RIE_URL)
    assert json.loads(request.content) == {"week": "2025-W47"}


def test_http_invoker_returns_json_result():
    """The function's JSON result is returned decoded."""
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    invoker = _http_invoker(lambda request: httpx.Response(200, json=result))

    assert invoker.invoke({"Records": []}) == result


def test_http_invoker_null_result():
    """A function that returned None answers 'null', which comes back as None."""
    invoker = _http_invoker(lambda request: httpx.Response(200, content=b"null"))

    assert invoker.invoke({"Records": []}) is None


def test_http_invoker_error_document_raises():
    """The emulator's 200 with an error document is a function error."""
    document = {"errorMessage": "table not found", "errorType": "ResourceNotFoundException"}
    invoker = _http_invoker(lambda request: httpx.Response(200, json=document))

    with pytest.raises(InvocationError, match=r"reporter failed: .*table not found"):
        invoker.invoke({})


def test_http_invoker_function_error_header_raises():
    """X-Amz-Function-Error marks a function error even when the body looks ordinary."""
    invoker = _http_invoker(
        lambda request: httpx.Response(
            200, json={"message": "partial"}, headers={"X-Amz-Function-Error": "Unhandled"}
        )
    )

    with pytest.raises(InvocationError, match="reporter failed"):
        invoker.invoke({})


def test_http_invoker_http_500_raises():
    """An HTTP error status is an InvocationError quoting the status and body."""
    invoker = _http_invoker(lambda request: httpx.Response(500, text="emulator crashed"))

    with pytest.raises(InvocationError, match="reporter answered HTTP 500: emulator crashed"):
        invoker.invoke({})


def test_http_invoker_connection_error_raises():
    """An unreachable emulator is an InvocationError naming the URL."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(InvocationError, match=f"reporter unreachable at {RIE_URL}"):
        _http_invoker(refuse).invoke({})


def test_http_invoker_non_json_answer_raises_invocation_error():
    """A 200 that is not JSON (not an emulator at that URL) is an InvocationError."""
    invoker = _http_invoker(lambda request: httpx.Response(200, text="<html>nginx</html>"))

    with pytest.raises(InvocationError):
        invoker.invoke({})


def _listener() -> tuple[socket.socket, list[bytes]]:
    """A TCP listener on loopback that records every byte any client sends it."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(1)
                try:
                    received.append(connection.recv(65536))
                except OSError:
                    received.append(b"")

    threading.Thread(target=serve, daemon=True).start()
    return server, received


def test_invoker_is_reachable_sends_no_request() -> None:
    """Reachability is a TCP connect: the emulator receives not one byte, so nothing is invoked."""
    server, received = _listener()
    port = server.getsockname()[1]
    try:
        invoker = HttpInvoker(name="reporter", url=f"http://127.0.0.1:{port}", timeout_seconds=5)
        assert invoker.is_reachable()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received == [b""]
    finally:
        server.close()


def test_invoker_is_reachable_false_when_nothing_listens() -> None:
    """A port nobody listens on is unreachable, within the deadline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    invoker = HttpInvoker(name="processor", url=f"http://127.0.0.1:{port}", timeout_seconds=5)
    assert not invoker.is_reachable(timeout=1)
