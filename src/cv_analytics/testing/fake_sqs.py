"""A fast stand-in for SQS over HTTP (AWS JSON 1.0), for timing the ingest sender itself.

moto's server answers concurrent SendMessageBatch calls one at a time and slows down as a
queue grows, so against it any figure measures moto. This one answers GetQueueUrl,
GetQueueAttributes (a message count), SendMessage and SendMessageBatch at once, from many
threads, and records every message body, so drain and throughput figures are the sender's
own. The fault proxy sits in front of it exactly as in front of moto.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeSqs:
    def __init__(self) -> None:
        self.bodies: dict[str, str] = {}  # deduplication id -> body, as SQS deduplicates
        self.calls = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        if action == "GetQueueUrl":
            return {"QueueUrl": f"{self.url}/000000000000/{request['QueueName']}"}
        if action == "SendMessageBatch":
            with self._lock:
                self.calls += 1
                for entry in request["Entries"]:
                    self.bodies.setdefault(entry["MessageDeduplicationId"], entry["MessageBody"])
            return {
                "Successful": [
                    {"Id": e["Id"], "MessageId": e["Id"], "MD5OfMessageBody": ""} for e in request["Entries"]
                ],
                "Failed": [],
            }
        if action == "SendMessage":  # the benchmark's naive API sends one at a time
            with self._lock:
                self.calls += 1
                self.bodies.setdefault(request["MessageDeduplicationId"], request["MessageBody"])
            return {"MessageId": request["MessageDeduplicationId"], "MD5OfMessageBody": ""}
        if action == "GetQueueAttributes":
            with self._lock:
                return {"Attributes": {"ApproximateNumberOfMessages": str(len(self.bodies))}}
        return {"Attributes": {}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                action = self.headers["X-Amz-Target"].rsplit(".", 1)[-1]
                body = json.dumps(fake.answer(action, request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
