"""The record's lifecycle, shared by the API's use-cases (`api`) and the S3
events' use-cases (`s3_events`): optimistic changes, field updates that never
revive an image being deleted, purging, and expiry.

Neither side imports the other; both build on this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..config import Settings
from ..domain import keys
from ..domain.errors import Conflict
from ..domain.records import ImageRecord
from ..domain.states import Status
from .ports import BlobStorage, RecordStore

DAY = 86400


class Unsaved(StrEnum):
    """Why a change was not saved: the distinct answers `modify` gives instead of a record."""

    MISSING = "missing"  # there is no record
    DELETING = "deleting"  # the record is being deleted; saving would bring it back into the lists
    DECLINED = "declined"  # the change itself said no


def expires_at(status: Status, settings: Settings) -> int | None:
    """When DynamoDB's TTL may drop a record: abandoned uploads and rejections only."""
    days = {Status.PENDING: settings.pending_ttl_days, Status.REJECTED: settings.quarantine_days}.get(status)
    return int(time.time()) + days * DAY if days else None


def modify(
    store: RecordStore,
    image_id: str,
    change: Callable[[ImageRecord], ImageRecord | Unsaved],
    *,
    current: ImageRecord | None = None,
    attempts: int = 5,
) -> ImageRecord | Unsaved:
    """Change, save; on a concurrent save, read again and re-apply.

    Starts from `current` when the caller has just read it, else reads.
    `change` returns the new record, or an `Unsaved` reason to leave it alone.
    Returns the saved record, or why nothing was saved.
    """
    for attempt in range(attempts):
        current = current if current is not None else store.get(image_id)
        if current is None:
            return Unsaved.MISSING
        updated = change(current)
        if isinstance(updated, Unsaved):
            return updated
        try:
            return store.save(updated, current)
        except Conflict:
            if attempt == attempts - 1:
                raise
            current = None
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


def set_fields(
    store: RecordStore, image_id: str, fields: dict[str, Any], *, current: ImageRecord | None = None
) -> ImageRecord | Unsaved:
    """Set `fields` (and updated_at) on the record, unless it is being deleted."""
    return modify(store, image_id, lambda r: Unsaved.DELETING if r.deleting else r.touch(**fields), current=current)


def mark_stale(store: RecordStore, image_id: str, *, current: ImageRecord | None = None) -> ImageRecord | Unsaved:
    """Forget which presets made the variants, so the next ingest renders them again."""
    return set_fields(store, image_id, {"presets_fingerprint": None}, current=current)


def purge(record: ImageRecord, store: RecordStore, blobs: BlobStorage, *, with_original: bool) -> None:
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
    """What every use-case works with: the settings and the two ports.
    chalicelib.bootstrap composes them with the real adapters; tests may pass fakes."""

    settings: Settings
    store: RecordStore
    blobs: BlobStorage
