"""Lazily created, cached boto3 clients.

Creating a client costs tens of milliseconds, so each is made on first use
and reused across warm invocations. Nothing happens at import time.
"""
from __future__ import annotations

import functools

_RETRIES = {"max_attempts": 5, "mode": "standard"}


@functools.lru_cache(maxsize=None)
def client(service: str):
    import boto3
    from botocore.config import Config

    config = Config(retries=_RETRIES, connect_timeout=5, read_timeout=30)
    if service == "s3":
        # SigV4 everywhere: presigned URLs must match what AWS verifies.
        config = config.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client(service, config=config)


def reset() -> None:
    """Forget cached clients (tests, or after the endpoint changed)."""
    client.cache_clear()
