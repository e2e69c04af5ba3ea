"""The event types imgstore announces, and a webhook's subscription to them.

The types themselves are the domain's (`domain.states.EventType`): the value
is the Standard Webhooks `type` and the EventBridge `detail-type`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..domain.errors import Invalid
from ..domain.states import EventType

__all__ = ["ALL_TYPES", "IMAGE_TYPES", "EventType", "subscription"]

ALL_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
# What a webhook hears when it names no events: every image event (webhook.test goes to one webhook, on request).
IMAGE_TYPES: tuple[str, ...] = tuple(t.value for t in EventType if t is not EventType.WEBHOOK_TEST)


def subscription(events: object, known: Sequence[str] = IMAGE_TYPES) -> list[str]:
    """A webhook's `events` as sent: a non-empty list of known types, deduplicated in order;
    Invalid naming the first unknown one."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise Invalid(f"events must be a non-empty list of event types: {', '.join(known)}")
    unknown = [e for e in events if e not in known]
    if unknown:
        raise Invalid(f"unknown event type {unknown[0]!r}; the types are: {', '.join(known)}")
    return list(dict.fromkeys(events))
