"""Checks done before starting the embedded emulator or the API: its package, free ports."""

from __future__ import annotations

import socket

import pytest

from cv_analytics.embedded import EmulatorMissing, PortInUse, ensure_emulator_installed, ensure_port_free


def test_ensure_port_free_taken_port_names_port_and_hint():
    """A port another socket holds is reported with the address and the hint."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"127\.0\.0\.1:{port} is already in use \(try another\)"):
            ensure_port_free("127.0.0.1", port, hint="try another")


def test_ensure_port_free_free_port_passes():
    """A port nobody holds passes the check and stays free."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ensure_port_free("127.0.0.1", port, hint="unused")
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_ensure_port_free_time_wait_connections_pass():
    """A port whose last server closed its connections first (TIME_WAIT, as after a crash) is free."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end of the connection enters TIME_WAIT
        client.close()
    ensure_port_free("127.0.0.1", port, hint="unused")


def test_ensure_emulator_installed_missing_package_names_the_extra():
    """Without the emulator's package the error says which extra installs it, and the alternative."""
    with pytest.raises(EmulatorMissing, match=r"pip install 'cv-analytics\[local\]'.*AWS_ENDPOINT_URL"):
        ensure_emulator_installed("cv_analytics_no_such_emulator")


def test_ensure_emulator_installed_present_package_passes():
    """With moto installed (the test tools include the `local` extra) the check passes."""
    ensure_emulator_installed()
