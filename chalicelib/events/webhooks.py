"""A webhook: who owns it, where it points, what it hears, and its secrets.

A user's webhook hears only events of that user's images; only an admin may
make one that hears every image's (`all_images`). Its `whsec_` secrets are
kept encrypted (see `hook_store`); `to_api` never shows them, and the API
hands a secret out only once, when it is made (creation or rotation).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from ..domain.records import now_iso
from .signing import Secret
from .vocabulary import IMAGE_TYPES

_ID = re.compile(r"^wh_[0-9a-f]{24}$")
MAX_WEBHOOKS_PER_OWNER = 100


def new_webhook_id() -> str:
    return "wh_" + uuid.uuid4().hex[:24]


def is_webhook_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


@dataclass(frozen=True)
class Delivery:
    """One attempt, as the webhook's delivery log shows it."""

    event_id: str
    type: str
    attempt: int
    at: str  # ISO 8601, when the attempt ended
    outcome: str  # delivered | retrying | dead-lettered | disabled | skipped
    status: int | None = None
    error: str | None = None
    duration_ms: int | None = None
    next_attempt_at: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "attempt": self.attempt,
            "at": self.at,
            "outcome": self.outcome,
            "status_code": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "next_attempt_at": self.next_attempt_at,
        }


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    owner: str
    url: str
    events: tuple[str, ...] = IMAGE_TYPES
    enabled: bool = True
    all_images: bool = False  # an admin's: hears every image's events
    disabled_reason: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = ""
    secrets: tuple[Secret, ...] = ()  # newest first; plaintext only in memory
    version: int = 0

    def __post_init__(self) -> None:
        if not self.updated_at:
            object.__setattr__(self, "updated_at", self.created_at)

    def hears(self, event_type: str, owner: str | None) -> bool:
        """Whether an event of this type about an image of `owner` goes to this webhook."""
        return self.enabled and event_type in self.events and (self.all_images or owner == self.owner)

    def touch(self, **changes: Any) -> Webhook:
        return replace(self, **changes, updated_at=now_iso())

    def to_api(self) -> dict[str, Any]:
        """The webhook as the API shows it: never a secret."""
        return {
            "webhook_id": self.webhook_id,
            "owner": self.owner,
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "all_images": self.all_images,
            "disabled_reason": self.disabled_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
