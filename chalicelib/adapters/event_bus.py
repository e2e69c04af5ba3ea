"""EventBridge adapter: events onto the stage's bus, `imgstore-{stage}`.

Each event is one entry: source `imgstore`, detail-type its type, detail the
Standard Webhooks payload plus its `id` (EventBridge gives every entry an id
of its own, new on every put; ours is the one to deduplicate by).

`PutEvents` takes at most 10 entries and 256 KB. A call is made of events of
different images only, so a partial failure can never let an image's later
version through before an earlier one; entries that failed are sent again,
and only they, a few times with a growing pause. What still fails is
answered to the caller, which stops there (the stream hands it over again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..events.changes import Event
from . import aws

SOURCE = "imgstore"
MAX_ENTRIES = 10  # PutEvents' limit
MAX_CALL_BYTES = 256 * 1024
RESENDS = 3  # after the first put: 0.1 s, 0.2 s, 0.4 s


def bus_name(stage: str) -> str:
    return f"imgstore-{stage}"


def entry(event: Event, bus: str) -> dict[str, str]:
    detail = {"id": event.id, **event.payload()}
    return {"Source": SOURCE, "DetailType": event.type.value, "Detail": json.dumps(detail), "EventBusName": bus}


def _size(item: dict[str, str]) -> int:
    """How PutEvents counts an entry's size (source, detail-type, detail; the time is 14 bytes)."""
    return 14 + len(item["Source"].encode()) + len(item["DetailType"].encode()) + len(item["Detail"].encode())


def calls(events: Sequence[Event], bus: str) -> list[list[Event]]:
    """The events in order, cut into PutEvents calls: at most 10 entries and 256 KB
    each, and no image twice in one call."""
    batches: list[list[Event]] = []
    current: list[Event] = []
    size = 0
    for event in events:
        grows = _size(entry(event, bus))
        if current and (
            len(current) == MAX_ENTRIES
            or size + grows > MAX_CALL_BYTES
            or any(e.image_id == event.image_id for e in current)
        ):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += grows
    if current:
        batches.append(current)
    return batches


@dataclass
class Published:
    """What one call came to: the events the bus took, and the first it did not (if any)."""

    sent: list[Event] = field(default_factory=list)
    failed: list[tuple[Event, str]] = field(default_factory=list)  # the event and EventBridge's error code


class EventBus:
    def __init__(self, name: str, pause: Callable[[float], None] = time.sleep):
        self.name = name
        self._pause = pause

    def put(self, batch: Sequence[Event]) -> Published:
        """Put one call's events (see `calls`), resending only the failed entries.
        A throttled or failed call as a whole raises after the SDK's retries: the
        caller treats it as every entry failing."""
        client = aws.client("events")
        result = Published()
        pending = list(batch)
        for attempt in range(RESENDS + 1):
            answer = client.put_events(Entries=[entry(e, self.name) for e in pending])
            retry: list[Event] = []
            errors: dict[str, str] = {}
            for event, outcome in zip(pending, answer["Entries"], strict=True):
                if outcome.get("ErrorCode"):
                    retry.append(event)
                    errors[event.id] = outcome["ErrorCode"]
                else:
                    result.sent.append(event)
            if not retry:
                return result
            if attempt == RESENDS:
                result.failed = [(e, errors[e.id]) for e in retry]
                return result
            pending = retry
            self._pause(0.1 * 2**attempt)
        return result
