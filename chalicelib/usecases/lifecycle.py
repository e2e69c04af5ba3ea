"""The record's lifecycle, shared by the API's use-cases (`service`) and the S3
handlers' use-cases (`ingest`): optimistic changes, field updates that never
revive an image being deleted, purging, and expiry.

Neither side imports the other; both build on this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import config
from ..adapters.blobs import BlobStore
from ..adapters.store import ImageStore
from ..config import Settings
from ..domain import keys
from ..domain.errors import Conflict
from ..domain.records import ImageRecord

DAY = 86400


def expires_at(status: str, settings: Settings) -> int | None:
    """When DynamoDB's TTL may drop a record: abandoned uploads and rejections only."""
    days = {"pending": settings.pending_ttl_days, "rejected": settings.quarantine_days}.get(status)
    return int(time.time()) + days * DAY if days else None


def modify(
    store: ImageStore,
    image_id: str,
    change: Callable[[ImageRecord], ImageRecord | None],
    *,
    current: ImageRecord | None = None,
    attempts: int = 5,
) -> ImageRecord | None:
    """Change, save; on a concurrent save, read again and re-apply.

    Starts from `current` when the caller has just read it, else reads.
    `change` returns the new record, or None to leave it alone. Returns the
    saved record, or None when there is none (or `change` declined).
    """
    for attempt in range(attempts):
        current = current if current is not None else store.get(image_id)
        if current is None:
            return None
        updated = change(current)
        if updated is None:
            return None
        try:
            return store.save(updated, current)
        except Conflict:
            if attempt == attempts - 1:
                raise
            current = None
            time.sleep(0.02 * (attempt + 1))
    return None


def set_fields(
    store: ImageStore, image_id: str, fields: dict[str, Any], *, current: ImageRecord | None = None
) -> ImageRecord | None:
    """Set `fields` (and updated_at) on the record, unless it is being deleted:
    saving would bring it back into the lists. None when nothing was saved."""
    return modify(store, image_id, lambda r: None if r.deleting else r.touch(**fields), current=current)


def mark_stale(store: ImageStore, image_id: str, *, current: ImageRecord | None = None) -> ImageRecord | None:
    """Forget which presets made the variants, so the next ingest renders them again."""
    return set_fields(store, image_id, {"presets_fingerprint": None}, current=current)


def purge(record: ImageRecord, store: ImageStore, blobs: BlobStore, *, with_original: bool) -> None:
    """Remove an image's objects, then its record. Every step can be repeated,
    so a retry after any failure finishes the job. Never refused by a
    concurrent save: see ImageStore.mark_deleting."""
    marked = store.mark_deleting(record)
    if marked is None:
        return  # gone meanwhile: whoever removed the record removed the objects first
    record = marked
    doomed = [v.key for v in record.variants.values()]
    doomed += blobs.list_keys(keys.variant_prefix(record.image_id))  # variants of older versions
    if with_original:
        doomed.append(record.original_key)
    if record.quarantine_key:  # a rejected original goes with its record
        doomed.append(record.quarantine_key)
    blobs.delete_many(doomed)
    store.delete(record)


@dataclass
class UseCases:
    """What every use-case works with; tests pass their own."""

    settings: Settings
    store: ImageStore
    blobs: BlobStore

    @classmethod
    def from_environment(cls):
        settings = config.load()
        return cls(settings, ImageStore(settings.table), BlobStore(settings.bucket))
