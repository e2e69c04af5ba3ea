"""The named states of the domain: an image's status, what a use-case did with an
S3 event or an operator's request, and the events announced for a change. One
vocabulary, shared by the use-cases, telemetry and events; StrEnums, so they are
stored, logged and compared as their plain text."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an image is in its life."""

    PENDING = "pending"  # its original has not been judged yet
    READY = "ready"  # judged good; its variants exist
    REJECTED = "rejected"  # judged bad: its original is in quarantine, with the reason
    FAILED = "failed"  # processing raised; Lambda retries it


class Outcome(StrEnum):
    """What a use-case of the S3 side did, for the log line and the metrics."""

    # ingest (ObjectCreated)
    IGNORED = "ignored"  # not ours: another bucket, or outside uploads/
    GONE = "gone"  # the object was deleted or replaced since the event
    DELETING = "deleting"  # the record is being deleted; nothing revives it
    UNCHANGED = "unchanged"  # the object's variants are already up to date
    READY = "ready"
    REJECTED = "rejected"
    # forget (ObjectRemoved)
    EXISTS = "exists"  # uploaded again since the event was sent
    UNKNOWN = "unknown"  # no record for the object (or the id)
    KEPT = "kept"  # a rejected original we moved ourselves: its record says why
    FORGOTTEN = "forgotten"
    # restore (an operator's request)
    NOT_QUARANTINED = "not quarantined"
    EXPIRED = "expired"  # the quarantined copy is gone: nothing to bring back
    IN_UPLOADS = "in uploads"  # something is at the original's key: never overwritten
    RESTORED = "restored"


class EventType(StrEnum):
    """What an app is told (Standard Webhooks' `type`, EventBridge's detail-type)."""

    IMAGE_READY = "image.ready"
    IMAGE_REJECTED = "image.rejected"
    IMAGE_FAILED = "image.failed"
    IMAGE_UPDATED = "image.updated"
    IMAGE_DELETED = "image.deleted"
    WEBHOOK_TEST = "webhook.test"
