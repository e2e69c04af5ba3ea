"""One webhook attempt: a POST of the raw body to the address that was checked.

`post` connects to an address in `Target.addresses` (never resolving the name
again, so DNS rebinding cannot redirect it), speaks TLS to the host named in
the URL (its certificate is verified against that name), sends the body and
the signature headers, reads only the status line and headers, and never
follows a redirect (a 3xx is a failed attempt like any non-2xx). The whole
attempt is bounded by `timeout` seconds, connection included.

It never raises for what the receiver did: the outcome, a status or an error,
is in the `Attempt`.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .destinations import Target

TIMEOUT_SECONDS = 15.0
USER_AGENT = "imgstore-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    status: int | None  # the receiver's HTTP status; None when there was none
    error: str | None  # why there was no status (timeout, refused, TLS...), else None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks for the webhook to be disabled."""
        return self.status == 410


class _Pinned(http.client.HTTPConnection):
    """HTTP to a fixed address, whatever the host name resolves to now."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to a fixed address; SNI and certificate checks use the URL's host."""

    def __init__(self, target: Target, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def post(
    target: Target,
    headers: Mapping[str, str],
    body: str,
    *,
    timeout: float = TIMEOUT_SECONDS,
    tls: ssl.SSLContext | None = None,
) -> Attempt:
    """POST `body` to `target` once, within `timeout` seconds in all."""
    started = time.monotonic()
    data = body.encode()
    error = "no address to connect to"
    for address in target.addresses:
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedTLS(target, address, timeout, tls or ssl.create_default_context())
        else:
            connection = _Pinned(target, address, timeout)
        # The socket timeout bounds each read; this bounds the whole attempt (a receiver
        # trickling its headers a byte at a time would otherwise hold it for ever).
        deadline = threading.Timer(max(0.0, timeout - (time.monotonic() - started)), _abort, (connection,))
        deadline.daemon = True
        deadline.start()
        try:
            connection.request(
                "POST",
                target.path,
                body=data,
                headers={**headers, "user-agent": USER_AGENT, "content-length": str(len(data))},
            )
            response = connection.getresponse()
            response.read(1024)  # a little of the answer, so the connection closes cleanly
            return Attempt(response.status, None, _ms(started))
        except (OSError, http.client.HTTPException) as exc:
            error = _describe(exc, timed_out=time.monotonic() - started >= timeout)
            if not isinstance(exc, ConnectionRefusedError | socket.gaierror):
                break  # the request may have reached the receiver: one attempt is one POST
        finally:
            deadline.cancel()
            connection.close()
    return Attempt(None, error, _ms(started))


def _abort(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _describe(exc: BaseException, *, timed_out: bool) -> str:
    if timed_out or isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP answer ({type(exc).__name__})"
    return f"connection failed ({type(exc).__name__})"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
