"""A small TCP fault proxy: pass, delay, refuse, black-hole, drop answers.

Used by the fault-injection tests and by the benchmark (300 ms of SQS latency).

Put it between a client and a server (``upstream``) and change ``mode`` at any time; the
new mode applies to open connections too, chunk by chunk, as a network fault would.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from enum import Enum


class Mode(Enum):
    PASS = "pass"
    DELAY = "delay"  # each chunk towards the server waits ``delay`` seconds
    REFUSE = "refuse"  # connections are reset as soon as they are accepted
    BLACKHOLE = "blackhole"  # requests vanish, nothing ever answers
    DROP_ANSWERS = "drop_answers"  # requests reach the server, its answers vanish


class FaultProxy:
    def __init__(self, *, upstream: tuple[str, int], delay: float = 0.3) -> None:
        self.upstream = upstream
        self.mode = Mode.PASS
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in list(self._sockets):
            _quietly_close(sock)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode is Mode.REFUSE:
                # Linger 0: the close sends RST, like a port nobody listens on.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        self._sockets += [client, server]
        threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, to_server: bool) -> None:
        last_forward = 0.0
        try:
            while chunk := source.recv(65536):
                if self.mode is Mode.BLACKHOLE or (self.mode is Mode.DROP_ANSWERS and not to_server):
                    continue
                # Once per request: a request's headers and body arrive as chunks a moment apart.
                if self.mode is Mode.DELAY and to_server and time.monotonic() - last_forward > 0.05:
                    time.sleep(self.delay)
                target.sendall(chunk)
                last_forward = time.monotonic()
        except OSError:
            pass
        finally:
            _quietly_close(source)
            _quietly_close(target)


def _quietly_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
