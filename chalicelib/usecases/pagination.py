"""Opaque, tamper-evident pagination tokens.

A token carries the store's cursor (opaque here) and the list it belongs to,
signed with HMAC-SHA256. A modified token, or one from another list (another
owner, tag, status, order or search), fails verification and becomes a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from ..domain.errors import Invalid

# The shape of every token encode() makes: the payload and its 32-byte HMAC in unpadded base64url.
# The contract carries it (chalicelib/edge/openapi.json). decode() reads every token of this shape;
# one that was never issued for the list fails the HMAC ("not valid for this list"), a 400 all the same.
TOKEN_PATTERN = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?\.[A-Za-z0-9_-]{43}$(?!\n)"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, scope: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), scope.encode() + b"\0" + payload, hashlib.sha256).digest()


def scope(owner: str | None, tag: str | None, status: str | None, order: str = "newest", search: str = "") -> str:
    """Names one list by its filters, order and search (its words, `Search.scope`): a token signed
    for one scope continues no other list. (The defaults add nothing, so tokens from before
    `order` and search stay valid.)"""
    extra = [order] if order != "newest" or search else []
    return json.dumps([owner, tag, status] + extra + ([search] if search else []))


def encode(cursor: str, scope: str, secret: str) -> str:
    """A token for the page at the store's `cursor` of the list named by `scope`."""
    payload = cursor.encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, scope, payload))}"


def decode(token: str, scope: str, secret: str) -> str:
    """The cursor a token carries; Invalid if it was altered or belongs to another list."""
    try:
        body, signature = token.split(".")
        payload, mac = _unb64(body), _unb64(signature)
    except (ValueError, TypeError):
        raise Invalid("next_token is malformed") from None
    if not hmac.compare_digest(mac, _mac(secret, scope, payload)):
        raise Invalid("next_token is not valid for this list")
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise Invalid("next_token is malformed") from None
