"""The stream consumer's use-case: the table is the outbox.

Every committed change to an image record reaches `Outbox.handle` through
the table's stream (NEW_AND_OLD_IMAGES), in order per item, even when the
function that made the change died right after its write. For each batch:

1. each record becomes at most one event (`changes.event_for`);
2. the events go onto the bus in order, in PutEvents calls that never hold
   one image twice (`bus.calls`), only failed entries sent again;
3. after each call, the events it published are queued for every webhook
   that hears them (the image's owner's webhooks, and admins' that hear all).

At the first event that cannot be published or queued, it stops, and
answers that record's sequence number as the batch's failure: Lambda hands
the stream over again from there, so nothing after it overtakes it, and
events already published from the rest are published again under the same
ids (delivery is at least once; receivers deduplicate by id). A crash
anywhere means the same: the whole batch again, the same ids.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..adapters.delivery_queue import DeliveryQueue, Message
from ..adapters.event_bus import EventBus, calls
from ..adapters.webhook_store import WebhookStore
from ..events.changes import Event, event_for
from ..events.webhooks import Webhook

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, bus: EventBus, hooks: WebhookStore, deliveries: DeliveryQueue):
        self.bus = bus
        self.hooks = hooks
        self.deliveries = deliveries

    def handle(self, records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
        """Publish the batch's events; the Lambda batch-item-failure answer."""
        events: list[tuple[Event, str]] = []
        for record in records:
            event = event_for(dict(record))
            if event is not None:
                events.append((event, record["dynamodb"]["SequenceNumber"]))
        sequence = {e.id: seq for e, seq in events}
        listeners: dict[str, list[Webhook]] = {}
        for batch in calls([e for e, _ in events], self.bus.name):
            try:
                published = self.bus.put(batch)
                sent = published.sent
            except Exception:  # throttled, or the service failing: all of the call failed
                log.exception("PutEvents failed for %d events", len(batch))
                return _failure(sequence[batch[0].id])
            try:
                self._queue_webhooks(sent, listeners)
            except Exception:
                log.exception("could not queue webhook deliveries")
                return _failure(sequence[batch[0].id])
            if published.failed:
                event, code = published.failed[0]
                log.error("PutEvents kept refusing %s (%s)", event.id, code)
                first = min(published.failed, key=lambda f: batch.index(f[0]))[0]
                return _failure(sequence[first.id])
        return {"batchItemFailures": []}

    def _queue_webhooks(self, events: Sequence[Event], listeners: dict[str, list[Webhook]]) -> None:
        messages = []
        for event in events:
            owner = event.owner or ""
            if owner not in listeners:
                listeners[owner] = self.hooks.listeners(owner)
            for hook in listeners[owner]:
                if hook.hears(event.type, event.owner):
                    messages.append(Message(hook.webhook_id, event.id, event.type.value, event.body()))
        if messages:
            self.deliveries.send_many(messages)


def _failure(sequence_number: str) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
