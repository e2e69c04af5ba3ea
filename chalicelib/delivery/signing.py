"""Signed rendition paths: what the API hands out and what the renderer and the edge verify.

    /r/{image_id}/{version}/{options}/{key_id}.{expires}.{signature}

- `signature` is base64url(HMAC-SHA256(key, canonical message)), the message made from the
  parsed values (`message`), never from the raw text: a path is parsed strictly first
  (every segment in its one canonical spelling, `options.from_canonical`), so the bytes
  verified are the bytes then used (Thumbor's CVE came from verifying one string and using
  another).
- `key_id` names the key, so two keys are valid while one is rotated in; compared with
  `hmac.compare_digest`, in constant time.
- `version` is the record's: a reprocess, a new upload under the same key or a focus change
  gives new paths, and an old one never serves another version's pixels.
- `expires` is 0 for a capability URL that never expires; otherwise the end of a window
  (`expiry`), so a URL stays the same, and cacheable, all through one window.

Pure: no AWS, no Pillow. Raises BadSignature (a 403 wherever it surfaces) or Invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from ..domain.errors import Forbidden
from .options import Options, from_canonical

PREFIX = "/r/"
_KEY_ID = re.compile(r"[a-z0-9]{1,16}")
_PATH = re.compile(
    r"/r/(?P<image_id>[0-9a-f]{32})/(?P<version>0|[1-9][0-9]{0,12})/(?P<options>[a-z0-9-]{1,64})/"
    r"(?P<key_id>[a-z0-9]{1,16})\.(?P<expires>0|[1-9][0-9]{0,11})\.(?P<signature>[A-Za-z0-9_-]{43})"
)


class BadSignature(Forbidden):
    """The path was not signed by a current key, or was changed after it was, or expired."""


@dataclass(frozen=True)
class Keyring:
    """The signing key (`current`) and every key still accepted, by id."""

    current: str
    keys: dict[str, str]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise RuntimeError(f"the delivery signing key {self.current!r} is not among the keys")
        for key_id, secret in self.keys.items():
            if not _KEY_ID.fullmatch(key_id) or not secret:
                raise RuntimeError(f"a delivery key id is 1-16 lowercase letters or digits, with a secret: {key_id!r}")


@dataclass(frozen=True)
class Signed:
    """A verified rendition path, parsed."""

    image_id: str
    version: int
    options: Options
    expires: int  # 0: never


def message(image_id: str, version: int, options: Options, key_id: str, expires: int) -> bytes:
    return f"imgstore-rendition-1\n{image_id}\n{version}\n{options.canonical()}\n{key_id}\n{expires}".encode()


def _mac(secret: str, payload: bytes) -> str:
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(keyring: Keyring, image_id: str, version: int, options: Options, expires: int = 0) -> str:
    """The path of a rendition, signed with the current key."""
    kid = keyring.current
    mac = _mac(keyring.keys[kid], message(image_id, version, options, kid, expires))
    return f"{PREFIX}{image_id}/{version}/{options.canonical()}/{kid}.{expires}.{mac}"


def verify(path: str, keyring: Keyring, now: float, max_dimension: int) -> Signed:
    """The rendition `path` names, if a key in `keyring` signed exactly it and it has not
    expired at `now`; BadSignature otherwise (never saying which part was wrong)."""
    found = _PATH.fullmatch(path)
    if not found:
        raise BadSignature("not a signed rendition path")
    try:
        options = from_canonical(found["options"], max_dimension)
    except Exception:
        raise BadSignature("not a signed rendition path") from None
    version, expires, kid = int(found["version"]), int(found["expires"]), found["key_id"]
    secret = keyring.keys.get(kid)
    expected = _mac(secret or "", message(found["image_id"], version, options, kid, expires))
    # Compared even for an unknown key id, so its answer takes as long as a wrong signature's.
    if not hmac.compare_digest(expected, found["signature"]) or secret is None:
        raise BadSignature("the rendition path's signature does not verify")
    if expires and now >= expires:
        raise BadSignature("the rendition URL has expired")
    return Signed(found["image_id"], version, options, expires)


def expiry(now: float, window: int, ttl: int) -> int:
    """When a URL handed out at `now` expires: 0 (never) when `ttl` is 0; else the end of
    the current window plus `ttl`, so every URL handed out within one window is the same
    and lives at least `ttl`."""
    if not ttl:
        return 0
    return (int(now) // window + 1) * window + ttl
