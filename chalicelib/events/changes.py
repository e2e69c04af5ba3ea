"""From a committed change to an image record to the event that announces it.

The table is the outbox: the stream consumer hands every DynamoDB stream
record here, and `event_for` answers the one event it means, or None. Only the
record item (`pk=IMG#{id}`, `sk=IMAGE`) speaks; tag items, webhook items and
anything else are ignored, on purpose, so one change is one event.

What each change means (old image -> new image):

    not ready -> ready, or ready with other variants/original   image.ready
    -> rejected                                                  image.rejected
    -> failed                                                    image.failed
    title, description or tags changed, status unchanged         image.updated
    -> marked deleting (the delete has begun; the API hides it)  image.deleted
    removed without having been marked (DynamoDB's TTL)          image.deleted
    anything else (pending, stale marks, quarantine bookkeeping)  nothing

The event id is derived from the change alone (image id, record version and
the record's creation time, which tells apart two lifetimes of one derived
id), so every retry of the consumer sends the same id, and receivers can
deduplicate. The payload is the record's public form without URLs, at most
`MAX_BODY_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from ..domain.records import ImageRecord
from .vocabulary import EventType

MAX_BODY_BYTES = 20 * 1024  # the Standard Webhooks guidance: keep payloads thin
RECORD_SK = "IMAGE"
RECORD_PK_PREFIX = "IMG#"
# The public fields a webhook or a rule sees; URLs never (they expire, and say where the bytes are).
DATA_FIELDS = (
    "image_id",
    "owner",
    "status",
    "status_reason",
    "version",
    "filename",
    "title",
    "description",
    "tags",
    "source",
    "format",
    "content_type",
    "width",
    "height",
    "size_bytes",
    "created_at",
    "updated_at",
)
# Dropped, in this order, from a payload that would be over MAX_BODY_BYTES (receivers GET the record).
_DROPPABLE = ("description", "title")
_EDITABLE = ("title", "description", "tags")
_de = TypeDeserializer()


@dataclass(frozen=True)
class Event:
    """One announcement. `body()` is what is signed and sent, byte for byte the same on every retry."""

    id: str
    type: EventType
    timestamp: str  # ISO 8601, when the change was made
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def image_id(self) -> str | None:
        return self.data.get("image_id")

    @property
    def owner(self) -> str | None:
        return self.data.get("owner")

    @property
    def version(self) -> int | None:
        return self.data.get("version")

    def payload(self) -> dict[str, Any]:
        return {"type": self.type.value, "timestamp": self.timestamp, "data": self.data}

    def body(self) -> str:
        return encode(self.payload())


def encode(payload: dict[str, Any]) -> str:
    """Compact JSON, keys in a fixed order, UTF-8 as is (smaller than \\u escapes)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def event_id(image_id: str, version: int, created_at: str) -> str:
    """The same for every delivery of one change. A record made again under the
    same id (an object dropped again at one key) starts at version 1 again, so
    its creation time takes part."""
    lifetime = hashlib.sha256(created_at.encode()).hexdigest()[:8]
    return f"evt_{image_id}_{lifetime}_{version}"


def public_data(record: ImageRecord, version: int) -> dict[str, Any]:
    """The record as the API shows it, less URLs and internals, within MAX_BODY_BYTES."""
    shown = record.to_api()
    data = {name: shown.get(name) for name in DATA_FIELDS if name != "version"}
    data["version"] = version
    for name in _DROPPABLE:
        if len(encode({"data": data}).encode()) <= MAX_BODY_BYTES - 256:  # room for type and timestamp
            break
        data.pop(name, None)
        data["truncated"] = True
    return {name: data[name] for name in (*DATA_FIELDS, "truncated") if name in data}


def _record(image: dict[str, Any] | None) -> ImageRecord | None:
    if not image:
        return None
    item = {k: _de.deserialize(v) for k, v in image.items()}
    if item.get("sk") != RECORD_SK or not str(item.get("pk", "")).startswith(RECORD_PK_PREFIX):
        return None
    return ImageRecord.from_item(item)


def is_record_change(stream_record: dict[str, Any]) -> bool:
    """Whether the stream record is about an image record item (its keys say)."""
    keys = stream_record.get("dynamodb", {}).get("Keys", {})
    return keys.get("sk", {}).get("S") == RECORD_SK and keys.get("pk", {}).get("S", "").startswith(RECORD_PK_PREFIX)


def iso(seconds: float) -> str:
    """Unix seconds as the records write times: ISO 8601, milliseconds, Z."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _approximate_time(stream_record: dict[str, Any], fallback: str) -> str:
    seconds = stream_record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if seconds is None:
        return fallback
    # boto3's dynamodbstreams client parses it; Lambda's event carries epoch seconds.
    return iso(seconds.timestamp() if isinstance(seconds, datetime) else float(seconds))


def event_for(stream_record: dict[str, Any]) -> Event | None:
    """The event a stream record (NEW_AND_OLD_IMAGES, as Lambda delivers it) means, or None."""
    if not is_record_change(stream_record):
        return None
    images = stream_record.get("dynamodb", {})
    old, new = _record(images.get("OldImage")), _record(images.get("NewImage"))
    kind = change_type(old, new)
    if kind is None:
        return None
    if new is None:  # removed without a delete's mark: expired by TTL
        assert old is not None
        version = old.version + 1
        return Event(
            event_id(old.image_id, version, old.created_at),
            kind,
            _approximate_time(stream_record, old.updated_at),
            public_data(old, version),
        )
    when = _approximate_time(stream_record, new.updated_at) if kind is EventType.IMAGE_DELETED else new.updated_at
    return Event(event_id(new.image_id, new.version, new.created_at), kind, when, public_data(new, new.version))


def change_type(old: ImageRecord | None, new: ImageRecord | None) -> EventType | None:
    """What the change from `old` to `new` means (see the module's table)."""
    if new is None:
        return EventType.IMAGE_DELETED if old is not None and not old.deleting else None
    if new.deleting:
        return None if old is not None and old.deleting else EventType.IMAGE_DELETED
    if old is not None and old.deleting:
        return None  # cannot happen (a deleting record is never saved again); say nothing
    status_changed = old is None or old.status != new.status
    if new.status == "ready":
        if status_changed or old is None or old.etag != new.etag or old.variants != new.variants:
            return EventType.IMAGE_READY
    elif new.status in ("rejected", "failed") and status_changed:
        return EventType(f"image.{new.status}")
    if old is not None and not status_changed and any(getattr(old, f) != getattr(new, f) for f in _EDITABLE):
        return EventType.IMAGE_UPDATED
    return None
