"""How the runner calls a function: in this process, or over a Runtime Interface Emulator."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

RIE_INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class InvocationError(RuntimeError):
    """The function raised, timed out or could not be reached."""


class Invoker(Protocol):
    name: str

    def invoke(self, payload: dict[str, Any]) -> Any: ...


@dataclass
class LocalLambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        # No account exists locally; the ARN only has to look like one to loggers.
        self.invoked_function_arn = f"arn:aws:lambda:local:local:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessInvoker:
    """Calls a handler function directly, with a Lambda-like context."""

    def __init__(
        self, *, name: str, handler: Callable[[dict[str, Any], Any], Any], timeout_seconds: int
    ) -> None:
        self.name = name
        self._handler = handler
        self._timeout = timeout_seconds

    def invoke(self, payload: dict[str, Any]) -> Any:
        context = LocalLambdaContext(function_name=self.name, timeout_seconds=self._timeout)
        # Round-trip through JSON, as Lambda does, so handlers never share objects with us.
        try:
            result = self._handler(json.loads(json.dumps(payload)), context)
            return json.loads(json.dumps(result))
        except Exception as exc:
            raise InvocationError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc


class HttpInvoker:
    """Calls a function container through the Runtime Interface Emulator's invoke API."""

    def __init__(self, *, name: str, url: str, timeout_seconds: float, client: httpx.Client | None = None):
        self.name = name
        self._url = url if url.endswith(RIE_INVOKE_PATH) else url.rstrip("/") + RIE_INVOKE_PATH
        self._client = client or httpx.Client(timeout=timeout_seconds + 5)

    def is_reachable(self, *, timeout: float = 2.0) -> bool:
        """Whether the emulator accepts connections. Only a TCP connect: AWS's emulator
        treats any request on the invoke URL as an invocation, even a GET."""
        url = urlsplit(self._url)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            socket.create_connection((url.hostname or "localhost", port), timeout=timeout).close()
        except OSError:
            return False
        return True

    def invoke(self, payload: dict[str, Any]) -> Any:
        try:
            response = self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            raise InvocationError(f"{self.name} unreachable at {self._url}: {exc}") from exc
        if response.status_code != 200:
            raise InvocationError(f"{self.name} answered HTTP {response.status_code}: {response.text[:500]}")
        try:
            result = response.json() if response.content else None
        except ValueError as exc:
            raise InvocationError(f"{self.name} answered non-JSON: {response.text[:200]!r}") from exc
        if _is_function_error(response, result):
            raise InvocationError(f"{self.name} failed: {json.dumps(result)[:500]}")
        return result


def _is_function_error(response: httpx.Response, result: Any) -> bool:
    if response.headers.get("X-Amz-Function-Error"):
        return True
    # The emulator reports an unhandled exception as a 200 with an error document.
    return isinstance(result, dict) and {"errorMessage", "errorType"} <= result.keys()
