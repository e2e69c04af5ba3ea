"""The S3 key layout and the names that go into it.

uploads/{owner}/{image_id}/{filename}   originals from the API or presigned URLs
uploads/{owner}/{anything}              originals dropped straight into the bucket
processed/{image_id}/{variant}.{ext}    variants (outside the subscribed prefix,
                                        so writing one never triggers processing)
processed/{image_id}/r/{version}/{options}/{client}
                                        renditions, stored on their first request
quarantine/{original key}               rejected originals: private, never served,
                                        expired by the bucket's lifecycle rule
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass

from .text import FORMAT_CHARACTERS

UPLOADS = "uploads/"
PROCESSED = "processed/"
QUARANTINE = "quarantine/"

# As the contract (openapi.json) states them, and matched the way JSON Schema
# matches a `pattern` (a search); `(?!\n)` stops `$` matching before a final newline.
IMAGE_ID_PATTERN = r"^[0-9a-f]{32}$(?!\n)"
OWNER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,127}$(?!\n)"
OWNER_RULE = "1-128 characters: letters, digits and . _ @ + = -"  # OWNER_PATTERN in words
_IMAGE_ID = re.compile(IMAGE_ID_PATTERN)
_OWNER = re.compile(OWNER_PATTERN)
# Control and format characters: invisible in a name, and RIGHT-TO-LEFT
# OVERRIDE makes "photo\u202egnp.exe" show as "photoexe.png" (OWASP's upload guidance).
_INVISIBLE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{FORMAT_CHARACTERS}]")
MAX_FILENAME_BYTES = 255


def new_image_id() -> str:
    return uuid.uuid4().hex


def image_id_for_object(bucket: str, key: str) -> str:
    """The id of an image dropped straight into the bucket: the same key, the same id."""
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32]


def is_image_id(value: str) -> bool:
    return bool(_IMAGE_ID.search(value or ""))


def is_owner(value: str) -> bool:
    return bool(_OWNER.search(value or ""))


def sanitize_filename(name: str, default: str = "image") -> str:
    """A filename safe to put in a key and a Content-Disposition header.

    Keeps Unicode (NFC-normalised), drops any directory part, control and
    format characters (bidi overrides, zero-width ones) and leading dots, and
    caps the UTF-8 length, keeping the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _INVISIBLE.sub("", name).strip().lstrip(".").strip()
    if not name:
        return default
    if len(name.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = f".{ext}" if dot and 0 < len(ext) <= 10 else ""
        stem = stem if ext else name
        budget = MAX_FILENAME_BYTES - len(ext.encode())
        stem = stem.encode()[:budget].decode("utf-8", "ignore")
        name = stem + ext
    return name


def original_key(owner: str, image_id: str, filename: str) -> str:
    return f"{UPLOADS}{owner}/{image_id}/{filename}"


def variant_key(image_id: str, variant: str, ext: str) -> str:
    return f"{PROCESSED}{image_id}/{variant}.{ext}"


def rendition_key(image_id: str, version: int, options: str, client: str) -> str:
    """A rendition, stored on its first request: under the image's prefix, so deleting the
    image deletes it. `client` is the Accept outcome for `auto`, `any` otherwise."""
    return f"{PROCESSED}{image_id}/r/{version}/{options}/{client}"


def variant_prefix(image_id: str) -> str:
    return f"{PROCESSED}{image_id}/"


def quarantine_key(original: str) -> str:
    """Where a rejected original is kept: its own key under quarantine/ (outside the subscription)."""
    return f"{QUARANTINE}{original}"


@dataclass(frozen=True)
class UploadKey:
    """What a key under uploads/ says about itself."""

    owner: str | None  # None when the key has no owner folder or an invalid one
    image_id: str | None  # set when the key has the API's {owner}/{image_id}/{file} shape
    filename: str


def parse_upload_key(key: str) -> UploadKey | None:
    """Split an exact (already URL-decoded) key; None when it is not under uploads/."""
    if not key.startswith(UPLOADS):
        return None
    parts = key[len(UPLOADS) :].split("/")
    filename = sanitize_filename(parts[-1])
    if len(parts) < 2 or not is_owner(parts[0]):
        return UploadKey(owner=None, image_id=None, filename=filename)
    image_id = parts[1] if len(parts) == 3 and is_image_id(parts[1]) else None
    return UploadKey(owner=parts[0], image_id=image_id, filename=filename)
