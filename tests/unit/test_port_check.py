"""The port check before `up` starts a server: only a live listener counts as taken."""

from __future__ import annotations

import socket

from cv_analytics.embedded import ensure_port_free


def test_ensure_port_free_time_wait_connections_pass():
    """A port whose last server closed its connections first (TIME_WAIT, as after a crash) is free."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end of the connection enters TIME_WAIT
        client.close()
    ensure_port_free("127.0.0.1", port, hint="unused")
