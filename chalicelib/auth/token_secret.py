"""Where the token secret comes from: the environment (local stages) or
Secrets Manager (deployed stages), cached for at most SECRETS_MAX_AGE seconds."""

from __future__ import annotations

from collections.abc import Mapping

from .. import config
from ..adapters import secrets


def token_secret(env: Mapping[str, str] | None = None) -> str:
    """AUTH_TOKEN_SECRET itself (local stages), or the Secrets Manager secret
    named by AUTH_TOKEN_SECRET_ARN (deployed stages): after a rotation, the new
    one within SECRETS_MAX_AGE seconds, and the old one no longer."""
    source = config.token_secret_source(env)
    if source.value:
        return source.value
    if source.arn:
        return secrets.get(source.arn, source.max_age)
    raise RuntimeError("AUTH_MODE=token needs AUTH_TOKEN_SECRET or AUTH_TOKEN_SECRET_ARN")


def reset() -> None:
    """Forget the cached secrets (tests, or at once after rotating one)."""
    secrets.reset()
