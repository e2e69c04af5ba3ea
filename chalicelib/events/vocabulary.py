"""The event types imgstore announces. Part of the domain's vocabulary, like
the image statuses: nothing here knows HTTP, AWS or Chalice."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from ..errors import Invalid


class EventType(StrEnum):
    """What happened. The value is the Standard Webhooks `type` and the
    EventBridge `detail-type`."""

    READY = "image.ready"  # processed: variants made (also after a reprocess or an overwrite)
    REJECTED = "image.rejected"  # judged bad by its bytes, or failing the same way to the last attempt
    FAILED = "image.failed"  # an unexpected failure; it will be retried
    UPDATED = "image.updated"  # a PATCH changed its title, description or tags
    DELETED = "image.deleted"  # deleted (by its owner, from the bucket, or expired)
    TEST = "webhook.test"  # POST /webhooks/{id}/test; never on the bus


ALL_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
# What a webhook hears when it names no events: every type (webhook.test is sent to one webhook only, on request).
IMAGE_TYPES: tuple[str, ...] = tuple(t.value for t in EventType if t is not EventType.TEST)


def subscription(events: object, known: Sequence[str] = IMAGE_TYPES) -> list[str]:
    """A webhook's `events` as sent: a non-empty list of known types, deduplicated in order;
    Invalid naming the first unknown one."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise Invalid(f"events must be a non-empty list of event types: {', '.join(known)}")
    unknown = [e for e in events if e not in known]
    if unknown:
        raise Invalid(f"unknown event type {unknown[0]!r}; the types are: {', '.join(known)}")
    return list(dict.fromkeys(events))
