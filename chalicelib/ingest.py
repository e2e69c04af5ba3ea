"""The S3 event use-cases: turn any object under uploads/ into a ready or
rejected image, and make records follow objects that disappear.

Every step reconciles with what S3 holds *now*, so duplicate and out-of-order
events converge on one record and the same variants. A bad image ends
`rejected` (and never raises); a bug or a transient AWS error raises, so
Lambda retries.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from . import keys, telemetry
from .blobs import ObjectInfo
from .errors import Conflict
from .lifecycle import UseCases, expires_at, mark_stale, purge, set_fields
from .limits import upload_size_problem
from .records import ImageRecord, Variant

log = logging.getLogger(__name__)


class ImageProcessor(UseCases):
    """The S3 event handlers' use-cases."""

    # -- locating ------------------------------------------------------------

    def _locate(self, bucket: str, key: str) -> ImageRecord | None:
        """The record that owns this key: the API's id in the key, or the id derived from it."""
        parsed = keys.parse_upload_key(key)
        if parsed and parsed.image_id:
            record = self.store.get(parsed.image_id)
            if record is not None and record.original_key == key:
                return record
        return self.store.get(keys.image_id_for_object(bucket, key))

    def _create_for_object(self, bucket: str, key: str, obj: ObjectInfo) -> ImageRecord:
        parsed = keys.parse_upload_key(key)
        owner = parsed.owner if parsed and parsed.owner else "unassigned"
        record = ImageRecord(
            image_id=keys.image_id_for_object(bucket, key),
            owner=owner,
            filename=parsed.filename if parsed else key,
            original_key=key,
            source="s3",
            size_bytes=obj.size,
            content_type=obj.content_type,
            expires_at=expires_at("pending", self.settings),
        )
        try:
            return self.store.create(record)
        except Conflict:  # the same event, delivered twice at once
            return self.store.get(record.image_id) or record

    # -- ObjectCreated -------------------------------------------------------

    def ingest(self, bucket: str, key: str) -> str:
        """Process the object now at `key`. Returns what happened, for the log."""
        if bucket != self.settings.bucket or not key.startswith(keys.UPLOADS):
            return "ignored"
        obj = self.blobs.head(key)
        if obj is None:
            return "gone"  # deleted since; its ObjectRemoved event tidies up
        record = self._locate(bucket, key)
        if record is not None and record.deleting:
            return "deleting"
        if record is not None and record.etag == obj.etag and self._up_to_date(record):
            if record.status == "rejected":
                self.blobs.delete_many([key])  # finish an interrupted rejection
            return "unchanged"
        if record is None:
            record = self._create_for_object(bucket, key, obj)

        parsed = keys.parse_upload_key(key)
        if not parsed or not parsed.owner:
            return self._reject(
                record,
                obj,
                "objects must be uploaded under uploads/{owner}/, where owner is 1-128 letters, digits or . _ @ + = -",
            )
        too_large = upload_size_problem(obj.size, self.settings)
        if too_large:
            return self._reject(record, obj, too_large)
        data = self.blobs.get(key, etag=obj.etag)
        if data is None:
            return "gone"  # replaced meanwhile; the newer object has its own event

        from . import imaging  # only the event handler pays for Pillow

        try:
            result = imaging.process(data, self.settings)
            saved = self._store_result(record, result, data, obj)
        except imaging.Rejected as exc:
            return self._reject(record, obj, str(exc))
        except Exception as exc:  # a bug or transient AWS trouble: Lambda retries
            self._mark_failed(record.image_id, exc)
            raise
        return "ready" if saved is not None else "deleting"

    def _store_result(self, record: ImageRecord, result, data: bytes, obj: ObjectInfo) -> ImageRecord | None:
        """Write the variants, then the ready record; remove variants it no longer names."""
        variants = {}
        for rendered in result.variants:
            key_out = keys.variant_key(record.image_id, rendered.name, rendered.ext)
            self.blobs.put(key_out, rendered.data, rendered.content_type)
            variants[rendered.name] = Variant(
                key_out, rendered.width, rendered.height, len(rendered.data), rendered.content_type
            )
        facts: dict[str, Any] = dict(
            status="ready",
            status_reason=None,
            format=result.format,
            content_type=result.content_type,
            width=result.width,
            height=result.height,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            variants=variants,
            details=result.details,
            etag=obj.etag,
            presets_fingerprint=self.settings.presets_fingerprint,
            expires_at=None,
        )
        saved = set_fields(self.store, record.image_id, facts)
        if saved is not None:
            # Whatever no preset makes any more: renamed or dropped presets, changed formats.
            earlier = {v.key for v in record.variants.values()}
            earlier |= set(self.blobs.list_keys(keys.variant_prefix(record.image_id)))
            self.blobs.delete_many(earlier - {v.key for v in variants.values()})
            telemetry.stored(len(data) + sum(v.size_bytes for v in variants.values()))
        return saved

    def _up_to_date(self, record: ImageRecord) -> bool:
        """Nothing to do for this object: it was rejected, or its variants match the presets."""
        if record.status == "rejected":
            return True
        return record.status == "ready" and record.presets_fingerprint == self.settings.presets_fingerprint

    def reprocess(self, image_id: str) -> str:
        """Render one image's variants again, here and now (the operator's script uses this)."""
        record = mark_stale(self.store, image_id)
        if record is None:
            return "unknown"
        return self.ingest(self.settings.bucket, record.original_key)

    def _reject(self, record: ImageRecord, obj: ObjectInfo, reason: str) -> str:
        """Record why, then delete the object and any variants of an earlier version.

        The record stays (until its TTL) so the uploader can see the reason.
        """
        facts = dict(
            status="rejected",
            status_reason=reason,
            variants={},
            etag=obj.etag,
            size_bytes=obj.size,
            expires_at=expires_at("rejected", self.settings),
        )
        saved = set_fields(self.store, record.image_id, facts)
        self.blobs.delete_many([record.original_key] + [v.key for v in record.variants.values()])
        log.info("rejected %s: %s", record.image_id, reason)
        return "rejected" if saved is not None else "deleting"

    def _mark_failed(self, image_id: str, exc: Exception) -> None:
        reason = f"processing failed ({type(exc).__name__}); it will be retried"
        try:
            set_fields(self.store, image_id, {"status": "failed", "status_reason": reason})
        except Exception:  # the original error matters more
            log.exception("could not mark %s failed", image_id)

    # -- ObjectRemoved -------------------------------------------------------

    def forget(self, bucket: str, key: str) -> str:
        """The object at `key` was deleted: remove its record and variants."""
        if bucket != self.settings.bucket or not key.startswith(keys.UPLOADS):
            return "ignored"
        if self.blobs.head(key) is not None:
            return "exists"  # uploaded again since this event was sent
        record = self._locate(bucket, key)
        if record is None:
            return "unknown"
        if record.status == "rejected" and not record.deleting:
            return "kept"  # we deleted it ourselves; the record says why
        purge(record, self.store, self.blobs, with_original=False)
        return "forgotten"
