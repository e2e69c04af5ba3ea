"""Ports: bind one, with a clear error when it is taken."""

from __future__ import annotations

import errno
import socket


class PortInUse(Exception):
    """The port is taken; the message says which and how to choose another."""


def bind(host: str, port: int, what: str, setting: str) -> socket.socket:
    """A listening socket on host:port (port 0: any free one).

    SO_REUSEADDR as the servers themselves use it, so a port left in
    TIME_WAIT by the previous run is not mistaken for one in use.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"{what}: port {port} on {host} is already in use (another `make run`?). "
                f"Stop whatever holds it (`ss -ltnp 'sport = :{port}'` shows it) "
                f"or pick another port, e.g. `make run {setting}={port + 1}`."
            ) from None
        raise
    return sock
