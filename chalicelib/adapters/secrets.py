"""Secrets Manager adapter: secret values, cached with a maximum age.

A warm Lambda container keeps a secret at most `max_age` seconds
(SECRETS_MAX_AGE, config.py), so a rotated secret takes effect everywhere
within that time and the old one stops working. The cache is powertools'
parameters utility, fetching through the shared, lazily made boto3 client.
"""

from __future__ import annotations

import threading

from ..config import Settings
from . import aws

_lock = threading.Lock()
_provider = None


def _secrets_provider():
    """One provider (and so one cache) per Secrets Manager client; tests replace the client."""
    global _provider
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    client = aws.client("secretsmanager")
    with _lock:
        if _provider is None or _provider.client is not client:
            _provider = SecretsProvider(boto3_client=client)
        return _provider


def get(arn: str, max_age: int) -> str:
    """The secret's current value, fetched again once the cached one is `max_age` seconds old."""
    return _secrets_provider().get(arn, max_age=max_age)


def pagination_secret(settings: Settings) -> str:
    """The key that signs page tokens: SIGNING_SECRET, or the secret SIGNING_SECRET_ARN names."""
    if settings.signing_secret:
        return settings.signing_secret
    return get(settings.signing_secret_arn or "", settings.secrets_max_age)


def reset() -> None:
    """Forget every cached value (tests, or at once after a rotation)."""
    global _provider
    with _lock:
        _provider = None
