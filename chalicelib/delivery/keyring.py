"""The keys that sign rendition URLs, from configuration or Secrets Manager.

DELIVERY_KEYS is a JSON object `{"current": "k2", "k1": "...", "k2": "..."}`: `current`
names the key that signs, and every other member is a key id and its secret, each of which
verifies (two while one is rotated in). The flat shape is what Secrets Manager generates
(infra/resources.yaml) and what the edge's KeyValueStore holds, one key id per entry. On a deployed
stage the same JSON is the Secrets Manager secret DELIVERY_KEYS_ARN names, cached at most
SECRETS_MAX_AGE seconds. Off Lambda only, without either, one key derived from the table's
name (anyone can derive it: a local stack's URLs are not secret).
"""

from __future__ import annotations

import json
import os

from ..adapters import secrets as secret_store
from ..config import Settings, on_lambda
from .signing import Keyring


def parse(raw: str) -> Keyring:
    """The keyring a DELIVERY_KEYS value describes; RuntimeError naming the problem."""
    try:
        spec = dict(json.loads(raw))
        current = str(spec.pop("current"))
        return Keyring(current, {str(k): str(v) for k, v in spec.items()})
    except (ValueError, TypeError, KeyError) as exc:
        raise RuntimeError(f'DELIVERY_KEYS must be {{"current": id, id: secret, ...}}: {exc!r}') from None


def load(settings: Settings) -> Keyring:
    if settings.delivery_keys:
        return parse(settings.delivery_keys)
    if settings.delivery_keys_arn:
        return parse(secret_store.get(settings.delivery_keys_arn, settings.secrets_max_age))
    if on_lambda(os.environ):
        raise RuntimeError("DELIVERY_KEYS_ARN is not set: a deployed stage signs rendition URLs with keys of its own")
    return Keyring("local", {"local": f"imgstore-local-delivery:{settings.table}"})
