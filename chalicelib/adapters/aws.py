"""Lazily created, cached boto3 clients.

Creating a session or a client costs tens of milliseconds, so each is made on
first use and reused across warm invocations. Nothing happens at import time.
Clients are thread-safe once made; making them is not, hence the lock
(`chalice local` serves requests on several threads).
"""

from __future__ import annotations

import threading

_RETRIES = {"max_attempts": 5, "mode": "standard"}
_lock = threading.Lock()
_session = None
_clients: dict[str, object] = {}


def session():
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session


def client(service: str):
    found = _clients.get(service)
    if found is not None:
        return found
    from botocore.config import Config

    config = Config(retries=_RETRIES, connect_timeout=5, read_timeout=30)
    if service == "s3":
        # SigV4 everywhere: presigned URLs must match what AWS verifies.
        config = config.merge(Config(signature_version="s3v4"))
    made = session().client(service, config=config)
    with _lock:
        return _clients.setdefault(service, made)


def reset() -> None:
    """Forget cached clients (tests, or after the endpoint changed)."""
    with _lock:
        _clients.clear()


class _Status:
    """The one attribute of an HTTP response botocore's retry checkers read."""

    def __init__(self, status_code: int | None):
        self.status_code = status_code


def transient(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is one the SDK itself retries:
    throttling, a 5xx, a timeout or a lost connection. Raised to us, it means the
    client's retries (`_RETRIES`) ran out, and the same call can succeed a moment
    later. The verdict is botocore's own (its standard retry mode's checkers)."""
    from botocore.exceptions import ClientError
    from botocore.retries import standard

    checkers = (standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker())
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ClientError):
            response = current.response or {}
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            context = standard.RetryContext(1, parsed_response=response, http_response=_Status(status))
        else:
            context = standard.RetryContext(1, caught_exception=current)
        if any(checker.is_retryable(context) for checker in checkers):
            return True
        current = current.__cause__ or current.__context__
    return False
