"""Standard Webhooks signatures (the `standard-webhooks` spec, as Svix signs).

A secret is `whsec_` + base64 of random bytes; the HMAC key is those bytes.
A signature is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
with the timestamp in Unix seconds, the one sent in `webhook-timestamp`.
During a rotation's grace period a delivery carries one signature per live
secret, space-separated, newest first: a receiver holding either verifies.

Receivers verify with the reference libraries (the tests use PyPI's
`standardwebhooks`), so this must match them byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec allows 24-64
ROTATION_GRACE_SECONDS = 24 * 3600  # how long a replaced secret still signs


def new_secret() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for. ValueError if it is not one."""
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ and base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24-64 bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """One `v1,` signature of the body as sent (its exact bytes, UTF-8)."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Secret:
    """A webhook's secret, and when it stops signing (None: the current one)."""

    value: str
    retires_at: int | None = None

    def live(self, now: float) -> bool:
        return self.retires_at is None or now < self.retires_at


def rotate(current: Iterable[Secret], fresh: str, now: float, grace: int = ROTATION_GRACE_SECONDS) -> list[Secret]:
    """`fresh` becomes the current secret; the one it replaces signs for `grace`
    seconds more, and secrets already retired are dropped. Secrets may be kept
    sealed (`hook_store`): only their retirement times are read here."""
    kept = [
        Secret(s.value, s.retires_at if s.retires_at is not None else int(now) + grace) for s in current if s.live(now)
    ]
    return [Secret(fresh), *kept]


def headers(secrets: Iterable[Secret], message_id: str, timestamp: int, body: str, now: float) -> Mapping[str, str]:
    """The three Standard Webhooks headers for one attempt (plus the content type)."""
    signatures = [sign(s.value, message_id, timestamp, body) for s in secrets if s.live(now)]
    if not signatures:
        raise ValueError("the webhook has no live secret")
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
