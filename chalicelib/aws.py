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
