"""Where the token secret comes from: the environment (local stages) or
Secrets Manager (deployed stages)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

from .. import aws


@functools.lru_cache(maxsize=4)
def _secret_from(arn: str) -> str:
    return aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def token_secret(env: Mapping[str, str] | None = None) -> str:
    """AUTH_TOKEN_SECRET itself (local stages), or the Secrets Manager secret
    named by AUTH_TOKEN_SECRET_ARN (deployed stages), fetched once per container."""
    env = os.environ if env is None else env
    if env.get("AUTH_TOKEN_SECRET"):
        return env["AUTH_TOKEN_SECRET"]
    if env.get("AUTH_TOKEN_SECRET_ARN"):
        return _secret_from(env["AUTH_TOKEN_SECRET_ARN"])
    raise RuntimeError("AUTH_MODE=token needs AUTH_TOKEN_SECRET or AUTH_TOKEN_SECRET_ARN")


def reset() -> None:
    """Forget the cached token secret (tests, or after rotating it)."""
    _secret_from.cache_clear()
