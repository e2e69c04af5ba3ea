"""The S3 event use-cases: turn any object under uploads/ into a ready or
rejected image, and make records follow objects that disappear.

Every step reconciles with what S3 holds *now*, so duplicate and out-of-order
events converge on one record and the same variants. A bad image (a verdict
on its bytes: imaging.Rejected) ends `rejected`, and its original is moved
into quarantine/, never deleted. Anything else (a bug, a codec missing, a
transient AWS error) marks the image `failed` and raises, so Lambda retries;
after the retries the event goes to the function's dead-letter destination.
`failed` is never the last word, though: the record counts the attempts in a
row that failed the same way on the same original, and the last one
(`PROCESSING_ATTEMPTS`, Lambda's first try and its two retries) makes it a
rejection, quarantined with the reason. Transient AWS errors are not counted.
An operator can bring a quarantined original back (`restore`).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from ..adapters import aws, observability
from ..adapters.blobs import ObjectInfo
from ..adapters.presigning import cache_control
from ..domain import keys
from ..domain.errors import Conflict
from ..domain.records import ImageRecord, Variant
from ..domain.states import Outcome, Status
from ..domain.upload_limits import upload_size_problem
from .lifecycle import Unsaved, UseCases, expires_at, mark_stale, modify, purge, set_fields

log = logging.getLogger(__name__)


class S3EventService(UseCases):
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
            expires_at=expires_at(Status.PENDING, self.settings),
        )
        try:
            return self.store.create(record)
        except Conflict:  # the same event, delivered twice at once
            return self.store.get(record.image_id) or record

    # -- ObjectCreated -------------------------------------------------------

    def ingest(self, bucket: str, key: str) -> Outcome:
        """Process the object now at `key`. Returns what happened, for the log."""
        if bucket != self.settings.bucket or not key.startswith(keys.UPLOADS):
            return Outcome.IGNORED
        obj = self.blobs.head(key)
        if obj is None:
            return Outcome.GONE  # deleted since; its ObjectRemoved event tidies up
        record = self._locate(bucket, key)
        if record is not None and record.deleting:
            return Outcome.DELETING
        if record is not None and record.etag == obj.etag and self._up_to_date(record):
            if record.status == Status.REJECTED:
                self._finish_rejection(record, obj)  # a retry, or a duplicate event
            return Outcome.UNCHANGED
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
            return Outcome.GONE  # replaced meanwhile; the newer object has its own event

        from .. import imaging

        try:
            result = imaging.process(data, self.settings)
            saved = self._store_result(record, result, data, obj)
        except imaging.Rejected as exc:
            return self._reject(record, obj, str(exc))
        except Exception as exc:  # a bug, a missing codec, transient AWS trouble: Lambda retries
            counted = self._mark_failed(record.image_id, exc, obj)
            if counted is not None and counted.failures >= self.settings.processing_attempts:
                return self._reject(counted, obj, _gave_up(exc, counted.failures))
            raise
        return Outcome.READY if isinstance(saved, ImageRecord) else Outcome.DELETING

    def _store_result(self, record: ImageRecord, result, data: bytes, obj: ObjectInfo) -> ImageRecord | Unsaved:
        """Write the variants, then the ready record; remove variants it no longer names,
        and a quarantined copy of an earlier (or this very) original."""
        variants = {}
        caching = cache_control(self.settings.url_window, self.settings.view_url_ttl)
        for rendered in result.variants:
            key_out = keys.variant_key(record.image_id, rendered.name, rendered.ext)
            self.blobs.put(key_out, rendered.data, rendered.content_type, cache_control=caching)
            variants[rendered.name] = Variant(
                key_out, rendered.width, rendered.height, len(rendered.data), rendered.content_type
            )
        facts: dict[str, Any] = dict(
            status=Status.READY,
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
            failure=None,
            failures=0,
            expires_at=None,
            quarantine_key=None,
        )
        if record.quarantine_key:
            # The original is in uploads/ now, judged good; the record stops naming the copy next.
            self.blobs.delete_many([record.quarantine_key])
        saved = set_fields(self.store, record.image_id, facts)
        if not isinstance(
            saved, ImageRecord
        ):  # deleted meanwhile: its purge may have listed processed/ before these landed
            self.blobs.delete_many([v.key for v in variants.values()])
        else:
            # Whatever no preset makes any more: renamed or dropped presets, changed formats.
            earlier = {v.key for v in record.variants.values()}
            earlier |= set(self.blobs.list_keys(keys.variant_prefix(record.image_id)))
            self.blobs.delete_many(earlier - {v.key for v in variants.values()})
            observability.stored(len(data) + sum(v.size_bytes for v in variants.values()))
        return saved

    def _up_to_date(self, record: ImageRecord) -> bool:
        """Nothing to do for this object: it was rejected, or its variants match the presets."""
        if record.status == Status.REJECTED:
            return True
        return record.status == Status.READY and record.presets_fingerprint == self.settings.presets_fingerprint

    def reprocess(self, image_id: str) -> Outcome:
        """Render one image's variants again, here and now (the operator's script uses this)."""
        record = mark_stale(self.store, image_id)
        if not isinstance(record, ImageRecord):
            return Outcome.UNKNOWN
        return self.ingest(self.settings.bucket, record.original_key)

    def _reject(self, record: ImageRecord, obj: ObjectInfo, reason: str) -> Outcome:
        """Record why and where the original goes, then move it into quarantine and
        delete the variants of an earlier version.

        The record and the quarantined copy stay for QUARANTINE_DAYS, so the
        uploader can see the reason and an operator can bring the file back.
        """
        target = keys.quarantine_key(record.original_key)
        facts = dict(
            status=Status.REJECTED,
            status_reason=reason,
            variants={},
            etag=obj.etag,
            size_bytes=obj.size,
            quarantine_key=target,
            expires_at=expires_at(Status.REJECTED, self.settings),
            failure=None,
            failures=0,
        )
        saved = set_fields(self.store, record.image_id, facts)
        if not isinstance(saved, ImageRecord):
            return Outcome.DELETING  # the user's delete removes the original
        self._quarantine(record.original_key, target, obj)
        self.blobs.delete_many([v.key for v in record.variants.values()])
        log.info("rejected %s: %s", record.image_id, reason)
        return Outcome.REJECTED

    def _finish_rejection(self, record: ImageRecord, obj: ObjectInfo) -> None:
        """The object is the rejected version and still under uploads/: the move was interrupted."""
        target = record.quarantine_key
        if target is None:  # rejected before quarantine existed
            target = keys.quarantine_key(record.original_key)
            if not isinstance(set_fields(self.store, record.image_id, {"quarantine_key": target}), ImageRecord):
                return
        self._quarantine(record.original_key, target, obj)

    def _quarantine(self, original: str, target: str, obj: ObjectInfo) -> None:
        """Copy the judged version of the original into quarantine, then delete it from
        uploads/. Each step repeats safely, so a retry after either failed finishes the
        move; a newer version at the key is never touched (it has its own event)."""
        if self.blobs.copy(original, target, etag=obj.etag, size=obj.size):
            self.blobs.delete_if(original, obj.etag)

    def restore(self, image_id: str) -> Outcome:
        """Put a quarantined original back at its key for another try (after a decoder
        upgrade, say). The copy's ObjectCreated event has the handler judge it again;
        the quarantined copy goes once the image is ready, and stays if it is rejected
        again. Repeating it is safe. Returns what happened, for the operator."""
        record = self.store.get(image_id)
        if record is None or record.deleting:
            return Outcome.UNKNOWN
        if not record.quarantine_key:
            return Outcome.NOT_QUARANTINED
        kept = self.blobs.head(record.quarantine_key)
        if kept is None:
            return Outcome.EXPIRED  # the lifecycle rule removed it: nothing to bring back
        if self.blobs.head(record.original_key) is not None:
            return Outcome.IN_UPLOADS  # never overwrite what is there (a newer upload, or a restore under way)
        # Not rejected any more, so the copy's event is processed rather than
        # taken for the rejected version; no expiry while it is on its way.
        marked = set_fields(
            self.store,
            image_id,
            {"status": Status.PENDING, "status_reason": "restored from quarantine", "etag": None, "expires_at": None},
            current=record,
        )
        if not isinstance(marked, ImageRecord):
            return Outcome.UNKNOWN
        if not self.blobs.copy(record.quarantine_key, record.original_key, size=kept.size):
            # Removed between the check and the copy: as it was, rejected.
            set_fields(
                self.store, image_id, {f: getattr(record, f) for f in ("status", "status_reason", "etag", "expires_at")}
            )
            return Outcome.EXPIRED
        return Outcome.RESTORED

    def _mark_failed(self, image_id: str, exc: Exception, obj: ObjectInfo) -> ImageRecord | None:
        """Mark the image failed, counting the attempts in a row that met this same
        failure on this same original; the record as saved, or None when it could not
        be (or the failure is transient AWS trouble, which is never a verdict)."""
        transient = aws.transient(exc)
        seen = None if transient else f"{obj.etag} {_failure(exc)}"
        reason = f"processing failed ({type(exc).__name__}); it will be retried"

        def count(record: ImageRecord) -> ImageRecord | Unsaved:
            if record.deleting:
                return Unsaved.DELETING
            failures = 0 if seen is None else (record.failures + 1 if record.failure == seen else 1)
            return record.touch(status=Status.FAILED, status_reason=reason, failure=seen, failures=failures)

        try:
            saved = modify(self.store, image_id, count)
        except Exception:  # the original error matters more
            log.exception("could not mark %s failed", image_id)
            return None
        return saved if isinstance(saved, ImageRecord) and not transient else None

    # -- ObjectRemoved -------------------------------------------------------

    def forget(self, bucket: str, key: str) -> Outcome:
        """The object at `key` was deleted: remove its record and variants."""
        if bucket != self.settings.bucket or not key.startswith(keys.UPLOADS):
            return Outcome.IGNORED
        if self.blobs.head(key) is not None:
            return Outcome.EXISTS  # uploaded again since this event was sent
        record = self._locate(bucket, key)
        if record is None:
            return Outcome.UNKNOWN
        if record.status == Status.REJECTED and not record.deleting:
            return Outcome.KEPT  # we deleted it ourselves; the record says why
        purge(record, self.store, self.blobs, with_original=False)
        return Outcome.FORGOTTEN


def _failure(exc: Exception) -> str:
    """What tells one failure from another: its type and message (bounded)."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _gave_up(exc: Exception, attempts: int) -> str:
    return (
        f"processing failed the same way on all {attempts} attempts ({_failure(exc)}): "
        "the file cannot be read; its original is kept in quarantine"
    )
