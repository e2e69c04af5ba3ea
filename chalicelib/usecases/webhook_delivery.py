"""The sender's use-case: one queued delivery, attempted when due.

For a message from the delivery queue (`queue.Message`):

- not yet due: queued again for what is left of the wait (SQS delays at
  most 15 minutes; see `schedule`), nothing sent;
- its webhook deleted: dropped; disabled: dropped, and the log says so;
- the URL is checked again (`destinations.check`: the address may have
  changed since registration) and the body is POSTed to the checked address,
  signed with every live secret (`signing`);
- a 2xx: delivered. A 410: the webhook is disabled. Anything else, or a URL
  now refused: the next attempt is queued on the schedule, or after the
  last one the message goes to the dead-letter queue.

Every attempt is written to the webhook's delivery log. An AWS error raises,
so SQS hands the message over again (the same webhook-id may then arrive
twice; receivers deduplicate by it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..adapters.delivery_queue import DeliveryQueue, Message
from ..adapters.webhook_store import WebhookStore
from ..domain.errors import Invalid
from ..events import destinations, schedule, sender, signing
from ..events.changes import iso
from ..events.webhooks import Delivery, Webhook

log = logging.getLogger(__name__)


class Sender:
    def __init__(
        self,
        hooks: WebhookStore,
        queue: DeliveryQueue,
        *,
        retry_schedule: Sequence[int] = schedule.STANDARD,
        allow_loopback: bool = False,
        resolve: destinations.Resolver | None = None,  # None: the system's, looked up when used
        post: Callable[..., sender.Attempt] = sender.post,
        clock: Callable[[], float] = time.time,
    ):
        self.hooks = hooks
        self.queue = queue
        self.retry_schedule = tuple(retry_schedule)
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.post = post
        self.clock = clock

    def handle(self, raw: str) -> str:
        """Attempt one delivery if it is due. Returns what happened, for the log."""
        message = Message.decode(raw)
        now = self.clock()
        if not schedule.is_due(message.due_at, now):
            self.queue.send(message, schedule.queue_delay(message.due_at, now))
            return "waiting"
        hook = self.hooks.get(message.webhook_id, with_secrets=True)
        if hook is None:
            return "webhook deleted"
        if not hook.enabled:
            self._log(hook, message, "skipped", error=f"webhook disabled ({hook.disabled_reason or 'by its owner'})")
            return "skipped"
        attempt = self._attempt(hook, message)
        if attempt.succeeded:
            self._log(hook, message, "delivered", attempt)
            return "delivered"
        if attempt.gone:
            self._disable(hook)
            self._log(hook, message, "disabled", attempt)
            return "disabled"
        due = schedule.next_due(self.retry_schedule, message.attempt, self.clock())
        reason = attempt.error or f"HTTP {attempt.status}"
        if due is None:
            self.queue.dead_letter(replace(message, last_error=reason))
            self._log(hook, message, "dead-lettered", attempt)
            return "dead-lettered"
        follow = replace(message, attempt=message.attempt + 1, due_at=due, last_error=reason)
        self.queue.send(follow, schedule.queue_delay(due, self.clock()))
        self._log(hook, message, "retrying", attempt, next_attempt_at=iso(due))
        return "retrying"

    def _attempt(self, hook: Webhook, message: Message) -> sender.Attempt:
        try:
            resolve = self.resolve or destinations.system_resolver
            target = destinations.check(hook.url, allow_loopback=self.allow_loopback, resolve=resolve)
        except Invalid as refused:
            return sender.Attempt(None, f"refused: {refused}", 0)
        now = self.clock()
        headers = signing.headers(hook.secrets, message.event_id, int(now), message.body, now)
        return self.post(target, headers, message.body)

    def _disable(self, hook: Webhook) -> None:
        current = self.hooks.get(hook.webhook_id)
        if current is not None and current.enabled:
            reason = "the receiver answered 410 Gone"
            self.hooks.save(current.touch(enabled=False, disabled_reason=reason), current)

    def _log(
        self,
        hook: Webhook,
        message: Message,
        outcome: str,
        attempt: sender.Attempt | None = None,
        *,
        error: str | None = None,
        next_attempt_at: str | None = None,
    ) -> None:
        entry = Delivery(
            event_id=message.event_id,
            type=message.type,
            attempt=message.attempt,
            at=iso(self.clock()),
            outcome=outcome,
            status=attempt.status if attempt else None,
            error=attempt.error if attempt else error,
            duration_ms=attempt.duration_ms if attempt else None,
            next_attempt_at=next_attempt_at,
        )
        self.hooks.log(hook.webhook_id, entry)
        log.info(
            "webhook %s event %s attempt %d: %s",
            hook.webhook_id,
            message.event_id,
            message.attempt,
            outcome,
            extra={"status": entry.status, "error": entry.error},
        )
